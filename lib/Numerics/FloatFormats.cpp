//===- FloatFormats.cpp - scalar low-precision float formats --------------===//
//
// Format descriptions, decode tables, and the scalar and array entry points
// of encode/decode/roundTo. The per-element arithmetic lives in the inline
// MiniFloatRounder and roundToBF16 of the header, so that the scalar, array
// and block-quantization paths round identically.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/FloatFormats.h"
#include "VectorClones.h"

#include <array>
#include <cassert>
#include <cmath>
#include <limits>

using namespace mixtile::numerics;


namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr uint32_t kQuietNaNBits = 0x7fc00000u;

/// Builds a FormatInfo for a sign/exponent/mantissa format with subnormals.
/// `maxNormal` is passed explicitly because FN formats reserve codes at the
/// top of the largest binade.
constexpr FormatInfo makeInfo(std::string_view name, unsigned exponentBits,
                              unsigned mantissaBits, bool hasInf, bool hasNaN,
                              int emax, float maxNormal, float minNormal,
                              float minSubnormal, uint32_t maxNormalCode) {
  int bias = (1 << (exponentBits - 1)) - 1;
  return FormatInfo{name,
                    1 + exponentBits + mantissaBits,
                    exponentBits,
                    mantissaBits,
                    bias,
                    /*hasSign=*/true,
                    hasInf,
                    hasNaN,
                    /*hasZero=*/true,
                    emax,
                    1 - bias,
                    maxNormal,
                    minNormal,
                    minSubnormal,
                    maxNormalCode};
}

// The limits are written out (rather than computed) so that they can be read
// against the format definitions; the unit tests check them against APFloat.
constexpr FormatInfo kF32Info =
    makeInfo("f32", 8, 23, true, true, 127, 0x1.fffffep127f, 0x1p-126f,
             0x1p-149f, 0x7f7fffffu);
constexpr FormatInfo kBF16Info = makeInfo(
    "bf16", 8, 7, true, true, 127, 0x1.fep127f, 0x1p-126f, 0x1p-133f, 0x7f7fu);
constexpr FormatInfo kF16Info = makeInfo("f16", 5, 10, true, true, 15, 65504.0f,
                                         0x1p-14f, 0x1p-24f, 0x7bffu);
// OCP E4M3: the exponent 1111 binade is normal except S.1111.111 (NaN).
constexpr FormatInfo kF8E4M3FNInfo =
    makeInfo("f8E4M3FN", 4, 3, false, true, 8, 448.0f, 0x1p-6f, 0x1p-9f, 0x7eu);
constexpr FormatInfo kF8E5M2Info = makeInfo(
    "f8E5M2", 5, 2, true, true, 15, 57344.0f, 0x1p-14f, 0x1p-16f, 0x7bu);
constexpr FormatInfo kF6E2M3FNInfo =
    makeInfo("f6E2M3FN", 2, 3, false, false, 2, 7.5f, 1.0f, 0.125f, 0x1fu);
constexpr FormatInfo kF6E3M2FNInfo =
    makeInfo("f6E3M2FN", 3, 2, false, false, 4, 28.0f, 0.25f, 0.0625f, 0x1fu);
constexpr FormatInfo kF4E2M1FNInfo =
    makeInfo("f4E2M1FN", 2, 1, false, false, 2, 6.0f, 1.0f, 0.5f, 0x7u);
// E8M0: no sign, no zero, no subnormals; every code but 255 is 2^(code-127).
constexpr FormatInfo kF8E8M0FNUInfo = {
    "f8E8M0FNU", 8,         8,
    0,           127,       /*hasSign=*/false,
    false,       true,      /*hasZero=*/false,
    127,         -127,      0x1p127f,
    0x1p-127f,   0x1p-127f, 0xfeu};

/// A decode table for a format of at most 8 bits.
using DecodeTable = std::array<float, 256>;

