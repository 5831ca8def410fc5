//===- FloatFormatsTest.cpp - scalar format tests against APFloat ---------===//
//
// Checks the scalar formats exhaustively against llvm::APFloat: every code's
// value, every rounding midpoint between adjacent values, random inputs, and
// the special cases (signed zero, underflow, Inf/NaN, saturation) whose
// expectations are written out by hand from the format definitions.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/FloatFormats.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APInt.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace mixtile::numerics;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

/// Formats with a sign bit and subnormals, rounded by MiniFloatRounder or
/// the bf16 bit trick.
const FloatFormat kSignedFormats[] = {
    FloatFormat::BF16,    FloatFormat::F16,      FloatFormat::F8E4M3FN,
    FloatFormat::F8E5M2,  FloatFormat::F6E2M3FN, FloatFormat::F6E3M2FN,
    FloatFormat::F4E2M1FN};

const Overflow kModes[] = {Overflow::Saturate, Overflow::NonSaturating};

const llvm::fltSemantics &semanticsOf(FloatFormat format) {
  switch (format) {
  case FloatFormat::F32:
    return llvm::APFloat::IEEEsingle();
  case FloatFormat::BF16:
    return llvm::APFloat::BFloat();
  case FloatFormat::F16:
    return llvm::APFloat::IEEEhalf();
  case FloatFormat::F8E4M3FN:
    return llvm::APFloat::Float8E4M3FN();
  case FloatFormat::F8E5M2:
    return llvm::APFloat::Float8E5M2();
  case FloatFormat::F6E2M3FN:
    return llvm::APFloat::Float6E2M3FN();
  case FloatFormat::F6E3M2FN:
    return llvm::APFloat::Float6E3M2FN();
  case FloatFormat::F4E2M1FN:
    return llvm::APFloat::Float4E2M1FN();
  case FloatFormat::F8E8M0FNU:
    return llvm::APFloat::Float8E8M0FNU();
  }
  return llvm::APFloat::IEEEsingle();
}

std::string nameOf(FloatFormat format) {
  return std::string(getFormatInfo(format).name);
}

std::string nameOf(Overflow overflow) {
  return overflow == Overflow::Saturate ? "saturate" : "non-saturating";
}

float toFloat(llvm::APFloat value) {
  bool losesInfo;
  value.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
  return value.convertToFloat();
}

/// APFloat's value of `code`. NaN is read off before converting, since
/// APFloat turns the E8M0 NaN into an f32 Inf.
float oracleDecode(uint32_t code, FloatFormat format) {
  const llvm::fltSemantics &sem = semanticsOf(format);
  unsigned bits = llvm::APFloat::semanticsSizeInBits(sem);
  llvm::APFloat value(sem, llvm::APInt(bits, code));
  if (value.isNaN())
    return kNaN;
  return toFloat(value);
}

