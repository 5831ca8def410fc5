//===- Packing.cpp - dense packing of 4-, 6- and 8-bit codes --------------===//
//
// Whole groups (two 4-bit codes per byte, four 6-bit codes per three bytes)
// are handled with fixed shifts; a trailing partial group goes through the
// generic bit-stream helpers, which define the layout documented in
// Packing.h.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/Packing.h"

#include <cassert>
#include <cstring>

using namespace mixtile::numerics;

namespace {

/// Writes the low `width` bits of `code` at stream bit `bitOffset`; the
/// target bits must be zero.
void writeBits(uint8_t *stream, size_t bitOffset, unsigned width,
               uint32_t code) {
  for (unsigned bit = 0; bit < width; ++bit, ++bitOffset)
    stream[bitOffset / 8] |= uint8_t(((code >> bit) & 1u) << (bitOffset % 8));
}

/// Reads `width` bits starting at stream bit `bitOffset`.
uint8_t readBits(const uint8_t *stream, size_t bitOffset, unsigned width) {
  uint32_t code = 0;
  for (unsigned bit = 0; bit < width; ++bit, ++bitOffset)
    code |= uint32_t((stream[bitOffset / 8] >> (bitOffset % 8)) & 1u) << bit;
  return uint8_t(code);
}

void packNibbles(const uint8_t *codes, size_t numCodes, uint8_t *packed) {
  size_t pairs = numCodes / 2;
  for (size_t i = 0; i < pairs; ++i)
    packed[i] = uint8_t((codes[2 * i] & 0xfu) | (codes[2 * i + 1] & 0xfu) << 4);
  if (numCodes % 2)
    packed[pairs] = codes[numCodes - 1] & 0xfu;
}

void unpackNibbles(const uint8_t *packed, size_t numCodes, uint8_t *codes) {
  size_t pairs = numCodes / 2;
  for (size_t i = 0; i < pairs; ++i) {
    codes[2 * i] = packed[i] & 0xfu;
    codes[2 * i + 1] = packed[i] >> 4;
  }
  if (numCodes % 2)
    codes[numCodes - 1] = packed[pairs] & 0xfu;
}

void packSixBit(const uint8_t *codes, size_t numCodes, uint8_t *packed) {
  size_t groups = numCodes / 4;
  for (size_t g = 0; g < groups; ++g) {
    uint32_t word = uint32_t(codes[4 * g] & 0x3fu) |
                    uint32_t(codes[4 * g + 1] & 0x3fu) << 6 |
                    uint32_t(codes[4 * g + 2] & 0x3fu) << 12 |
                    uint32_t(codes[4 * g + 3] & 0x3fu) << 18;
    packed[3 * g] = uint8_t(word);
    packed[3 * g + 1] = uint8_t(word >> 8);
    packed[3 * g + 2] = uint8_t(word >> 16);
  }
  size_t tailCodes = numCodes - 4 * groups;
  if (tailCodes == 0)
    return;
  // writeBits ORs into the tail bytes, which may hold stale data.
  size_t tailBytes = getPackedSize(numCodes, 6) - 3 * groups;
  std::memset(packed + 3 * groups, 0, tailBytes);
  for (size_t i = 0; i < tailCodes; ++i)
    writeBits(packed + 3 * groups, 6 * i, 6, codes[4 * groups + i]);
}

void unpackSixBit(const uint8_t *packed, size_t numCodes, uint8_t *codes) {
  size_t groups = numCodes / 4;
  for (size_t g = 0; g < groups; ++g) {
    uint32_t word = uint32_t(packed[3 * g]) | uint32_t(packed[3 * g + 1]) << 8 |
                    uint32_t(packed[3 * g + 2]) << 16;
    codes[4 * g] = uint8_t(word & 0x3fu);
    codes[4 * g + 1] = uint8_t((word >> 6) & 0x3fu);
    codes[4 * g + 2] = uint8_t((word >> 12) & 0x3fu);
    codes[4 * g + 3] = uint8_t(word >> 18);
  }
  for (size_t i = 0; i < numCodes - 4 * groups; ++i)
    codes[4 * groups + i] = readBits(packed + 3 * groups, 6 * i, 6);
}

} // namespace

bool mixtile::numerics::isPackableWidth(unsigned bitsPerCode) {
  return bitsPerCode == 4 || bitsPerCode == 6 || bitsPerCode == 8;
}

size_t mixtile::numerics::getPackedSize(size_t numCodes, unsigned bitsPerCode) {
  assert(isPackableWidth(bitsPerCode) && "unsupported code width");
  // Computed per whole byte group so that numCodes * bitsPerCode cannot
  // overflow.
  size_t codesPerByteGroup = bitsPerCode == 6 ? 4 : 8 / bitsPerCode;
  size_t bytesPerGroup = bitsPerCode == 6 ? 3 : 1;
  size_t groups = numCodes / codesPerByteGroup;
  size_t tailBits = (numCodes % codesPerByteGroup) * bitsPerCode;
  return groups * bytesPerGroup + (tailBits + 7) / 8;
}

void mixtile::numerics::packCodes(const uint8_t *codes, size_t numCodes,
                                  unsigned bitsPerCode, uint8_t *packed) {
  switch (bitsPerCode) {
  case 4:
    return packNibbles(codes, numCodes, packed);
  case 6:
    return packSixBit(codes, numCodes, packed);
  case 8:
    if (numCodes)
      std::memcpy(packed, codes, numCodes);
    return;
  default:
    assert(false && "unsupported code width");
  }
}

void mixtile::numerics::unpackCodes(const uint8_t *packed, size_t numCodes,
                                    unsigned bitsPerCode, uint8_t *codes) {
  switch (bitsPerCode) {
  case 4:
    return unpackNibbles(packed, numCodes, codes);
  case 6:
    return unpackSixBit(packed, numCodes, codes);
  case 8:
    if (numCodes)
      std::memcpy(codes, packed, numCodes);
    return;
  default:
    assert(false && "unsupported code width");
  }
}

std::vector<uint8_t>
mixtile::numerics::packCodes(const std::vector<uint8_t> &codes,
                             unsigned bitsPerCode) {
  std::vector<uint8_t> packed(getPackedSize(codes.size(), bitsPerCode));
  packCodes(codes.data(), codes.size(), bitsPerCode, packed.data());
  return packed;
}

std::vector<uint8_t>
mixtile::numerics::unpackCodes(const std::vector<uint8_t> &packed,
                               size_t numCodes, unsigned bitsPerCode) {
  assert(packed.size() >= getPackedSize(numCodes, bitsPerCode) &&
         "packed stream too short");
  std::vector<uint8_t> codes(numCodes);
  unpackCodes(packed.data(), numCodes, bitsPerCode, codes.data());
  return codes;
}