/// Value of `code` computed from the bit fields (used to fill the tables and
/// for f16).
float decodeFromFields(uint32_t code, FloatFormat format) {
  const FormatInfo &info = getFormatInfo(format);
  uint32_t mantissaMask = (1u << info.mantissaBits) - 1;
  uint32_t exponentMask = (1u << info.exponentBits) - 1;
  uint32_t mantissa = code & mantissaMask;
  uint32_t exponentField = (code >> info.mantissaBits) & exponentMask;
  bool negative = info.hasSign && ((code >> (info.bits - 1)) & 1);
  uint32_t signBits = negative ? 0x80000000u : 0;

  bool topExponent = exponentField == exponentMask;
  bool isInf = info.hasInf && topExponent && mantissa == 0;
  bool isNaN = (info.hasInf && topExponent && mantissa != 0) ||
               (format == FloatFormat::F8E4M3FN && topExponent &&
                mantissa == mantissaMask) ||
               (format == FloatFormat::F8E8M0FNU && code == 0xff);
  // Every NaN code decodes to the canonical quiet NaN with the code's sign,
  // which is also what the rounders produce for NaN inputs.
  if (isNaN)
    return floatFromBits(signBits | kQuietNaNBits);
  if (isInf)
    return negative ? -kInf : kInf;

  float magnitude;
  if (format == FloatFormat::F8E8M0FNU)
    magnitude = std::ldexp(1.0f, int(exponentField) - info.bias);
  else if (exponentField == 0) // Subnormal: mantissa * 2^(emin - m).
    magnitude = std::ldexp(float(mantissa), info.emin - int(info.mantissaBits));
  else
    magnitude =
        std::ldexp(float(mantissa | (1u << info.mantissaBits)),
                   int(exponentField) - info.bias - int(info.mantissaBits));
  return negative ? -magnitude : magnitude;
}

DecodeTable buildDecodeTable(FloatFormat format) {
  DecodeTable table{};
  unsigned numCodes = 1u << getFormatInfo(format).bits;
  for (unsigned code = 0; code < 256; ++code)
    table[code] = decodeFromFields(code % numCodes, format);
  return table;
}

/// Returns the decode table of a format of at most 8 bits, built once.
const DecodeTable &getDecodeTable(FloatFormat format) {
  static const std::array<DecodeTable, 6> tables = {
      buildDecodeTable(FloatFormat::F8E4M3FN),
      buildDecodeTable(FloatFormat::F8E5M2),
      buildDecodeTable(FloatFormat::F6E2M3FN),
      buildDecodeTable(FloatFormat::F6E3M2FN),
      buildDecodeTable(FloatFormat::F4E2M1FN),
      buildDecodeTable(FloatFormat::F8E8M0FNU)};
  switch (format) {
  case FloatFormat::F8E4M3FN:
    return tables[0];
  case FloatFormat::F8E5M2:
    return tables[1];
  case FloatFormat::F6E2M3FN:
    return tables[2];
  case FloatFormat::F6E3M2FN:
    return tables[3];
  case FloatFormat::F4E2M1FN:
    return tables[4];
  case FloatFormat::F8E8M0FNU:
    return tables[5];
  default:
    assert(false && "no decode table for formats wider than 8 bits");
    return tables[0];
  }
}

[[maybe_unused]] bool usesMiniFloatRounder(FloatFormat format) {
  return format != FloatFormat::F32 && format != FloatFormat::BF16 &&
         format != FloatFormat::F8E8M0FNU;
}

float roundToF32(float x, Overflow overflow) {
  if (overflow == Overflow::Saturate && std::isinf(x))
    return std::copysign(std::numeric_limits<float>::max(), x);
  return x;
}

