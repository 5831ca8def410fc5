//===- FloatFormats.h - scalar low-precision float formats ------*- C++ -*-===//
//
// Encode (f32 -> code), decode (code -> f32) and round-to-nearest-even for the
// scalar formats Mixtile quantizes to: bf16, f16, the OCP FP8/FP6/FP4 formats
// and the E8M0 MX scale format. Plain C++17, no MLIR or LLVM dependency.
//
// Conventions (the same in the scalar, the array and the inline fast paths):
// - Rounding is round-to-nearest, ties to even, computed exactly from the f32
//   input (one rounding, no double rounding through an intermediate format).
// - Signed zero is kept: -0 encodes to the negative-zero code, and inputs
//   that underflow keep their sign (-1e-30 -> -0 in f16 and narrower).
// - Overflow::Saturate: a value that rounds above the largest finite value,
//   and +-Inf, become +-maxNormal (as PTX `cvt.satfinite`), in every format.
// - Overflow::NonSaturating: such values become +-Inf in formats with Inf
//   (f16, bf16, f8E5M2), NaN in formats with NaN but no Inf (f8E4M3FN:
//   anything whose rounded magnitude exceeds 448, i.e. above 464, and Inf),
//   and still +-maxNormal in formats with neither (fp6, fp4).
// - NaN inputs: formats with NaN give a quiet NaN keeping the input's sign
//   (f8E4M3FN S.1111.111, f8E5M2/f16 S.11111.10..0, bf16 keeps the top
//   payload bits). fp6/fp4 have no NaN: NaN encodes to code 0 (+0), whatever
//   its sign, so a NaN never turns into a large finite value.
// - f8E8M0FNU (2^(code-127), code 255 = NaN) has no sign and no zero, and
//   follows llvm::APFloat: +-0 and values below 2^-127 give code 0 (2^-127),
//   negative values and NaN give 255; with no fraction bits its only
//   significand bit is odd, so exact ties (1.5 * 2^k) round up to 2^(k+1).
//   Overflow (>= 1.5 * 2^127, or +Inf) gives 254 when saturating, else 255.
// - F32 is the identity, except that Saturate turns +-Inf into +-FLT_MAX.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_NUMERICS_FLOATFORMATS_H
#define MIXTILE_NUMERICS_FLOATFORMATS_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace mixtile::numerics {

/// The scalar formats. Names follow MLIR's builtin float types.
enum class FloatFormat : uint8_t {
  F32,
  BF16,
  F16,
  F8E4M3FN,
  F8E5M2,
  F6E2M3FN,
  F6E3M2FN,
  F4E2M1FN,
  F8E8M0FNU,
};

/// Every FloatFormat, in declaration order.
inline constexpr FloatFormat kAllFloatFormats[] = {
    FloatFormat::F32,      FloatFormat::BF16,     FloatFormat::F16,
    FloatFormat::F8E4M3FN, FloatFormat::F8E5M2,   FloatFormat::F6E2M3FN,
    FloatFormat::F6E3M2FN, FloatFormat::F4E2M1FN, FloatFormat::F8E8M0FNU};

/// What happens to values beyond the largest finite value (see file header).
enum class Overflow : uint8_t { Saturate, NonSaturating };

/// Static description of a format.
struct FormatInfo {
  /// MLIR builtin type spelling, e.g. "f8E4M3FN".
  std::string_view name;
  /// Total width of a code in bits.
  unsigned bits;
  unsigned exponentBits;
  /// Stored fraction bits (the leading 1 of normals is implicit).
  unsigned mantissaBits;
  int bias;
  bool hasSign;
  bool hasInf;
  bool hasNaN;
  bool hasZero;
  /// Unbiased exponents of the largest and the smallest normal value.
  int emax;
  int emin;
  float maxNormal;
  float minNormal;
  /// Smallest positive value (minNormal for formats without subnormals).
  float minSubnormal;
  /// Code of +maxNormal.
  uint32_t maxNormalCode;
};

/// Returns the description of `format`.
const FormatInfo &getFormatInfo(FloatFormat format);

