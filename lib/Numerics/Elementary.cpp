//===- Elementary.cpp - the reference's exponential -----------------------===//

#include "mixtile/Numerics/Elementary.h"

#include "VectorClones.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

using namespace mixtile::numerics;

namespace {

/// numerics::exp without branches, so that the loop of the array form
/// vectorizes; every lane computes the finite formula and the limits are
/// selected afterwards, as the CPU back end's code does.
inline float expOf(float x) {
  static_assert(kExpDegree == 10, "Estrin's scheme below is for degree 10");
  static constexpr std::array<double, kExpDegree + 1> c = getExpCoefficients();
  // Clamped, so that the integer arithmetic below stays defined; the
  // results outside the limits are replaced at the end.
  float inRange = x < kExpLow ? kExpLow : (x > kExpHigh ? kExpHigh : x);
  double wide = inRange;
  // roundeven(x / ln 2): adding and subtracting 1.5 * 2^52 rounds to an
  // integer, ties to even (|x / ln 2| < 2^51); the sum's low bits are that
  // integer in two's complement.
  double shifted = wide * kInvLn2 + kRoundingShift;
  double k = shifted - kRoundingShift;
  double r = wide - k * kLn2;
  // Estrin's scheme (Elementary.h), each line one operation at a time.
  double r2 = r * r;
  double r4 = r2 * r2;
  double r8 = r4 * r4;
  double p01 = c[1] * r + c[0];
  double p23 = c[3] * r + c[2];
  double p45 = c[5] * r + c[4];
  double p67 = c[7] * r + c[6];
  double p89 = c[9] * r + c[8];
  double p03 = p23 * r2 + p01;
  double p47 = p67 * r2 + p45;
  double p810 = c[10] * r2 + p89;
  double p07 = p47 * r4 + p03;
  double p = p810 * r8 + p07;
  // 2^k, k in [-151, 129]: a normal double, from the low bits of `shifted`
  // (the bits above the exponent field shift out).
  uint64_t kBits;
  std::memcpy(&kBits, &shifted, sizeof(kBits));
  uint64_t scaleBits = (kBits + 1023) << 52;
  double scale;
  std::memcpy(&scale, &scaleBits, sizeof(scale));
  float y = static_cast<float>(p * scale);
  y = x < kExpLow ? 0.0f : y;
  y = x > kExpHigh ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x + x : y;
}

} // namespace

float mixtile::numerics::exp(float x) { return expOf(x); }

MIXTILE_VECTOR_CLONES
void mixtile::numerics::exp(float *values, size_t count) {
  for (size_t i = 0; i < count; ++i)
    values[i] = expOf(values[i]);
}