/// E8M0 encoding, matching llvm::APFloat (see the file header of
/// FloatFormats.h). Not on a hot path: MX scales are built from exponents.
uint32_t encodeE8M0(float x, Overflow overflow) {
  constexpr uint32_t nanCode = 0xff, maxCode = 0xfe;
  if (std::isnan(x) || (x < 0.0f))
    return nanCode;
  if (std::isinf(x))
    return overflow == Overflow::Saturate ? maxCode : nanCode;
  if (x <= 0x1p-127f) // Includes +-0: there is no zero, 2^-127 is nearest.
    return 0;
  int exponent;
  float fraction = std::frexp(x, &exponent); // x = fraction * 2^exponent
  // fraction is in [0.5, 1): x lies between 2^(exponent-1) and 2^exponent,
  // and ties (fraction == 0.75) go up.
  int rounded = fraction >= 0.75f ? exponent : exponent - 1;
  if (rounded > 127)
    return overflow == Overflow::Saturate ? maxCode : nanCode;
  return uint32_t(rounded + 127);
}

} // namespace

const FormatInfo &mixtile::numerics::getFormatInfo(FloatFormat format) {
  switch (format) {
  case FloatFormat::F32:
    return kF32Info;
  case FloatFormat::BF16:
    return kBF16Info;
  case FloatFormat::F16:
    return kF16Info;
  case FloatFormat::F8E4M3FN:
    return kF8E4M3FNInfo;
  case FloatFormat::F8E5M2:
    return kF8E5M2Info;
  case FloatFormat::F6E2M3FN:
    return kF6E2M3FNInfo;
  case FloatFormat::F6E3M2FN:
    return kF6E3M2FNInfo;
  case FloatFormat::F4E2M1FN:
    return kF4E2M1FNInfo;
  case FloatFormat::F8E8M0FNU:
    return kF8E8M0FNUInfo;
  }
  assert(false && "unknown FloatFormat");
  return kF32Info;
}

std::optional<FloatFormat>
mixtile::numerics::parseFloatFormat(std::string_view name) {
  for (FloatFormat format : kAllFloatFormats)
    if (getFormatInfo(format).name == name)
      return format;
  return std::nullopt;
}

MiniFloatRounder::MiniFloatRounder(FloatFormat format, Overflow overflow) {
  assert(usesMiniFloatRounder(format) && "not a mini-float format");
  const FormatInfo &info = getFormatInfo(format);
  uint32_t m = info.mantissaBits;
  bool canOverflow =
      overflow == Overflow::NonSaturating && (info.hasInf || info.hasNaN);
  inputLimit = canOverflow ? std::ldexp(1.0f, info.emax + 2) : info.maxNormal;
  minNormal = info.minNormal;
  upBase = (254 + m) << 23;
  downOffset = m << 23;
  exponentShift = 23 - m;
  eminOffset = uint32_t(info.emin + 127) << m;
  signShift = 32 - info.bits;
  maxNormal = info.maxNormal;
  maxCode = info.maxNormalCode;

  uint32_t topExponentField = ((1u << info.exponentBits) - 1)
                              << info.mantissaBits;
  if (!canOverflow) {
    overflowValue = info.maxNormal;
    overflowCode = maxCode;
  } else if (info.hasInf) {
    overflowValue = kInf;
    overflowCode = topExponentField;
  } else { // f8E4M3FN: NaN is S.1111.111.
    overflowValue = floatFromBits(kQuietNaNBits);
    overflowCode = topExponentField | ((1u << info.mantissaBits) - 1);
  }

  if (info.hasNaN) {
    nanBits = kQuietNaNBits;
    // The quiet NaN: top exponent, top mantissa bit (all ones for E4M3FN).
    nanCode = format == FloatFormat::F8E4M3FN
                  ? topExponentField | ((1u << info.mantissaBits) - 1)
                  : topExponentField | (1u << (info.mantissaBits - 1));
    nanSignMask = ~0u;
  } else {
    nanBits = 0;
    nanCode = 0;
    nanSignMask = 0;
  }
}