/// Parses an MLIR builtin type spelling ("f32", "bf16", "f16", "f8E4M3FN",
/// "f8E5M2", "f6E2M3FN", "f6E3M2FN", "f4E2M1FN", "f8E8M0FNU").
std::optional<FloatFormat> parseFloatFormat(std::string_view name);

/// Rounds `x` to `format` and returns its code in the low getFormatInfo().bits
/// bits (the sign is the top bit of the code).
uint32_t encode(float x, FloatFormat format,
                Overflow overflow = Overflow::Saturate);

/// Returns the value of `code` (only its low `bits` bits are used). NaN codes
/// decode to a quiet f32 NaN. Formats of at most 8 bits use a 256-entry table.
float decode(uint32_t code, FloatFormat format);

/// Rounds `x` to the nearest value of `format`: always equal to
/// decode(encode(x, format, overflow), format).
float roundTo(float x, FloatFormat format,
              Overflow overflow = Overflow::Saturate);

/// Array form of roundTo (vectorized); `in` and `out` may be the same array.
void roundTo(const float *in, float *out, size_t n, FloatFormat format,
             Overflow overflow = Overflow::Saturate);

/// Number of bytes encode() below stores per code: 1 for formats of at most
/// 8 bits, 2 for bf16/f16, 4 for f32.
unsigned getCodeBytes(FloatFormat format);

/// Encodes `n` values into `out`, getCodeBytes() little-endian bytes each.
void encode(const float *in, uint8_t *out, size_t n, FloatFormat format,
            Overflow overflow = Overflow::Saturate);

/// Decodes `n` codes stored as by the array encode().
void decode(const uint8_t *in, float *out, size_t n, FloatFormat format);

//===----------------------------------------------------------------------===//
// Inline fast paths, for loops elsewhere (block quantization) to vectorize.
//===----------------------------------------------------------------------===//

/// Bit pattern of an f32.
inline uint32_t floatBits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits;
}

