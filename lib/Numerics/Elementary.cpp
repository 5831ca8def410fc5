//===- Elementary.cpp - the reference's exponential -----------------------===//

#include "mixtile/Numerics/Elementary.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

using namespace mixtile::numerics;

float mixtile::numerics::exp(float x) {
  if (std::isnan(x))
    return x + x;
  if (x > kExpHigh)
    return std::numeric_limits<float>::infinity();
  if (x < kExpLow)
    return 0.0f;
  static constexpr std::array<double, kExpDegree + 1> coefficients =
      getExpCoefficients();
  double wide = x;
  // Ties to even in the default rounding mode, as roundeven.
  double k = std::nearbyint(wide * kInvLn2);
  double product = k * kLn2;
  double r = wide - product;
  double p = coefficients[kExpDegree];
  for (int n = kExpDegree - 1; n >= 0; --n) {
    double scaled = p * r;
    p = scaled + coefficients[n];
  }
  // 2^k, k in [-151, 129]: a normal double.
  uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(k) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return static_cast<float>(p * scale);
}