uint32_t mixtile::numerics::encode(float x, FloatFormat format,
                                   Overflow overflow) {
  switch (format) {
  case FloatFormat::F32:
    return floatBits(roundToF32(x, overflow));
  case FloatFormat::BF16:
    return encodeBF16(x, overflow);
  case FloatFormat::F8E8M0FNU:
    return encodeE8M0(x, overflow);
  default:
    return MiniFloatRounder(format, overflow).encode(x);
  }
}

float mixtile::numerics::decode(uint32_t code, FloatFormat format) {
  switch (format) {
  case FloatFormat::F32:
    return floatFromBits(code);
  case FloatFormat::BF16:
    return floatFromBits((code & 0xffffu) << 16);
  case FloatFormat::F16:
    return decodeFromFields(code & 0xffffu, format);
  default:
    return getDecodeTable(format)[code & 0xffu];
  }
}

float mixtile::numerics::roundTo(float x, FloatFormat format,
                                 Overflow overflow) {
  return decode(encode(x, format, overflow), format);
}

MIXTILE_VECTOR_CLONES
void mixtile::numerics::roundTo(const float *in, float *out, size_t n,
                                FloatFormat format, Overflow overflow) {
  switch (format) {
  case FloatFormat::F32:
    for (size_t i = 0; i < n; ++i)
      out[i] = roundToF32(in[i], overflow);
    return;
  case FloatFormat::BF16:
    for (size_t i = 0; i < n; ++i)
      out[i] = roundToBF16(in[i], overflow);
    return;
  case FloatFormat::F8E8M0FNU:
    for (size_t i = 0; i < n; ++i)
      out[i] = decode(encodeE8M0(in[i], overflow), format);
    return;
  default: {
    const MiniFloatRounder rounder(format, overflow);
    for (size_t i = 0; i < n; ++i)
      out[i] = rounder.round(in[i]);
    return;
  }
  }
}

unsigned mixtile::numerics::getCodeBytes(FloatFormat format) {
  return (getFormatInfo(format).bits + 7) / 8;
}

MIXTILE_VECTOR_CLONES
void mixtile::numerics::encode(const float *in, uint8_t *out, size_t n,
                               FloatFormat format, Overflow overflow) {
  switch (format) {
  case FloatFormat::F32:
    for (size_t i = 0; i < n; ++i) {
      uint32_t code = floatBits(roundToF32(in[i], overflow));
      for (unsigned byte = 0; byte < 4; ++byte)
        out[4 * i + byte] = uint8_t(code >> (8 * byte));
    }
    return;
  case FloatFormat::BF16:
    for (size_t i = 0; i < n; ++i) {
      uint16_t code = encodeBF16(in[i], overflow);
      out[2 * i] = uint8_t(code);
      out[2 * i + 1] = uint8_t(code >> 8);
    }
    return;
  case FloatFormat::F16: {
    const MiniFloatRounder rounder(format, overflow);
    for (size_t i = 0; i < n; ++i) {
      uint32_t code = rounder.encode(in[i]);
      out[2 * i] = uint8_t(code);
      out[2 * i + 1] = uint8_t(code >> 8);
    }
    return;
  }
  case FloatFormat::F8E8M0FNU:
    for (size_t i = 0; i < n; ++i)
      out[i] = uint8_t(encodeE8M0(in[i], overflow));
    return;
  default: {
    const MiniFloatRounder rounder(format, overflow);
    for (size_t i = 0; i < n; ++i)
      out[i] = uint8_t(rounder.encode(in[i]));
    return;
  }
  }
}

void mixtile::numerics::decode(const uint8_t *in, float *out, size_t n,
                               FloatFormat format) {
  unsigned codeBytes = getCodeBytes(format);
  if (codeBytes == 1) {
    const DecodeTable &table = getDecodeTable(format);
    for (size_t i = 0; i < n; ++i)
      out[i] = table[in[i]];
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint32_t code = 0;
    for (unsigned byte = 0; byte < codeBytes; ++byte)
      code |= uint32_t(in[codeBytes * i + byte]) << (8 * byte);
    out[i] = decode(code, format);
  }
}