/// The f32 with bit pattern `bits`.
inline float floatFromBits(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

/// Branch-free round-to-nearest-even to a sign/exponent/mantissa format with
/// subnormals and a bias (f16, f8E4M3FN, f8E5M2, f6E2M3FN, f6E3M2FN,
/// f4E2M1FN), with the constants of one format and overflow mode
/// precomputed. All members are inline and free of branches so that loops
/// calling them auto-vectorize.
///
/// Method, for a = |x|:
/// 1. a = min(a, limit): limit is maxNormal when saturating (nothing above
///    it can round below it), else 2^(emax+2), which still overflows; this
///    also maps Inf and NaN (patched at the end) into range.
/// 2. E = the exponent field of max(a, minNormal): floor(log2(a)) in
///    f32-biased form, held at emin for subnormals so they share the fixed
///    grid 2^(emin - m).
/// 3. t = a * 2^(m - e) is exact, with the power of two built from E by one
///    integer subtraction; t < 2^(m+1).
/// 4. q = (t + 1.5*2^23) - 1.5*2^23 rounds t to an integer, exact RNE for
///    t < 2^22 in the default rounding mode, and q is also the low bits of
///    t + 1.5*2^23.
/// 5. The value is q * 2^(e - m); the magnitude code is ((e - emin) << m) +
///    q, which also covers q == 2^(m+1) (rounding up into the next binade)
///    and subnormals (e == emin).
class MiniFloatRounder {
public:
  /// `format` must be one of the formats listed above.
  MiniFloatRounder(FloatFormat format, Overflow overflow);

  /// Same as numerics::roundTo(x, format, overflow).
  float round(float x) const {
    Parts p = split(x);
    float value = roundMagnitude(p);
    value = value > maxNormal ? overflowValue : value;
    uint32_t bits = floatBits(value) | p.sign;
    return floatFromBits(isNaN(x) ? nanBits | (p.sign & nanSignMask) : bits);
  }

  /// Same as numerics::encode(x, format, overflow).
  uint32_t encode(float x) const {
    Parts p = split(x);
    uint32_t magnitude = encodeMagnitude(p);
    magnitude = magnitude > maxCode ? overflowCode : magnitude;
    uint32_t sign = p.sign >> signShift;
    return isNaN(x) ? nanCode | (sign & nanSignMask) : magnitude | sign;
  }

  /// round(x) for an `x` that is not NaN, on a rounder that cannot overflow
  /// (built with Overflow::Saturate, or for fp6/fp4): skips the NaN and
  /// overflow fix-ups. For the hot loops of block quantization.
  float roundNotNaN(float x) const {
    Parts p = split(x);
    return floatFromBits(floatBits(roundMagnitude(p)) | p.sign);
  }

  /// encode(x) under the same conditions as roundNotNaN.
  uint32_t encodeNotNaN(float x) const {
    Parts p = split(x);
    return encodeMagnitude(p) | (p.sign >> signShift);
  }

private:
  /// 1.5 * 2^23: adding and subtracting it rounds |t| < 2^22 to an integer.
  static constexpr float kMagic = 12582912.0f;

  struct Parts {
    uint32_t sign;         // sign bit of x, in f32 position
    uint32_t exponentBits; // f32 exponent field of max(a, minNormal)
    float t;               // a * 2^(m - e)
  };

  static bool isNaN(float x) {
    return (floatBits(x) & 0x7fffffffu) > 0x7f800000u;
  }

  Parts split(float x) const {
    uint32_t bits = floatBits(x);
    float a = floatFromBits(bits & 0x7fffffffu);
    a = a < inputLimit ? a : inputLimit; // NaN -> inputLimit
    float normalized = a > minNormal ? a : minNormal;
    uint32_t exponentBits = floatBits(normalized) & 0x7f800000u;
    float up = floatFromBits(upBase - exponentBits); // 2^(m - e)
    float t = a * up;
    return {bits & 0x80000000u, exponentBits, t};
  }

  float roundMagnitude(const Parts &p) const {
    float shifted = p.t + kMagic;
    float q = shifted - kMagic;
    float down = floatFromBits(p.exponentBits - downOffset); // 2^(e - m)
    return q * down;
  }

  uint32_t encodeMagnitude(const Parts &p) const {
    uint32_t q = floatBits(p.t + kMagic) - floatBits(kMagic);
    return (p.exponentBits >> exponentShift) - eminOffset + q;
  }

  float inputLimit; // maxNormal, or 2^(emax+2) when overflow shows
  float minNormal;
  uint32_t upBase;        // (254 + m) << 23: upBase - E is 2^(m - e)
  uint32_t downOffset;    // m << 23: E - downOffset is 2^(e - m)
  uint32_t exponentShift; // 23 - m: E >> exponentShift is E_biased << m
  uint32_t eminOffset;    // (emin + 127) << m
  uint32_t signShift;     // 32 - bits: moves the f32 sign to the code's top
  float maxNormal;
  float overflowValue;   // what overflowing magnitudes become
  uint32_t maxCode;      // magnitude code of maxNormal
  uint32_t overflowCode; // magnitude code of overflowValue
  uint32_t nanBits;      // f32 bits NaN inputs become (0 without NaN)
  uint32_t nanCode;      // code NaN inputs become (0 without NaN)
  uint32_t nanSignMask;  // all ones if NaN keeps its sign, else 0
};

/// Branch-free RNE of `x` to bf16, returned as an f32 (see file header for
/// overflow and NaN handling).
inline float roundToBF16(float x, Overflow overflow) {
  uint32_t bits = floatBits(x);
  uint32_t absBits = bits & 0x7fffffffu;
  // Adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even;
  // the carry may run into the exponent, which is exactly right.
  uint32_t rounded = (absBits + 0x7fffu + ((absBits >> 16) & 1u)) & 0xffff0000u;
  uint32_t limit = overflow == Overflow::Saturate ? 0x7f7f0000u : 0x7f800000u;
  rounded = rounded > limit ? limit : rounded;
  uint32_t quietNaN = (bits | 0x00400000u) & 0xffff0000u;
  return floatFromBits(absBits > 0x7f800000u ? quietNaN
                                             : rounded | (bits & 0x80000000u));
}

/// bf16 code of `x`: the top half of roundToBF16(x, overflow).
inline uint16_t encodeBF16(float x, Overflow overflow) {
  return uint16_t(floatBits(roundToBF16(x, overflow)) >> 16);
}

} // namespace mixtile::numerics

#endif // MIXTILE_NUMERICS_FLOATFORMATS_H
