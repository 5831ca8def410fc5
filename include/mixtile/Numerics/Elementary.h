//===- Elementary.h - the reference's exponential ---------------*- C++ -*-===//
//
// The exponential every Mixtile implementation evaluates: the evaluator,
// the Maia simulator's functional mode, and the CPU back end's generated
// code (which evaluates the same operations vectorized). It is defined
// here, not taken from libm, so that the results are the same on every C
// library, and so that compiled code can reproduce them without calls.
//
// exp(x) for a finite x in [kExpLow, kExpHigh]: in double precision, k =
// roundeven(x / ln 2), r = x - k * ln 2 (|r| <= ln 2 / 2 + tiny), e^r by
// its Taylor polynomial of degree kExpDegree (relative error below 1e-12)
// in Estrin's scheme, times 2^k, rounded once to float. Estrin's scheme:
//   r2 = r * r, r4 = r2 * r2, r8 = r4 * r4,
//   pij = c[j] * r + c[i] for (i, j) = (0, 1), (2, 3), ..., (8, 9),
//   p03 = p23 * r2 + p01, p47 = p67 * r2 + p45, p810 = c[10] * r2 + p89,
//   p07 = p47 * r4 + p03, p = p810 * r8 + p07,
// whose longest chain is 6 operations (Horner's would be 20: the scalar
// evaluator waits on it). Each step is one IEEE double operation in the
// order written, a * b + c a multiply then an add, never fused.
// Outside: NaN gives x + x, x > kExpHigh gives +inf and x < kExpLow +0.
// Against a correctly rounded exp the result is off by at most 1 ulp, and
// only where the exact value lies within about 1e-12 of a midpoint between
// two floats (ExpTest counts them).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_NUMERICS_ELEMENTARY_H
#define MIXTILE_NUMERICS_ELEMENTARY_H

#include <array>
#include <cstddef>

namespace mixtile::numerics {

/// Above kExpHigh exp overflows (e^88.8 > FLT_MAX; from ln(FLT_MAX) ~=
/// 88.7228 up to here the rounding to float gives +inf); below kExpLow it
/// is +0 (e^-104 is below half the smallest subnormal, 2^-150).
constexpr float kExpHigh = 88.8f;
constexpr float kExpLow = -104.0f;

constexpr double kLn2 = 0x1.62e42fefa39efp-1;
constexpr double kInvLn2 = 0x1.71547652b82fep+0;
/// 1.5 * 2^52: x + kRoundingShift - kRoundingShift is x rounded to an
/// integer, ties to even, for |x| < 2^51.
constexpr double kRoundingShift = 0x1.8p52;
constexpr int kExpDegree = 10; // Estrin's scheme below assumes it.

/// 1 / n! for n = 0..kExpDegree.
constexpr std::array<double, kExpDegree + 1> getExpCoefficients() {
  std::array<double, kExpDegree + 1> c{};
  double term = 1.0;
  for (int n = 0; n <= kExpDegree; ++n) {
    if (n > 0)
      term /= n;
    c[n] = term;
  }
  return c;
}

/// e^x as defined above.
float exp(float x);

/// Replaces each of `count` values by its exp (the same results; the loop
/// is vectorized).
void exp(float *values, size_t count);

} // namespace mixtile::numerics

#endif // MIXTILE_NUMERICS_ELEMENTARY_H