/// APFloat's RNE conversion of `x` (its own overflow rules: Inf where the
/// format has Inf, NaN for f8E4M3FN above 464, saturation for fp6/fp4).
uint32_t oracleEncode(float x, FloatFormat format) {
  llvm::APFloat value(x);
  bool losesInfo;
  value.convert(semanticsOf(format), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
  return uint32_t(value.bitcastToAPInt().getZExtValue());
}

uint32_t signBitOf(FloatFormat format) {
  return 1u << (getFormatInfo(format).bits - 1);
}

bool isNaNCode(uint32_t code, FloatFormat format) {
  return std::isnan(oracleDecode(code, format));
}

/// Bitwise equality that also treats any two NaNs as equal.
::testing::AssertionResult sameFloat(float expected, float actual) {
  if (std::isnan(expected) && std::isnan(actual))
    return ::testing::AssertionSuccess();
  if (floatBits(expected) == floatBits(actual))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected " << expected << " (0x" << std::hex << floatBits(expected)
         << "), got " << actual << " (0x" << floatBits(actual) << ")";
}

/// Codes of the non-negative finite values of a signed format, in
/// increasing order of value.
std::vector<uint32_t> nonNegativeFiniteCodes(FloatFormat format) {
  std::vector<uint32_t> codes;
  for (uint32_t code = 0; code < signBitOf(format); ++code)
    if (std::isfinite(oracleDecode(code, format)))
      codes.push_back(code);
  return codes;
}

/// The magnitude code a value beyond the range becomes in non-saturating
/// mode: Inf (bit pattern S.11..1.00..0), E4M3FN's NaN S.1111.111, or max.
uint32_t nonSaturatingOverflowCode(FloatFormat format) {
  const FormatInfo &info = getFormatInfo(format);
  uint32_t topExponent = ((1u << info.exponentBits) - 1) << info.mantissaBits;
  if (info.hasInf)
    return topExponent;
  if (info.hasNaN)
    return topExponent | ((1u << info.mantissaBits) - 1);
  return info.maxNormalCode;
}

//===----------------------------------------------------------------------===//
// Format descriptions
//===----------------------------------------------------------------------===//

TEST(FloatFormatsTest, FormatInfoMatchesAPFloat) {
  for (FloatFormat format : kAllFloatFormats) {
    SCOPED_TRACE(nameOf(format));
    const FormatInfo &info = getFormatInfo(format);
    const llvm::fltSemantics &sem = semanticsOf(format);
    using llvm::APFloat;
    EXPECT_EQ(info.bits, APFloat::semanticsSizeInBits(sem));
    EXPECT_EQ(info.mantissaBits + 1, APFloat::semanticsPrecision(sem));
    EXPECT_EQ(info.bits,
              info.exponentBits + info.mantissaBits + (info.hasSign ? 1 : 0));
    EXPECT_EQ(info.emax, APFloat::semanticsMaxExponent(sem));
    EXPECT_EQ(info.emin, APFloat::semanticsMinExponent(sem));
    EXPECT_EQ(info.hasInf, APFloat::semanticsHasInf(sem));
    EXPECT_EQ(info.hasNaN, APFloat::semanticsHasNaN(sem));
    EXPECT_EQ(info.hasZero, APFloat::semanticsHasZero(sem));
    EXPECT_EQ(info.hasSign, APFloat::semanticsHasSignedRepr(sem));
    EXPECT_EQ(info.maxNormal, toFloat(APFloat::getLargest(sem)));
    EXPECT_EQ(info.minNormal, toFloat(APFloat::getSmallestNormalized(sem)));
    EXPECT_EQ(info.minSubnormal, toFloat(APFloat::getSmallest(sem)));
    EXPECT_EQ(info.maxNormalCode,
              APFloat::getLargest(sem).bitcastToAPInt().getZExtValue());
  }
}

TEST(FloatFormatsTest, HandWrittenLimits) {
  // From the issue: E4M3FN max 448, E5M2 max 57344, E2M3 7.5, E3M2 28,
  // E2M1 6, and the biases 7, 15, 1, 3, 1, 127.
  EXPECT_EQ(getFormatInfo(FloatFormat::F8E4M3FN).maxNormal, 448.0f);
  EXPECT_EQ(getFormatInfo(FloatFormat::F8E5M2).maxNormal, 57344.0f);
  EXPECT_EQ(getFormatInfo(FloatFormat::F6E2M3FN).maxNormal, 7.5f);
  EXPECT_EQ(getFormatInfo(FloatFormat::F6E3M2FN).maxNormal, 28.0f);
  EXPECT_EQ(getFormatInfo(FloatFormat::F4E2M1FN).maxNormal, 6.0f);
  EXPECT_EQ(getFormatInfo(FloatFormat::F8E4M3FN).bias, 7);
  EXPECT_EQ(getFormatInfo(FloatFormat::F8E5M2).bias, 15);
  EXPECT_EQ(getFormatInfo(FloatFormat::F6E2M3FN).bias, 1);
  EXPECT_EQ(getFormatInfo(FloatFormat::F6E3M2FN).bias, 3);
  EXPECT_EQ(getFormatInfo(FloatFormat::F4E2M1FN).bias, 1);
  EXPECT_EQ(getFormatInfo(FloatFormat::F8E8M0FNU).bias, 127);
}

TEST(FloatFormatsTest, ParseNamesRoundTrip) {
  for (FloatFormat format : kAllFloatFormats) {
    std::optional<FloatFormat> parsed =
        parseFloatFormat(getFormatInfo(format).name);
    ASSERT_TRUE(parsed.has_value()) << nameOf(format);
    EXPECT_EQ(*parsed, format);
  }
  EXPECT_EQ(parseFloatFormat("f8E4M3FN"), FloatFormat::F8E4M3FN);
  EXPECT_EQ(parseFloatFormat("f8E8M0FNU"), FloatFormat::F8E8M0FNU);
  EXPECT_FALSE(parseFloatFormat("f8e4m3fn").has_value());
  EXPECT_FALSE(parseFloatFormat("fp4").has_value());
  EXPECT_FALSE(parseFloatFormat("").has_value());
}

//===----------------------------------------------------------------------===//
// Decoding every code
//===----------------------------------------------------------------------===//

TEST(FloatFormatsTest, EveryCodeDecodesLikeAPFloat) {
  for (FloatFormat format : kAllFloatFormats) {
    if (format == FloatFormat::F32)
      continue;
    SCOPED_TRACE(nameOf(format));
    uint32_t numCodes = 1u << getFormatInfo(format).bits;
    for (uint32_t code = 0; code < numCodes; ++code) {
      float expected = oracleDecode(code, format);
      float actual = decode(code, format);
      if (std::isnan(expected)) {
        EXPECT_TRUE(std::isnan(actual)) << "code 0x" << std::hex << code;
        continue;
      }
      // Bitwise, so that -0 and +0 are told apart.
      EXPECT_EQ(floatBits(expected), floatBits(actual))
          << "code 0x" << std::hex << code << ": expected " << expected
          << ", got " << actual;
    }
  }
}

TEST(FloatFormatsTest, HandDecodedValues) {
  // S.EEEE.MMM with bias 7: 0.0111.000 = 1, 0.1111.110 = 1.75 * 2^8,
  // 0.0000.001 = 2^-9 (subnormal: 0.001b * 2^(1-7)), 1.0000.000 = -0.
  EXPECT_EQ(decode(0x38, FloatFormat::F8E4M3FN), 1.0f);
  EXPECT_EQ(decode(0x7e, FloatFormat::F8E4M3FN), 448.0f);
  EXPECT_EQ(decode(0x01, FloatFormat::F8E4M3FN), 0x1p-9f);
  EXPECT_TRUE(std::signbit(decode(0x80, FloatFormat::F8E4M3FN)));
  EXPECT_TRUE(std::isnan(decode(0x7f, FloatFormat::F8E4M3FN)));
  EXPECT_TRUE(std::isnan(decode(0xff, FloatFormat::F8E4M3FN)));
  // E5M2: 0.11110.11 = 1.75 * 2^15, 0.11111.00 = Inf, 0.11111.01 = NaN.
  EXPECT_EQ(decode(0x7b, FloatFormat::F8E5M2), 57344.0f);
  EXPECT_EQ(decode(0x7c, FloatFormat::F8E5M2), kInf);
  EXPECT_EQ(decode(0xfc, FloatFormat::F8E5M2), -kInf);
  EXPECT_TRUE(std::isnan(decode(0x7d, FloatFormat::F8E5M2)));
  // E2M1 codes 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the sign.
  const float e2m1[] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (uint32_t code = 0; code < 8; ++code) {
    EXPECT_EQ(decode(code, FloatFormat::F4E2M1FN), e2m1[code]);
    EXPECT_EQ(decode(code | 8, FloatFormat::F4E2M1FN), -e2m1[code]);
  }
  // E2M3 0.11.111 = 1.875 * 2^2; E3M2 0.111.11 = 1.75 * 2^4.
  EXPECT_EQ(decode(0x1f, FloatFormat::F6E2M3FN), 7.5f);
  EXPECT_EQ(decode(0x01, FloatFormat::F6E2M3FN), 0.125f);
  EXPECT_EQ(decode(0x1f, FloatFormat::F6E3M2FN), 28.0f);
  EXPECT_EQ(decode(0x01, FloatFormat::F6E3M2FN), 0.0625f);
  // E8M0 is 2^(code - 127); 255 is NaN.
  for (uint32_t code = 0; code < 255; ++code)
    EXPECT_EQ(decode(code, FloatFormat::F8E8M0FNU),
              std::ldexp(1.0f, int(code) - 127));
  EXPECT_TRUE(std::isnan(decode(0xff, FloatFormat::F8E8M0FNU)));
}

TEST(FloatFormatsTest, EncodeOfDecodeIsIdentity) {
  for (FloatFormat format : kAllFloatFormats) {
    if (format == FloatFormat::F32)
      continue;
    SCOPED_TRACE(nameOf(format));
    uint32_t numCodes = 1u << getFormatInfo(format).bits;
    for (uint32_t code = 0; code < numCodes; ++code) {
      float value = decode(code, format);
      if (std::isnan(value))
        continue;
      // Inf codes only survive in non-saturating mode.
      EXPECT_EQ(encode(value, format, Overflow::NonSaturating), code)
          << "code 0x" << std::hex << code;
      if (std::isfinite(value))
        EXPECT_EQ(encode(value, format, Overflow::Saturate), code)
            << "code 0x" << std::hex << code;
    }
  }
}

//===----------------------------------------------------------------------===//
// Rounding midpoints
//===----------------------------------------------------------------------===//

/// Checks x and -x round to `code` (and its negative) in both modes, and
/// that APFloat agrees.
void expectRoundsTo(float x, uint32_t code, FloatFormat format) {
  for (Overflow overflow : kModes) {
    EXPECT_EQ(encode(x, format, overflow), code)
        << "x = " << x << " (" << nameOf(overflow) << ")";
    EXPECT_EQ(encode(-x, format, overflow), code | signBitOf(format))
        << "x = " << -x << " (" << nameOf(overflow) << ")";
  }
  EXPECT_EQ(oracleEncode(x, format), code) << "APFloat, x = " << x;
  EXPECT_EQ(oracleEncode(-x, format), code | signBitOf(format))
      << "APFloat, x = " << -x;
}

TEST(FloatFormatsTest, MidpointsTieToEvenAndNeighboursRoundToTheirSide) {
  for (FloatFormat format : kSignedFormats) {
    SCOPED_TRACE(nameOf(format));
    std::vector<uint32_t> codes = nonNegativeFiniteCodes(format);
    for (size_t i = 0; i + 1 < codes.size(); ++i) {
      uint32_t lowCode = codes[i], highCode = codes[i + 1];
      ASSERT_EQ(highCode, lowCode + 1);
      float low = decode(lowCode, format), high = decode(highCode, format);
      // Exact: the difference is one ulp of the format, halving it and
      // adding it back needs at most one more significant bit.
      float midpoint = low + (high - low) * 0.5f;
      ASSERT_LT(low, midpoint);
      ASSERT_LT(midpoint, high);
      // The even neighbour is the one whose code (hence mantissa) is even.
      uint32_t evenCode = lowCode % 2 == 0 ? lowCode : highCode;
      expectRoundsTo(midpoint, evenCode, format);
      expectRoundsTo(std::nextafter(midpoint, 0.0f), lowCode, format);
      expectRoundsTo(std::nextafter(midpoint, kInf), highCode, format);
    }
  }
}

TEST(FloatFormatsTest, MidpointAboveMaxNormal) {
  for (FloatFormat format : kSignedFormats) {
    SCOPED_TRACE(nameOf(format));
    const FormatInfo &info = getFormatInfo(format);
    // The next value the exponent range would give is max + ulp(max).
    float halfUlp = std::ldexp(1.0f, info.emax - int(info.mantissaBits) - 1);
    float midpoint = info.maxNormal + halfUlp;
    float above = std::nextafter(midpoint, kInf);
    float below = std::nextafter(midpoint, 0.0f);
    uint32_t maxCode = info.maxNormalCode, sign = signBitOf(format);
    uint32_t overflowCode = nonSaturatingOverflowCode(format);
    // The max normal mantissa is all ones (odd) in IEEE-like formats, so the
    // midpoint ties away from it; E4M3FN's max is 1.110 (even), and formats
    // without Inf/NaN always saturate.
    bool tieGoesUp = (info.maxNormalCode & 1) != 0;
    uint32_t tieCode = tieGoesUp ? overflowCode : maxCode;

    EXPECT_EQ(encode(below, format, Overflow::NonSaturating), maxCode);
    EXPECT_EQ(encode(midpoint, format, Overflow::NonSaturating), tieCode);
    EXPECT_EQ(encode(above, format, Overflow::NonSaturating), overflowCode);
    EXPECT_EQ(encode(-above, format, Overflow::NonSaturating),
              overflowCode | sign);
    EXPECT_EQ(oracleEncode(below, format), maxCode);
    EXPECT_EQ(oracleEncode(midpoint, format), tieCode);
    EXPECT_EQ(oracleEncode(above, format), overflowCode);

    for (float x : {below, midpoint, above, 2 * info.maxNormal,
                    std::numeric_limits<float>::max(), kInf}) {
      EXPECT_EQ(encode(x, format, Overflow::Saturate), maxCode) << x;
      EXPECT_EQ(encode(-x, format, Overflow::Saturate), maxCode | sign) << x;
      EXPECT_EQ(roundTo(-x, format, Overflow::Saturate), -info.maxNormal);
    }
  }
}

TEST(FloatFormatsTest, E4M3FNSaturationByHand) {
  // 448 = 1.110b * 2^8; the next binade value would be 480 = 1.111b * 2^8,
  // which E4M3FN spends on NaN. 449 is nearer 448; 464 is the tie and goes
  // to the even mantissa 110, i.e. 448; 465 would round to 480.
  const FloatFormat f = FloatFormat::F8E4M3FN;
  for (Overflow overflow : kModes) {
    EXPECT_EQ(roundTo(449.0f, f, overflow), 448.0f);
    EXPECT_EQ(roundTo(464.0f, f, overflow), 448.0f);
    EXPECT_EQ(roundTo(-464.0f, f, overflow), -448.0f);
  }
  EXPECT_EQ(roundTo(465.0f, f, Overflow::Saturate), 448.0f);
  EXPECT_EQ(roundTo(1e6f, f, Overflow::Saturate), 448.0f);
  EXPECT_EQ(roundTo(kInf, f, Overflow::Saturate), 448.0f);
  EXPECT_EQ(roundTo(-kInf, f, Overflow::Saturate), -448.0f);
  EXPECT_TRUE(std::isnan(roundTo(465.0f, f, Overflow::NonSaturating)));
  EXPECT_EQ(encode(465.0f, f, Overflow::NonSaturating), 0x7fu);
  EXPECT_EQ(encode(-465.0f, f, Overflow::NonSaturating), 0xffu);
  EXPECT_EQ(encode(kInf, f, Overflow::NonSaturating), 0x7fu);
}

TEST(FloatFormatsTest, E5M2OverflowByHand) {
  // 57344 = 1.11b * 2^15; 61440 is the tie with 65536 and goes to the even
  // mantissa (65536 = 1.00b * 2^16), which overflows to Inf.
  const FloatFormat f = FloatFormat::F8E5M2;
  EXPECT_EQ(roundTo(61439.0f, f, Overflow::NonSaturating), 57344.0f);
  EXPECT_EQ(roundTo(61440.0f, f, Overflow::NonSaturating), kInf);
  EXPECT_EQ(roundTo(-61440.0f, f, Overflow::NonSaturating), -kInf);
  EXPECT_EQ(roundTo(kInf, f, Overflow::NonSaturating), kInf);
  EXPECT_EQ(roundTo(61440.0f, f, Overflow::Saturate), 57344.0f);
  EXPECT_EQ(roundTo(kInf, f, Overflow::Saturate), 57344.0f);
  EXPECT_EQ(encode(-kInf, f, Overflow::NonSaturating), 0xfcu);
}

TEST(FloatFormatsTest, FP4AndFP6AlwaysSaturate) {
  // No Inf and no NaN: out-of-range values clamp in either mode.
  for (Overflow overflow : kModes) {
    EXPECT_EQ(roundTo(7.0f, FloatFormat::F4E2M1FN, overflow), 6.0f);
    EXPECT_EQ(roundTo(-1e9f, FloatFormat::F4E2M1FN, overflow), -6.0f);
    EXPECT_EQ(roundTo(kInf, FloatFormat::F4E2M1FN, overflow), 6.0f);
    EXPECT_EQ(roundTo(7.9f, FloatFormat::F6E2M3FN, overflow), 7.5f);
    EXPECT_EQ(roundTo(-kInf, FloatFormat::F6E2M3FN, overflow), -7.5f);
    EXPECT_EQ(roundTo(30.0f, FloatFormat::F6E3M2FN, overflow), 28.0f);
  }
}

TEST(FloatFormatsTest, E2M1GridByHand) {
  // Ties between neighbours of the grid 0, .5, 1, 1.5, 2, 3, 4, 6 go to the
  // even code: 0.25 -> 0, 0.75 -> 1, 1.25 -> 1, 1.75 -> 2, 2.5 -> 2,
  // 3.5 -> 4, 5 -> 4.
  const FloatFormat f = FloatFormat::F4E2M1FN;
  const float ties[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  const float rounded[] = {0.0f, 1.0f, 1.0f, 2.0f, 2.0f, 4.0f, 4.0f};
  for (size_t i = 0; i < std::size(ties); ++i) {
    EXPECT_EQ(roundTo(ties[i], f), rounded[i]) << ties[i];
    EXPECT_EQ(roundTo(-ties[i], f), -rounded[i]) << -ties[i];
  }
  EXPECT_EQ(roundTo(0.26f, f), 0.5f);
  EXPECT_EQ(roundTo(4.9f, f), 4.0f);
  EXPECT_EQ(roundTo(5.1f, f), 6.0f);
}

//===----------------------------------------------------------------------===//
// Zeros, underflow, Inf and NaN
//===----------------------------------------------------------------------===//

TEST(FloatFormatsTest, SignedZeroIsKept) {
  for (FloatFormat format : kSignedFormats) {
    SCOPED_TRACE(nameOf(format));
    for (Overflow overflow : kModes) {
      EXPECT_EQ(encode(0.0f, format, overflow), 0u);
      EXPECT_EQ(encode(-0.0f, format, overflow), signBitOf(format));
      float negativeZero = roundTo(-0.0f, format, overflow);
      EXPECT_EQ(negativeZero, 0.0f);
      EXPECT_TRUE(std::signbit(negativeZero));
    }
  }
}

TEST(FloatFormatsTest, TinyValuesUnderflowToSignedZero) {
  for (FloatFormat format : kSignedFormats) {
    SCOPED_TRACE(nameOf(format));
    float minSubnormal = getFormatInfo(format).minSubnormal;
    // Half the smallest subnormal ties to the even code 0; anything smaller,
    // down to the smallest f32 subnormal, rounds to zero too.
    for (float tiny :
         {minSubnormal * 0.5f, std::nextafter(minSubnormal * 0.5f, 0.0f),
          std::numeric_limits<float>::denorm_min()}) {
      for (Overflow overflow : kModes) {
        float positive = roundTo(tiny, format, overflow);
        float negative = roundTo(-tiny, format, overflow);
        EXPECT_EQ(floatBits(positive), floatBits(0.0f)) << tiny;
        EXPECT_EQ(floatBits(negative), floatBits(-0.0f)) << -tiny;
      }
    }
    EXPECT_EQ(roundTo(std::nextafter(minSubnormal * 0.5f, 1.0f), format),
              minSubnormal);
  }
}

TEST(FloatFormatsTest, F32SubnormalInputs) {
  // bf16 has f32's exponent range: 2^-133 is its smallest subnormal (code
  // 1), 3 * 2^-134 ties between 2^-133 (odd code 1) and 2^-132 (even code
  // 2), and 3 * 2^-133 is code 3.
  EXPECT_EQ(encode(0x1p-133f, FloatFormat::BF16), 1u);
  EXPECT_EQ(encode(0x1.8p-133f, FloatFormat::BF16), 2u);
  EXPECT_EQ(encode(-0x1.8p-133f, FloatFormat::BF16), 0x8002u);
  EXPECT_EQ(encode(0x1.8p-132f, FloatFormat::BF16), 3u);
  EXPECT_EQ(oracleEncode(0x1.8p-133f, FloatFormat::BF16), 2u);
  // f16 subnormals come from f32 normals; f32 subnormals flush to zero
  // with their sign, but 2^-25 + tiny rounds up to 2^-24 (code 1).
  EXPECT_EQ(encode(0x1.000002p-25f, FloatFormat::F16), 1u);
  EXPECT_EQ(encode(0x1p-25f, FloatFormat::F16), 0u);
  EXPECT_EQ(encode(-1e-40f, FloatFormat::F16), 0x8000u);
}

TEST(FloatFormatsTest, InfInputs) {
  struct Case {
    FloatFormat format;
    uint32_t saturated;    // code of +max
    uint32_t nonSaturated; // code of +Inf / NaN / max
  };
  const Case cases[] = {
      {FloatFormat::BF16, 0x7f7f, 0x7f80}, {FloatFormat::F16, 0x7bff, 0x7c00},
      {FloatFormat::F8E4M3FN, 0x7e, 0x7f}, {FloatFormat::F8E5M2, 0x7b, 0x7c},
      {FloatFormat::F6E2M3FN, 0x1f, 0x1f}, {FloatFormat::F6E3M2FN, 0x1f, 0x1f},
      {FloatFormat::F4E2M1FN, 0x7, 0x7},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(nameOf(c.format));
    uint32_t sign = signBitOf(c.format);
    EXPECT_EQ(encode(kInf, c.format, Overflow::Saturate), c.saturated);
    EXPECT_EQ(encode(-kInf, c.format, Overflow::Saturate), c.saturated | sign);
    EXPECT_EQ(encode(kInf, c.format, Overflow::NonSaturating), c.nonSaturated);
    EXPECT_EQ(encode(-kInf, c.format, Overflow::NonSaturating),
              c.nonSaturated | sign);
  }
}

TEST(FloatFormatsTest, NaNInputs) {
  for (Overflow overflow : kModes) {
    // Formats with NaN keep it, and its sign.
    for (FloatFormat format : {FloatFormat::BF16, FloatFormat::F16,
                               FloatFormat::F8E4M3FN, FloatFormat::F8E5M2}) {
      SCOPED_TRACE(nameOf(format));
      uint32_t positive = encode(kNaN, format, overflow);
      uint32_t negative = encode(-kNaN, format, overflow);
      EXPECT_TRUE(isNaNCode(positive, format));
      EXPECT_TRUE(isNaNCode(negative, format));
      EXPECT_EQ(negative, positive | signBitOf(format));
      EXPECT_TRUE(std::isnan(roundTo(kNaN, format, overflow)));
    }
    EXPECT_EQ(encode(kNaN, FloatFormat::F8E4M3FN, overflow), 0x7fu);
    EXPECT_EQ(encode(-kNaN, FloatFormat::F8E4M3FN, overflow), 0xffu);
    // fp6/fp4 have no NaN: documented to become +0 whatever the sign.
    for (FloatFormat format : {FloatFormat::F6E2M3FN, FloatFormat::F6E3M2FN,
                               FloatFormat::F4E2M1FN}) {
      SCOPED_TRACE(nameOf(format));
      EXPECT_EQ(encode(kNaN, format, overflow), 0u);
      EXPECT_EQ(encode(-kNaN, format, overflow), 0u);
      EXPECT_EQ(floatBits(roundTo(-kNaN, format, overflow)), 0u);
    }
  }
}

TEST(FloatFormatsTest, F32IsIdentityUpToSaturation) {
  for (float x : {0.0f, -0.0f, 1.0f, -3.4e38f, 1e-45f}) {
    EXPECT_EQ(floatBits(roundTo(x, FloatFormat::F32)), floatBits(x));
    EXPECT_EQ(encode(x, FloatFormat::F32), floatBits(x));
  }
  EXPECT_EQ(roundTo(-kInf, FloatFormat::F32, Overflow::Saturate),
            -std::numeric_limits<float>::max());
  EXPECT_EQ(roundTo(kInf, FloatFormat::F32, Overflow::NonSaturating), kInf);
}

//===----------------------------------------------------------------------===//
// E8M0
//===----------------------------------------------------------------------===//

TEST(FloatFormatsTest, E8M0RoundingMatchesAPFloat) {
  const FloatFormat f = FloatFormat::F8E8M0FNU;
  for (int e = -127; e <= 126; ++e) {
    float low = std::ldexp(1.0f, e);
    // 1.5 * 2^e is the midpoint of 2^e and 2^(e+1).
    float midpoint = low * 1.5f;
    uint32_t lowCode = uint32_t(e + 127);
    for (Overflow overflow : kModes) {
      EXPECT_EQ(encode(low, f, overflow), lowCode);
      EXPECT_EQ(encode(midpoint, f, overflow), lowCode + 1) << midpoint;
      EXPECT_EQ(encode(std::nextafter(midpoint, 0.0f), f, overflow), lowCode);
    }
    EXPECT_EQ(oracleEncode(midpoint, f), lowCode + 1);
    EXPECT_EQ(oracleEncode(std::nextafter(midpoint, 0.0f), f), lowCode);
  }
}

TEST(FloatFormatsTest, E8M0SpecialInputs) {
  const FloatFormat f = FloatFormat::F8E8M0FNU;
  // No zero: 0, -0 and anything below 2^-127 give the smallest code, as in
  // APFloat. No sign: negative values are NaN (255), our documented choice
  // (APFloat gives 255 for -1 but the magnitude's code for some other
  // negative values, so it is no oracle there).
  for (float x : {0.0f, -0.0f, 1e-45f, 0x1p-128f}) {
    EXPECT_EQ(encode(x, f), 0u) << x;
    EXPECT_EQ(oracleEncode(x, f), 0u) << x;
  }
  for (float x : {-1.0f, -1e-30f, -3e37f, -kInf, kNaN, -kNaN})
    for (Overflow overflow : kModes)
      EXPECT_EQ(encode(x, f, overflow), 0xffu) << x;
  EXPECT_EQ(oracleEncode(-1.0f, f), 0xffu);
  EXPECT_EQ(oracleEncode(kNaN, f), 0xffu);
  // Overflow: 1.5 * 2^127 rounds to 2^128.
  EXPECT_EQ(encode(0x1.8p127f, f, Overflow::NonSaturating), 0xffu);
  EXPECT_EQ(oracleEncode(0x1.8p127f, f), 0xffu);
  EXPECT_EQ(encode(0x1.8p127f, f, Overflow::Saturate), 0xfeu);
  EXPECT_EQ(encode(kInf, f, Overflow::Saturate), 0xfeu);
  EXPECT_EQ(encode(kInf, f, Overflow::NonSaturating), 0xffu);
  EXPECT_EQ(encode(0x1.7p127f, f, Overflow::NonSaturating), 0xfeu);
}

//===----------------------------------------------------------------------===//
// Random inputs
//===----------------------------------------------------------------------===//

/// Random f32 values concentrated around a format's range: random sign,
/// exponent in [emin - mantissaBits - 3, emax + 3], random fraction bits.
std::vector<float> randomValuesAround(FloatFormat format, size_t n,
                                      uint32_t seed) {
  const FormatInfo &info = getFormatInfo(format);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> exponent(
      std::max(-149, info.emin - int(info.mantissaBits) - 3),
      std::min(127, info.emax + 3));
  std::uniform_int_distribution<uint32_t> fraction(0, (1u << 23) - 1);
  std::vector<float> values(n);
  for (float &value : values) {
    float magnitude =
        std::ldexp(1.0f + std::ldexp(float(fraction(rng)), -23), exponent(rng));
    value = (rng() & 1) ? -magnitude : magnitude;
  }
  return values;
}

/// Random f32 bit patterns (every class: NaN, Inf, subnormals, ...) plus
/// hand-picked special values.
std::vector<float> randomBitPatternsAndSpecials(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> values(n);
  for (float &value : values)
    value = floatFromBits(uint32_t(rng()));
  for (float special :
       {0.0f, -0.0f, kInf, -kInf, kNaN, -kNaN, 1.0f, -1.0f,
        std::numeric_limits<float>::max(), std::numeric_limits<float>::min(),
        std::numeric_limits<float>::denorm_min(), 448.0f, 464.0f, 465.0f,
        57344.0f, 61440.0f, 6.0f, 7.0f, 5.0f})
    values.push_back(special);
  values.push_back(floatFromBits(0x7f800001u)); // signalling NaN
  return values;
}

TEST(FloatFormatsTest, RandomValuesMatchAPFloat) {
  for (FloatFormat format : kAllFloatFormats) {
    if (format == FloatFormat::F32)
      continue;
    SCOPED_TRACE(nameOf(format));
    const FormatInfo &info = getFormatInfo(format);
    std::vector<float> values = randomValuesAround(format, 20000, 1234);
    std::vector<float> patterns = randomBitPatternsAndSpecials(20000, 99);
    values.insert(values.end(), patterns.begin(), patterns.end());
    for (float x : values) {
      // Where APFloat is no oracle: NaN and Inf into fp4/fp6 (it returns
      // code 0 for Inf), and negative values into E8M0 (inconsistent).
      if (std::isnan(x))
        continue;
      if (std::isinf(x) && !info.hasInf && !info.hasNaN)
        continue;
      if (format == FloatFormat::F8E8M0FNU && x < 0)
        continue;
      uint32_t expected = oracleEncode(x, format);
      EXPECT_EQ(encode(x, format, Overflow::NonSaturating), expected)
          << "x = " << x << " (0x" << std::hex << floatBits(x) << ")";
      // In range APFloat's result is also the saturating one; beyond it,
      // saturation gives +-max (E8M0: positive values only).
      bool inRange = std::fabs(x) <= info.maxNormal;
      uint32_t saturated =
          info.maxNormalCode | (std::signbit(x) ? signBitOf(format) : 0);
      EXPECT_EQ(encode(x, format, Overflow::Saturate),
                inRange ? expected : saturated)
          << "x = " << x << " (0x" << std::hex << floatBits(x) << ")";
    }
  }
}

TEST(FloatFormatsTest, ArrayRoundToEqualsScalarRoundTo) {
  for (FloatFormat format : kAllFloatFormats) {
    SCOPED_TRACE(nameOf(format));
    std::vector<float> in = randomValuesAround(format, 50000, 7);
    std::vector<float> patterns = randomBitPatternsAndSpecials(50000, 8);
    in.insert(in.end(), patterns.begin(), patterns.end());
    for (Overflow overflow : kModes) {
      SCOPED_TRACE(nameOf(overflow));
      std::vector<float> out(in.size());
      roundTo(in.data(), out.data(), in.size(), format, overflow);
      size_t mismatches = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        float scalar = roundTo(in[i], format, overflow);
        // Bitwise: NaNs too, since fakeQuantize relies on it.
        if (floatBits(scalar) != floatBits(out[i]) && ++mismatches <= 10)
          ADD_FAILURE() << "x = " << in[i] << " (0x" << std::hex
                        << floatBits(in[i]) << "): scalar 0x"
                        << floatBits(scalar) << ", array 0x"
                        << floatBits(out[i]);
      }
      EXPECT_EQ(mismatches, 0u);
      // In place.
      std::vector<float> inPlace = in;
      roundTo(inPlace.data(), inPlace.data(), inPlace.size(), format, overflow);
      EXPECT_EQ(0, std::memcmp(inPlace.data(), out.data(),
                               out.size() * sizeof(float)));
    }
  }
}

TEST(FloatFormatsTest, ArrayEncodeDecodeEqualsScalar) {
  for (FloatFormat format : kAllFloatFormats) {
    SCOPED_TRACE(nameOf(format));
    std::vector<float> in = randomValuesAround(format, 20000, 3);
    std::vector<float> patterns = randomBitPatternsAndSpecials(20000, 4);
    in.insert(in.end(), patterns.begin(), patterns.end());
    unsigned codeBytes = getCodeBytes(format);
    EXPECT_EQ(codeBytes, (getFormatInfo(format).bits + 7) / 8);
    for (Overflow overflow : kModes) {
      std::vector<uint8_t> codes(in.size() * codeBytes);
      encode(in.data(), codes.data(), in.size(), format, overflow);
      std::vector<float> decoded(in.size());
      decode(codes.data(), decoded.data(), in.size(), format);
      for (size_t i = 0; i < in.size(); ++i) {
        uint32_t code = 0;
        for (unsigned byte = 0; byte < codeBytes; ++byte)
          code |= uint32_t(codes[i * codeBytes + byte]) << (8 * byte);
        ASSERT_EQ(code, encode(in[i], format, overflow))
            << "x = " << in[i] << " (0x" << std::hex << floatBits(in[i]) << ")";
        ASSERT_EQ(floatBits(decoded[i]), floatBits(decode(code, format)));
      }
    }
  }
}

TEST(FloatFormatsTest, BF16RandomF32BitPatternsMatchAPFloat) {
  // bf16 shares f32's exponent range, so every f32 is in range: sweep a
  // dense stride over all 2^32 patterns.
  for (uint64_t bits = 0; bits < (1ull << 32); bits += 65521) {
    float x = floatFromBits(uint32_t(bits));
    if (std::isnan(x))
      continue;
    ASSERT_EQ(encode(x, FloatFormat::BF16, Overflow::NonSaturating),
              oracleEncode(x, FloatFormat::BF16))
        << std::hex << bits;
  }
}

TEST(FloatFormatsTest, MiniFloatRounderMatchesFreeFunctions) {
  for (FloatFormat format :
       {FloatFormat::F16, FloatFormat::F8E4M3FN, FloatFormat::F8E5M2,
        FloatFormat::F6E2M3FN, FloatFormat::F6E3M2FN, FloatFormat::F4E2M1FN}) {
    for (Overflow overflow : kModes) {
      MiniFloatRounder rounder(format, overflow);
      for (float x : randomBitPatternsAndSpecials(2000, 5)) {
        EXPECT_EQ(rounder.encode(x), encode(x, format, overflow));
        EXPECT_TRUE(sameFloat(roundTo(x, format, overflow), rounder.round(x)));
      }
    }
  }
}

TEST(FloatFormatsTest, NaNFreeFastPathsMatchRound) {
  // roundNotNaN/encodeNotNaN must agree with round/encode on every non-NaN
  // input for saturating rounders (block quantization relies on it).
  for (FloatFormat format :
       {FloatFormat::F16, FloatFormat::F8E4M3FN, FloatFormat::F8E5M2,
        FloatFormat::F6E2M3FN, FloatFormat::F6E3M2FN, FloatFormat::F4E2M1FN}) {
    SCOPED_TRACE(nameOf(format));
    MiniFloatRounder rounder(format, Overflow::Saturate);
    std::vector<float> values = randomValuesAround(format, 20000, 11);
    std::vector<float> patterns = randomBitPatternsAndSpecials(20000, 12);
    values.insert(values.end(), patterns.begin(), patterns.end());
    for (float x : values) {
      if (std::isnan(x))
        continue;
      ASSERT_EQ(floatBits(rounder.roundNotNaN(x)), floatBits(rounder.round(x)))
          << x;
      ASSERT_EQ(rounder.encodeNotNaN(x), rounder.encode(x)) << x;
    }
  }
}

} // namespace
