//===- Packing.h - dense packing of 4-, 6- and 8-bit codes ------*- C++ -*-===//
//
// Packs element codes (one code per byte, as produced by encode()) into dense
// byte streams and back.
//
// Bit order: the packed bytes are one little-endian, least-significant-bit-
// first bit stream. Code i occupies stream bits [i*b, i*b + b) with its own
// bit 0 first, where stream bit k is bit (k % 8) of byte k / 8. Hence:
// - 4-bit codes: two per byte, code 2i in the low nibble of byte i, code
//   2i+1 in the high nibble;
// - 6-bit codes: four per three bytes; for codes a, b, c, d:
//     byte0 = a | (b & 0x03) << 6
//     byte1 = b >> 2 | (c & 0x0f) << 4
//     byte2 = c >> 4 | d << 2
// - 8-bit codes: the identity.
// A stream whose bit length is not a multiple of 8 ends in a byte whose
// unused high bits are 0. Bits of a code above its width are ignored.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_NUMERICS_PACKING_H
#define MIXTILE_NUMERICS_PACKING_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mixtile::numerics {

/// True for the code widths the packer handles: 4, 6 and 8 bits.
bool isPackableWidth(unsigned bitsPerCode);

/// Number of bytes that `numCodes` codes of `bitsPerCode` bits pack into:
/// ceil(numCodes * bitsPerCode / 8).
size_t getPackedSize(size_t numCodes, unsigned bitsPerCode);

/// Packs `numCodes` codes (one per byte) into `packed`, which must hold
/// getPackedSize(numCodes, bitsPerCode) bytes.
void packCodes(const uint8_t *codes, size_t numCodes, unsigned bitsPerCode,
               uint8_t *packed);

/// Unpacks `numCodes` codes from `packed` into `codes` (one per byte).
void unpackCodes(const uint8_t *packed, size_t numCodes, unsigned bitsPerCode,
                 uint8_t *codes);

/// Convenience form of packCodes returning the packed bytes.
std::vector<uint8_t> packCodes(const std::vector<uint8_t> &codes,
                               unsigned bitsPerCode);

/// Convenience form of unpackCodes; `packed` must hold at least
/// getPackedSize(numCodes, bitsPerCode) bytes.
std::vector<uint8_t> unpackCodes(const std::vector<uint8_t> &packed,
                                 size_t numCodes, unsigned bitsPerCode);

} // namespace mixtile::numerics

#endif // MIXTILE_NUMERICS_PACKING_H
