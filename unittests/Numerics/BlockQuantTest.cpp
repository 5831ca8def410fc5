//===- BlockQuantTest.cpp - MX, NVFP4 and per-tensor scheme tests ---------===//
//
// Worked examples derived by hand from the OCP MX v1.0 and NVFP4 (NVIDIA
// TensorRT-Model-Optimizer) definitions, an independent APFloat-based
// reference on random data, and fakeQuantize == dequantize(quantize) bit for
// bit.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/BlockQuant.h"

#include "llvm/ADT/APFloat.h"

#include "gtest/gtest.h"

#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace mixtile::numerics;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

QuantScheme schemeNamed(std::string_view name) {
  std::optional<QuantScheme> scheme = parseQuantScheme(name);
  EXPECT_TRUE(scheme.has_value()) << name;
  return scheme.value_or(QuantScheme{});
}

QuantScheme schemeNamed(std::string_view name, unsigned blockSize) {
  std::optional<QuantScheme> scheme =
      withBlockSize(schemeNamed(name), blockSize);
  EXPECT_TRUE(scheme.has_value()) << name << " block " << blockSize;
  return scheme.value_or(QuantScheme{});
}

std::vector<float> fakeQuantized(const std::vector<float> &in, size_t rows,
                                 size_t cols, const QuantScheme &scheme) {
  std::vector<float> out(in.size());
  fakeQuantize(in.data(), out.data(), rows, cols, scheme);
  return out;
}

std::vector<float> dequantized(const QuantizedMatrix &q) {
  std::vector<float> out(q.rows * q.cols);
  dequantize(q, out.data());
  return out;
}

/// True if both arrays hold the same bit patterns (NaN payloads included).
::testing::AssertionResult bitIdentical(const std::vector<float> &a,
                                        const std::vector<float> &b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "sizes differ";
  for (size_t i = 0; i < a.size(); ++i)
    if (floatBits(a[i]) != floatBits(b[i]))
      return ::testing::AssertionFailure()
             << "index " << i << ": " << a[i] << " vs " << b[i];
  return ::testing::AssertionSuccess();
}

/// Checks that the real and the fake path both give `expected` at `index`
/// (bitwise, so signed zeros count; any NaN matches NaN).
void expectValueAt(const std::vector<float> &fake,
                   const std::vector<float> &real, size_t index,
                   float expected) {
  for (const std::vector<float> *values : {&fake, &real}) {
    float actual = (*values)[index];
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(actual)) << "index " << index;
      continue;
    }
    EXPECT_EQ(floatBits(actual), floatBits(expected))
        << "index " << index << ": expected " << expected << ", got " << actual;
  }
}

//===----------------------------------------------------------------------===//
// Scheme parsing and block rules
//===----------------------------------------------------------------------===//

TEST(BlockQuantTest, ParsesEverySchemeName) {
  struct Expected {
    std::string_view name;
    FloatFormat element;
    ScaleKind scale;
    unsigned blockSize;
  };
  const Expected expected[] = {
      {"mxfp4", FloatFormat::F4E2M1FN, ScaleKind::BlockE8M0, 32},
      {"mxfp6-e2m3", FloatFormat::F6E2M3FN, ScaleKind::BlockE8M0, 32},
      {"mxfp6-e3m2", FloatFormat::F6E3M2FN, ScaleKind::BlockE8M0, 32},
      {"mxfp8-e4m3", FloatFormat::F8E4M3FN, ScaleKind::BlockE8M0, 32},
      {"mxfp8-e5m2", FloatFormat::F8E5M2, ScaleKind::BlockE8M0, 32},
      {"nvfp4", FloatFormat::F4E2M1FN, ScaleKind::BlockE4M3WithTensorF32, 16},
      {"fp8-e4m3", FloatFormat::F8E4M3FN, ScaleKind::TensorF32, 0},
      {"fp8-e5m2", FloatFormat::F8E5M2, ScaleKind::TensorF32, 0},
      {"bf16", FloatFormat::BF16, ScaleKind::None, 0},
  };
  ASSERT_EQ(std::size(expected), std::size(kQuantSchemeNames));
  for (size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(kQuantSchemeNames[i], expected[i].name);
    std::optional<QuantScheme> scheme = parseQuantScheme(expected[i].name);
    ASSERT_TRUE(scheme.has_value()) << expected[i].name;
    EXPECT_EQ(scheme->name, expected[i].name);
    EXPECT_EQ(scheme->element, expected[i].element);
    EXPECT_EQ(scheme->scale, expected[i].scale);
    EXPECT_EQ(scheme->blockSize, expected[i].blockSize);
  }
  for (std::string_view bad : {"", "MXFP4", "mxfp6", "fp8", "nvfp4 ", "f32",
                               "fp4", "mxfp8-e4m3fn", "int8"})
    EXPECT_FALSE(parseQuantScheme(bad).has_value()) << bad;
}

TEST(BlockQuantTest, BlockSizeRule) {
  QuantScheme mx = schemeNamed("mxfp4");
  QuantScheme nv = schemeNamed("nvfp4");
  for (unsigned valid : {2u, 4u, 16u, 32u, 64u, 1024u, 1u << 20}) {
    EXPECT_TRUE(isValidBlockSize(mx, valid)) << valid;
    EXPECT_TRUE(isValidBlockSize(nv, valid)) << valid;
    std::optional<QuantScheme> changed = withBlockSize(mx, valid);
    ASSERT_TRUE(changed.has_value());
    EXPECT_EQ(changed->blockSize, valid);
    EXPECT_EQ(changed->element, mx.element);
  }
  for (unsigned invalid : {0u, 1u, 3u, 6u, 24u, 48u, 100u, 0xffffffffu}) {
    EXPECT_FALSE(isValidBlockSize(mx, invalid)) << invalid;
    EXPECT_FALSE(withBlockSize(nv, invalid).has_value()) << invalid;
  }
  for (std::string_view name : {"fp8-e4m3", "fp8-e5m2", "bf16"}) {
    EXPECT_FALSE(hasBlockScales(schemeNamed(name)));
    EXPECT_FALSE(withBlockSize(schemeNamed(name), 32).has_value()) << name;
  }
}

TEST(BlockQuantTest, BlocksPerRowCountsThePartialBlock) {
  QuantScheme mx = schemeNamed("mxfp4");
  EXPECT_EQ(getBlocksPerRow(mx, 172), 6u); // 5 * 32 + 12
  EXPECT_EQ(getBlocksPerRow(mx, 160), 5u);
  EXPECT_EQ(getBlocksPerRow(mx, 1), 1u);
  EXPECT_EQ(getBlocksPerRow(mx, 0), 0u);
  EXPECT_EQ(getBlocksPerRow(schemeNamed("nvfp4"), 20), 2u);
  EXPECT_EQ(getBlocksPerRow(schemeNamed("fp8-e4m3"), 20), 0u);
  EXPECT_EQ(getBlockScaleFormat(mx), FloatFormat::F8E8M0FNU);
  EXPECT_EQ(getBlockScaleFormat(schemeNamed("nvfp4")), FloatFormat::F8E4M3FN);
}

//===----------------------------------------------------------------------===//
// OCP MX worked examples
//===----------------------------------------------------------------------===//

TEST(BlockQuantTest, MXScaleExponentByHand) {
  // s = floor(log2(amax)) - emax_elem, clamped to [-127, 127].
  // E2M1 (emax 2): amax 5 = 1.25 * 2^2 -> 2 - 2 = 0; amax 15 -> 3 - 2 = 1.
  EXPECT_EQ(computeMXScaleExponent(5.0f, FloatFormat::F4E2M1FN), 0);
  EXPECT_EQ(computeMXScaleExponent(15.0f, FloatFormat::F4E2M1FN), 1);
  // E4M3 (emax 8): amax 1 -> -8; E5M2 (emax 15): amax 1 -> -15.
  EXPECT_EQ(computeMXScaleExponent(1.0f, FloatFormat::F8E4M3FN), -8);
  EXPECT_EQ(computeMXScaleExponent(1.0f, FloatFormat::F8E5M2), -15);
  // E3M2 (emax 4): amax 30 = 1.875 * 2^4 -> 0. E2M3 (emax 2): 0.1 =
  // 1.6 * 2^-4 -> -6.
  EXPECT_EQ(computeMXScaleExponent(30.0f, FloatFormat::F6E3M2FN), 0);
  EXPECT_EQ(computeMXScaleExponent(0.1f, FloatFormat::F6E2M3FN), -6);
  // Clamping: 2^-120 with E4M3 gives -128 -> -127; 0 (log2 = -inf) and f32
  // subnormals clamp the same way. The largest f32 gives 127 - 2 = 125: the
  // upper clamp cannot trigger for elements with emax >= 0.
  EXPECT_EQ(computeMXScaleExponent(0x1p-120f, FloatFormat::F8E4M3FN), -127);
  EXPECT_EQ(computeMXScaleExponent(0.0f, FloatFormat::F4E2M1FN), -127);
  EXPECT_EQ(computeMXScaleExponent(0x1p-140f, FloatFormat::F4E2M1FN), -127);
  EXPECT_EQ(computeMXScaleExponent(0x1p-124f, FloatFormat::F4E2M1FN), -126);
  EXPECT_EQ(computeMXScaleExponent(std::numeric_limits<float>::max(),
                                   FloatFormat::F4E2M1FN),
            125);
}

/// MXFP4 on a 2 x 172 matrix: six blocks per row, the last one 12 wide.
///
/// Row 0:
///  block 0 (cols 0..31): 5, -0.25, 0.75, rest 0. amax 5 -> s = 2 - 2 = 0,
///    X = 1, scale code 127. 5 is the tie of 4 (code 6) and 6 (code 7) ->
///    4; -0.25 ties 0 and 0.5 -> -0 (sign kept); 0.75 ties 0.5 (code 1) and
///    1 (code 2) -> 1.
///  block 1 (cols 32..63): all zero -> scale code 0 (documented), all +0.
///  block 2 (cols 64..95): 15, 1, 0.4. amax 15 -> s = 1, X = 2, code 128.
///    15 / 2 = 7.5 rounds to 8, above max 6 -> clamps to 6 -> 12;
///    1 / 2 = 0.5 -> 1; 0.4 / 2 = 0.2 < 0.25 -> 0.
///  block 3 (cols 96..127): NaN at 96, 1 at 97 -> scale 0xFF, all NaN.
///  block 4 (cols 128..159): -Inf at 128 -> scale 0xFF, all NaN.
///  block 5 (cols 160..171, partial): 0.1, -0.03. amax 0.1 = 1.6 * 2^-4 ->
///    s = -6, code 121, X = 1/64. 0.1 * 64 = 6.4 -> 6 -> 6/64 = 0.09375;
///    -0.03 * 64 = -1.92 -> -2 -> -0.03125.
/// Row 1:
///  block 0: 100, 3, 5. amax 100 = 1.5625 * 2^6 -> s = 4, X = 16, code 131.
///    100/16 = 6.25 -> 6 -> 96; 3/16 = 0.1875 -> 0; 5/16 = 0.3125 -> 0.5
///    -> 8.
///  blocks 1..4: zero.
///  block 5 (partial): 1e-30 = 1.2676506 * 2^-100 -> s = -102, code 25;
///    1e-30 * 2^102 = 5.07 -> 6 (past the tie 5) -> 6 * 2^-102.
TEST(BlockQuantTest, MXFP4WorkedExampleWithPartialBlock) {
  const size_t rows = 2, cols = 172;
  std::vector<float> in(rows * cols, 0.0f);
  float *row0 = in.data(), *row1 = in.data() + cols;
  row0[0] = 5.0f, row0[1] = -0.25f, row0[2] = 0.75f;
  row0[64] = 15.0f, row0[65] = 1.0f, row0[66] = 0.4f;
  row0[96] = kNaN, row0[97] = 1.0f;
  row0[128] = -kInf;
  row0[160] = 0.1f, row0[171] = -0.03f;
  row1[0] = 100.0f, row1[1] = 3.0f, row1[2] = 5.0f;
  row1[160] = 1e-30f;

  QuantScheme scheme = schemeNamed("mxfp4");
  QuantizedMatrix q = quantize(in.data(), rows, cols, scheme);
  ASSERT_EQ(q.blockScales.size(), 12u);
  const uint8_t expectedScales[] = {127, 0, 128, 0xff, 0xff, 121,
                                    131, 0, 0,   0,    0,    25};
  for (size_t b = 0; b < 12; ++b)
    EXPECT_EQ(q.blockScales[b], expectedScales[b]) << "block " << b;
  // E2M1 codes: 4 = 0b0110, -0 = 0b1000, 1 = 0b0010, 6 = 0b0111.
  EXPECT_EQ(q.codes[0], 0x6);
  EXPECT_EQ(q.codes[1], 0x8);
  EXPECT_EQ(q.codes[2], 0x2);
  EXPECT_EQ(q.codes[64], 0x7);
  EXPECT_EQ(q.codes[171], 0xc); // -2 = 1.100
  EXPECT_EQ(q.codes[96], 0x0);  // NaN blocks store code 0.
  EXPECT_EQ(q.codes[97], 0x0);

  std::vector<float> fake = fakeQuantized(in, rows, cols, scheme);
  std::vector<float> real = dequantized(q);
  const float minusZero = -0.0f;
  expectValueAt(fake, real, 0, 4.0f);
  expectValueAt(fake, real, 1, minusZero);
  expectValueAt(fake, real, 2, 1.0f);
  expectValueAt(fake, real, 3, 0.0f);
  for (size_t c = 32; c < 64; ++c)
    expectValueAt(fake, real, c, 0.0f);
  expectValueAt(fake, real, 64, 12.0f);
  expectValueAt(fake, real, 65, 1.0f);
  expectValueAt(fake, real, 66, 0.0f);
  for (size_t c = 96; c < 160; ++c)
    expectValueAt(fake, real, c, kNaN);
  expectValueAt(fake, real, 160, 0.09375f);
  expectValueAt(fake, real, 161, 0.0f);
  expectValueAt(fake, real, 171, -0.03125f);
  expectValueAt(fake, real, cols + 0, 96.0f);
  expectValueAt(fake, real, cols + 1, 0.0f);
  expectValueAt(fake, real, cols + 2, 8.0f);
  expectValueAt(fake, real, cols + 160, std::ldexp(6.0f, -102));
  expectValueAt(fake, real, cols + 171, 0.0f);
}

/// The other MX element formats, one block each (cols = 4 with block 32 is a
/// single partial block).
TEST(BlockQuantTest, MXElementFormatsByHand) {
  struct Case {
    const char *scheme;
    std::vector<float> in;
    uint8_t scaleCode;
    std::vector<float> expected;
  };
  const Case cases[] = {
      // E2M3 (emax 2, max 7.5): amax 7.9 -> s = 0. 7.9 lies in [4, 8) with
      // step 0.5, rounds to 8 and clamps to 7.5; 1.0625 ties 1 (mantissa
      // 000) and 1.125 (001) -> 1; 0.0625 ties 0 and 0.125 (min subnormal)
      // -> 0; -3.3 -> -3.25 (step 0.25 in [2, 4)).
      {"mxfp6-e2m3",
       {7.9f, 1.0625f, 0.0625f, -3.3f},
       127,
       {7.5f, 1.0f, 0.0f, -3.25f}},
      // E3M2 (emax 4, max 28): amax 30 -> s = 0. 30 ties 28 (1.11b * 2^4,
      // odd) and 32 (even) -> 32 -> clamps to 28; 0.03125 ties 0 and 0.0625
      // -> 0; 5.5 ties 5 (1.01b * 2^2) and 6 (1.10b) -> 6.
      {"mxfp6-e3m2",
       {30.0f, 0.03125f, 5.5f, -1.0f},
       127,
       {28.0f, 0.0f, 6.0f, -1.0f}},
      // E4M3 (emax 8, max 448): amax 500 -> s = 0. 500 in [256, 512) step
      // 32: 480 or 512 -> 512, above 448 -> clamps to 448; 100 in [64, 128)
      // step 8 -> 96 or 104: 100 is the tie, 96 = 1.100b (even) -> 96.
      {"mxfp8-e4m3",
       {500.0f, 100.0f, -0.5f, 0.0f},
       127,
       {448.0f, 96.0f, -0.5f, 0.0f}},
      // E5M2 (emax 15): amax 1 -> s = -15, X = 2^-15, code 112. 0.3 * 2^15 =
      // 9830.4, in [8192, 16384) step 2048 -> 10240 -> 0.3125; 1 -> 2^15
      // exact; -0.05 * 2^15 = -1638.4 in [1024, 2048) step 256 -> -1536 ->
      // -0.046875.
      {"mxfp8-e5m2",
       {0.3f, 1.0f, -0.05f, 0.0f},
       112,
       {0.3125f, 1.0f, -0.046875f, 0.0f}},
      // E8M0 clamping with E4M3: amax 2^-120 -> s = -128 clamps to -127
      // (code 0). 2^-120 * 2^127 = 128 (exact); 2^-125 -> 4; 1.5 * 2^-130
      // -> 0.1875 = 1.5 * 2^-3 (a normal E4M3) -> back to 1.5 * 2^-130.
      {"mxfp8-e4m3",
       {0x1p-120f, 0x1p-125f, 0x1.8p-130f, -0x1p-121f},
       0,
       {0x1p-120f, 0x1p-125f, 0x1.8p-130f, -0x1p-121f}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.scheme);
    QuantScheme scheme = schemeNamed(c.scheme);
    QuantizedMatrix q = quantize(c.in.data(), 1, c.in.size(), scheme);
    ASSERT_EQ(q.blockScales.size(), 1u);
    EXPECT_EQ(q.blockScales[0], c.scaleCode);
    std::vector<float> fake = fakeQuantized(c.in, 1, c.in.size(), scheme);
    std::vector<float> real = dequantized(q);
    for (size_t i = 0; i < c.expected.size(); ++i)
      expectValueAt(fake, real, i, c.expected[i]);
  }
}

TEST(BlockQuantTest, MXClampedScaleElementCodesByHand) {
  // From the last case above: 128 = 1.000b * 2^7 -> E4M3 (7 + 7) << 3 =
  // 0x70; 4 = 2^2 -> (2 + 7) << 3 = 0x48; 0.1875 = 1.1b * 2^-3 -> exponent
  // field 4, mantissa 100 -> 0x24.
  const float in[] = {0x1p-120f, 0x1p-125f, 0x1.8p-130f};
  QuantizedMatrix q = quantize(in, 1, 3, schemeNamed("mxfp8-e4m3"));
  EXPECT_EQ(q.codes[0], 0x70);
  EXPECT_EQ(q.codes[1], 0x48);
  EXPECT_EQ(q.codes[2], 0x24);
}

TEST(BlockQuantTest, MXConfigurableBlockSize) {
  // Block 2 over [8, 1, 0.5, 0.25]: block (8, 1) has s = 3 - 2 = 1, X = 2:
  // 4 -> 4 -> 8, 0.5 -> 0.5 -> 1. Block (0.5, 0.25): amax 0.5 = 2^-1 ->
  // s = -3, X = 1/8: 4 -> 0.5, 2 -> 0.25. With the default block 32 the
  // single scale X = 2 gives 0.5 / 2 = 0.25, the tie of 0 and 0.5, which
  // goes to the even 0, and 0.25 / 2 = 0.125 -> 0.
  const std::vector<float> in = {8.0f, 1.0f, 0.5f, 0.25f};
  QuantScheme block2 = schemeNamed("mxfp4", 2);
  QuantizedMatrix q = quantize(in.data(), 1, 4, block2);
  ASSERT_EQ(q.blockScales.size(), 2u);
  EXPECT_EQ(q.blockScales[0], 128);
  EXPECT_EQ(q.blockScales[1], 124);
  std::vector<float> fake = fakeQuantized(in, 1, 4, block2);
  std::vector<float> real = dequantized(q);
  for (size_t i = 0; i < 4; ++i)
    expectValueAt(fake, real, i, in[i]);
  std::vector<float> wide = fakeQuantized(in, 1, 4, schemeNamed("mxfp4"));
  EXPECT_EQ(wide[0], 8.0f);
  EXPECT_EQ(wide[2], 0.0f);
  EXPECT_EQ(wide[3], 0.0f);
}

//===----------------------------------------------------------------------===//
// NVFP4 worked examples
//===----------------------------------------------------------------------===//

/// One row of 20 columns: a block of 16 and a partial block of 4.
/// Tensor amax 2688 -> global = 2688 / (6 * 448) = 1.
///  block 0: 2688, 1000, -300. s = 2688 / 6 = 448 -> E4M3 448 (0x7E),
///    divisor 448: 2688/448 = 6 -> 2688; 1000/448 = 2.23 -> 2 -> 896;
///    -300/448 = -0.67 -> -0.5 (below the tie 0.75) -> -224.
///  block 1 (partial, cols 16..19): 10, 3, 0.5, -0.001. s = 10/6 = 1.667;
///    E4M3 in [1, 2) has step 0.125: 1.625 (diff .042) beats 1.75 -> code
///    0.0111.101 = 0x3D. 10 / 1.625 = 6.15 -> clamps to 6 -> 9.75;
///    3 / 1.625 = 1.85 -> 2 -> 3.25; 0.5 / 1.625 = 0.31 -> 0.5 -> 0.8125;
///    -0.001 / 1.625 -> -0 -> -0.
TEST(BlockQuantTest, NVFP4WorkedExample) {
  std::vector<float> in(20, 0.0f);
  in[0] = 2688.0f, in[1] = 1000.0f, in[2] = -300.0f;
  in[16] = 10.0f, in[17] = 3.0f, in[18] = 0.5f, in[19] = -0.001f;
  QuantScheme scheme = schemeNamed("nvfp4");
  QuantizedMatrix q = quantize(in.data(), 1, 20, scheme);
  EXPECT_EQ(q.tensorScale, 1.0f);
  ASSERT_EQ(q.blockScales.size(), 2u);
  EXPECT_EQ(q.blockScales[0], 0x7e);
  EXPECT_EQ(q.blockScales[1], 0x3d);
  std::vector<float> fake = fakeQuantized(in, 1, 20, scheme);
  std::vector<float> real = dequantized(q);
  const float expected[20] = {2688, 896, -224,  0,     0,       0,    0,
                              0,    0,   0,     0,     0,       0,    0,
                              0,    0,   9.75f, 3.25f, 0.8125f, -0.0f};
  for (size_t i = 0; i < 20; ++i)
    expectValueAt(fake, real, i, expected[i]);
}

/// Tensor amax 1 -> global g = fl(1 / 2688). Block amax 1 -> s = 1 / (6g),
/// within an ulp of 448 -> E4M3 448. Elements: 1 / (448 g) ~= 6.0 -> 6;
/// 0.25 / (448 g) ~= 1.5 -> 1.5 (1.5 is exactly representable and the
/// f32 error is far below the distance to the ties 1.25 and 1.75).
/// dequant = (e * 448) * g.
TEST(BlockQuantTest, NVFP4NonUnitTensorScale) {
  const std::vector<float> in = {1.0f, 0.25f, -0.5f, 0.0f};
  QuantScheme scheme = schemeNamed("nvfp4");
  QuantizedMatrix q = quantize(in.data(), 1, 4, scheme);
  const float g = 1.0f / 2688.0f;
  EXPECT_EQ(q.tensorScale, g);
  ASSERT_EQ(q.blockScales.size(), 1u);
  EXPECT_EQ(q.blockScales[0], 0x7e);
  std::vector<float> fake = fakeQuantized(in, 1, 4, scheme);
  std::vector<float> real = dequantized(q);
  expectValueAt(fake, real, 0, (6.0f * 448.0f) * g);
  expectValueAt(fake, real, 1, (1.5f * 448.0f) * g);
  // -0.5 / (448 g) ~= -3 -> -3.
  expectValueAt(fake, real, 2, (-3.0f * 448.0f) * g);
  expectValueAt(fake, real, 3, 0.0f);
}

TEST(BlockQuantTest, NVFP4ZeroAndTinyBlocksUseScaleOne) {
  // global = 1 (amax 2688 in block 0). Block 1 (cols 16..31) is zero: s = 0
  // encodes to code 0, replaced by 1.0 = 0x38. Block 2: amax 0.001 -> s =
  // 1.7e-4, below half the smallest E4M3 subnormal (2^-10), code 0 -> 1.0;
  // 0.001 / 1 rounds to 0 in E2M1.
  std::vector<float> in(48, 0.0f);
  in[0] = 2688.0f;
  in[32] = 0.001f;
  in[33] = -0.001f;
  QuantizedMatrix q = quantize(in.data(), 1, 48, schemeNamed("nvfp4"));
  ASSERT_EQ(q.blockScales.size(), 3u);
  EXPECT_EQ(q.blockScales[1], 0x38);
  EXPECT_EQ(q.blockScales[2], 0x38);
  std::vector<float> real = dequantized(q);
  std::vector<float> fake = fakeQuantized(in, 1, 48, schemeNamed("nvfp4"));
  expectValueAt(fake, real, 32, 0.0f);
  expectValueAt(fake, real, 33, -0.0f);
}

TEST(BlockQuantTest, NVFP4AllZeroTensorHasUnitGlobalScale) {
  const std::vector<float> in(40, 0.0f);
  QuantizedMatrix q = quantize(in.data(), 2, 20, schemeNamed("nvfp4"));
  EXPECT_EQ(q.tensorScale, 1.0f);
  for (uint8_t code : q.blockScales)
    EXPECT_EQ(code, 0x38);
  for (float x : dequantized(q))
    EXPECT_EQ(floatBits(x), 0u);
  EXPECT_EQ(computeNVFP4TensorScale(0.0f), 1.0f);
  EXPECT_EQ(computeNVFP4TensorScale(2688.0f), 1.0f);
  // Below 6 * 448 * FLT_MIN the division would not give a normal scale.
  EXPECT_EQ(computeNVFP4TensorScale(1e-36f), 1.0f);
}

TEST(BlockQuantTest, NVFP4NonFiniteBlocksAreNaNAndIgnoredByTheTensorAmax) {
  // Block 0 holds Inf, block 1 NaN; the tensor amax over finite values is
  // 2688 (block 2), so global = 1 and block 2 quantizes as usual.
  std::vector<float> in(48, 1.0f);
  in[3] = kInf;
  in[20] = kNaN;
  in[32] = 2688.0f;
  QuantizedMatrix q = quantize(in.data(), 1, 48, schemeNamed("nvfp4"));
  EXPECT_EQ(q.tensorScale, 1.0f);
  EXPECT_EQ(q.blockScales[0], 0x7f);
  EXPECT_EQ(q.blockScales[1], 0x7f);
  EXPECT_EQ(q.blockScales[2], 0x7e);
  std::vector<float> real = dequantized(q);
  std::vector<float> fake = fakeQuantized(in, 1, 48, schemeNamed("nvfp4"));
  for (size_t i = 0; i < 32; ++i)
    expectValueAt(fake, real, i, kNaN);
  expectValueAt(fake, real, 32, 2688.0f);
  // 1 / 448 = 0.0022 -> 0.
  expectValueAt(fake, real, 33, 0.0f);
}

TEST(BlockQuantTest, NVFP4BlockScaleCodeByHand) {
  // s = amax / (6 * global): 6 / 6 = 1 -> 0x38; 27 / 6 = 4.5 = 1.001b * 2^2
  // -> (2 + 7) << 3 | 1 = 0x49; 3000 / 6 = 500 > 448 saturates to 0x7E.
  EXPECT_EQ(computeNVFP4BlockScaleCode(6.0f, 1.0f), 0x38);
  EXPECT_EQ(computeNVFP4BlockScaleCode(27.0f, 1.0f), 0x49);
  EXPECT_EQ(computeNVFP4BlockScaleCode(3000.0f, 1.0f), 0x7e);
  EXPECT_EQ(computeNVFP4BlockScaleCode(0.0f, 1.0f), 0x38);
}

//===----------------------------------------------------------------------===//
// Per-tensor FP8 and bf16
//===----------------------------------------------------------------------===//

TEST(BlockQuantTest, PerTensorFP8ByHand) {
  // fp8-e4m3: amax 896 -> scale 896 / 448 = 2. 896 / 2 = 448 -> 896;
  // 100 / 2 = 50 ties 48 (1.100b * 2^5, even) and 52 -> 48 -> 96; -3 / 2 =
  // -1.5 exact -> -3; Inf saturates to 448 -> 896; NaN stays NaN.
  const std::vector<float> in = {896.0f, 100.0f, -3.0f, 0.0f, kInf, kNaN};
  QuantScheme e4m3 = schemeNamed("fp8-e4m3");
  QuantizedMatrix q = quantize(in.data(), 2, 3, e4m3);
  EXPECT_EQ(q.tensorScale, 2.0f);
  EXPECT_TRUE(q.blockScales.empty());
  std::vector<float> fake = fakeQuantized(in, 2, 3, e4m3);
  std::vector<float> real = dequantized(q);
  const float expected[] = {896.0f, 96.0f, -3.0f, 0.0f, 896.0f, kNaN};
  for (size_t i = 0; i < std::size(expected); ++i)
    expectValueAt(fake, real, i, expected[i]);

  // fp8-e5m2: amax 4 * 57344 -> scale 4. 1000 / 4 = 250 in [128, 256) step
  // 32 -> 256 -> 1024; 57344 * 4 -> 57344 * 4.
  const std::vector<float> in2 = {4 * 57344.0f, 1000.0f, -0.0f};
  QuantScheme e5m2 = schemeNamed("fp8-e5m2");
  QuantizedMatrix q2 = quantize(in2.data(), 1, 3, e5m2);
  EXPECT_EQ(q2.tensorScale, 4.0f);
  std::vector<float> fake2 = fakeQuantized(in2, 1, 3, e5m2);
  std::vector<float> real2 = dequantized(q2);
  expectValueAt(fake2, real2, 0, 4 * 57344.0f);
  expectValueAt(fake2, real2, 1, 1024.0f);
  expectValueAt(fake2, real2, 2, -0.0f);

  // All zero: scale 1.
  const std::vector<float> zeros(5, 0.0f);
  EXPECT_EQ(quantize(zeros.data(), 1, 5, e4m3).tensorScale, 1.0f);
  EXPECT_EQ(computeFP8TensorScale(0.0f, FloatFormat::F8E5M2), 1.0f);
}

TEST(BlockQuantTest, BF16ByHand) {
  // 1 + 2^-8 ties 1 and 1 + 2^-7 -> 1 (even); 1 + 3 * 2^-8 ties 1 + 2^-7
  // (odd) and 1 + 2^-6 -> 1 + 2^-6. FLT_MAX rounds up to Inf (no
  // saturation, like a cast). Codes: 1.0 = 0x3F80.
  const std::vector<float> in = {1.00390625f, 1.01171875f,
                                 std::numeric_limits<float>::max(), -2.0f};
  QuantScheme scheme = schemeNamed("bf16");
  QuantizedMatrix q = quantize(in.data(), 1, 4, scheme);
  ASSERT_EQ(q.codes.size(), 8u);
  EXPECT_EQ(q.codes[0], 0x80);
  EXPECT_EQ(q.codes[1], 0x3f);
  EXPECT_EQ(q.codes[6], 0x00); // -2 = 0xC000
  EXPECT_EQ(q.codes[7], 0xc0);
  std::vector<float> fake = fakeQuantized(in, 1, 4, scheme);
  std::vector<float> real = dequantized(q);
  expectValueAt(fake, real, 0, 1.0f);
  expectValueAt(fake, real, 1, 1.015625f);
  expectValueAt(fake, real, 2, kInf);
  expectValueAt(fake, real, 3, -2.0f);
}

TEST(BlockQuantTest, UnscaledSchemesWithOtherElementFormats) {
  // ScaleKind::None rounds like a cast in any format. f16: 1 + 2^-11 ties 1
  // and 1 + 2^-10 -> 1; 65520 ties 65504 (odd mantissa) and 65536 -> Inf.
  // Codes: 1 = 0x3C00, -2 = 0xC000, Inf = 0x7C00.
  const QuantScheme f16{"", FloatFormat::F16, ScaleKind::None, 0};
  const std::vector<float> in = {1.00048828125f, 65520.0f, -2.0f};
  QuantizedMatrix q = quantize(in.data(), 1, 3, f16);
  ASSERT_EQ(q.codes.size(), 6u);
  EXPECT_EQ(q.codes[0], 0x00);
  EXPECT_EQ(q.codes[1], 0x3c);
  EXPECT_EQ(q.codes[2], 0x00);
  EXPECT_EQ(q.codes[3], 0x7c);
  EXPECT_EQ(q.codes[5], 0xc0);
  std::vector<float> fake = fakeQuantized(in, 1, 3, f16);
  std::vector<float> real = dequantized(q);
  expectValueAt(fake, real, 0, 1.0f);
  expectValueAt(fake, real, 1, kInf);
  expectValueAt(fake, real, 2, -2.0f);

  // f8E5M2 without a scale: 61440 ties 57344 and 65536 -> Inf (0x7C).
  const QuantScheme e5m2{"", FloatFormat::F8E5M2, ScaleKind::None, 0};
  const std::vector<float> in8 = {61440.0f, 3.0f};
  QuantizedMatrix q8 = quantize(in8.data(), 1, 2, e5m2);
  EXPECT_EQ(q8.codes[0], 0x7c);
  EXPECT_EQ(q8.codes[1], 0x42); // 3 = 1.1b * 2^1 = 0.10000.10
  std::vector<float> fake8 = fakeQuantized(in8, 1, 2, e5m2);
  std::vector<float> real8 = dequantized(q8);
  expectValueAt(fake8, real8, 0, kInf);
  expectValueAt(fake8, real8, 1, 3.0f);
}

//===----------------------------------------------------------------------===//
// Random data: an independent reference, and fake == real bit for bit
//===----------------------------------------------------------------------===//

/// Heavy-tailed random values (a normal times exp of a normal) with zeros,
/// signed zeros, subnormals and a few huge values mixed in.
std::vector<float> heavyTailed(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(n);
  for (size_t i = 0; i < n; ++i) {
    float x = normal(rng) * std::exp(2.0f * normal(rng));
    switch (rng() % 64) {
    case 0:
      x = 0.0f;
      break;
    case 1:
      x = -0.0f;
      break;
    case 2:
      x = 1e-40f * normal(rng);
      break;
    case 3:
      x = 1e30f * normal(rng);
      break;
    default:
      break;
    }
    values[i] = x;
  }
  return values;
}

float apfloatRound(float x, const llvm::fltSemantics &sem, float maxNormal) {
  // Saturate first: APFloat gives NaN/Inf beyond some formats' range.
  if (std::fabs(x) > maxNormal)
    return std::copysign(maxNormal, x);
  llvm::APFloat value(x);
  bool losesInfo;
  value.convert(sem, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  value.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
  return value.convertToFloat();
}

const llvm::fltSemantics &semanticsOf(FloatFormat format) {
  switch (format) {
  case FloatFormat::F8E4M3FN:
    return llvm::APFloat::Float8E4M3FN();
  case FloatFormat::F8E5M2:
    return llvm::APFloat::Float8E5M2();
  case FloatFormat::F6E2M3FN:
    return llvm::APFloat::Float6E2M3FN();
  case FloatFormat::F6E3M2FN:
    return llvm::APFloat::Float6E3M2FN();
  default:
    return llvm::APFloat::Float4E2M1FN();
  }
}

/// OCP MX written directly from the definition, with std::ilogb for
/// floor(log2) and APFloat for the element rounding.
std::vector<float> referenceMX(const std::vector<float> &in, size_t rows,
                               size_t cols, FloatFormat element,
                               unsigned block) {
  const llvm::fltSemantics &sem = semanticsOf(element);
  float maxNormal = getFormatInfo(element).maxNormal;
  int emax = getFormatInfo(element).emax;
  std::vector<float> out(in.size());
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c0 = 0; c0 < cols; c0 += block) {
      size_t end = std::min<size_t>(c0 + block, cols);
      float amax = 0;
      for (size_t c = c0; c < end; ++c)
        amax = std::max(amax, std::fabs(in[r * cols + c]));
      int s = amax == 0 ? -127 : std::ilogb(amax) - emax;
      s = std::min(std::max(s, -127), 127);
      for (size_t c = c0; c < end; ++c) {
        float scaled = std::ldexp(in[r * cols + c], -s);
        out[r * cols + c] = std::ldexp(apfloatRound(scaled, sem, maxNormal), s);
      }
    }
  }
  return out;
}

TEST(BlockQuantTest, MXMatchesReferenceOnRandomData) {
  const size_t rows = 7, cols = 172;
  std::vector<float> in = heavyTailed(rows * cols, 42);
  for (std::string_view name :
       {"mxfp4", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp8-e4m3", "mxfp8-e5m2"}) {
    // 3 and 1 break isValidBlockSize but the arithmetic takes any size.
    for (unsigned block : {32u, 16u, 2u, 64u, 3u, 1u}) {
      SCOPED_TRACE(std::string(name) + " block " + std::to_string(block));
      QuantScheme scheme = schemeNamed(name);
      scheme.blockSize = block;
      std::vector<float> expected =
          referenceMX(in, rows, cols, scheme.element, block);
      std::vector<float> actual = fakeQuantized(in, rows, cols, scheme);
      for (size_t i = 0; i < in.size(); ++i)
        ASSERT_EQ(floatBits(actual[i]), floatBits(expected[i]))
            << "index " << i << ", x = " << in[i] << ": expected "
            << expected[i] << ", got " << actual[i];
    }
  }
}

/// NVFP4 written from the definition, with APFloat for E4M3 and E2M1.
std::vector<float> referenceNVFP4(const std::vector<float> &in, size_t rows,
                                  size_t cols, unsigned block) {
  float amax = 0;
  for (float x : in)
    amax = std::max(amax, std::fabs(x));
  float global = amax / (6.0f * 448.0f);
  if (global < std::numeric_limits<float>::min())
    global = 1.0f;
  std::vector<float> out(in.size());
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c0 = 0; c0 < cols; c0 += block) {
      size_t end = std::min<size_t>(c0 + block, cols);
      float blockAmax = 0;
      for (size_t c = c0; c < end; ++c)
        blockAmax = std::max(blockAmax, std::fabs(in[r * cols + c]));
      float s = apfloatRound(blockAmax / (6.0f * global),
                             llvm::APFloat::Float8E4M3FN(), 448.0f);
      if (s == 0)
        s = 1.0f;
      for (size_t c = c0; c < end; ++c) {
        float e = apfloatRound(in[r * cols + c] / (s * global),
                               llvm::APFloat::Float4E2M1FN(), 6.0f);
        out[r * cols + c] = (e * s) * global;
      }
    }
  }
  return out;
}

TEST(BlockQuantTest, NVFP4MatchesReferenceOnRandomData) {
  for (size_t cols : {16u, 20u, 37u, 172u}) {
    for (unsigned block : {16u, 32u, 8u, 5u}) {
      SCOPED_TRACE("cols " + std::to_string(cols) + " block " +
                   std::to_string(block));
      const size_t rows = 5;
      std::vector<float> in = heavyTailed(rows * cols, uint32_t(cols));
      std::vector<float> expected = referenceNVFP4(in, rows, cols, block);
      QuantScheme scheme = schemeNamed("nvfp4");
      scheme.blockSize = block;
      std::vector<float> actual = fakeQuantized(in, rows, cols, scheme);
      for (size_t i = 0; i < in.size(); ++i)
        ASSERT_EQ(floatBits(actual[i]), floatBits(expected[i]))
            << "index " << i << ", x = " << in[i];
    }
  }
}

TEST(BlockQuantTest, FakeQuantizeIsBitIdenticalToDequantizeQuantize) {
  struct Shape {
    size_t rows, cols;
  };
  const Shape shapes[] = {{1, 1},    {3, 172}, {4, 20}, {2, 37},
                          {64, 256}, {5, 33},  {0, 10}};
  for (std::string_view name : kQuantSchemeNames) {
    QuantScheme base = schemeNamed(name);
    std::vector<QuantScheme> schemes = {base};
    if (hasBlockScales(base))
      for (unsigned block : {2u, 8u, 64u})
        schemes.push_back(schemeNamed(name, block));
    for (const QuantScheme &scheme : schemes) {
      for (const Shape &shape : shapes) {
        SCOPED_TRACE(std::string(name) + " block " +
                     std::to_string(scheme.blockSize) + " shape " +
                     std::to_string(shape.rows) + "x" +
                     std::to_string(shape.cols));
        size_t n = shape.rows * shape.cols;
        std::vector<float> in = heavyTailed(n, uint32_t(n + 17));
        // Non-finite values in a few places (whole blocks become NaN).
        if (n > 40) {
          in[5] = kNaN;
          in[n / 2] = -kInf;
          in[n - 3] = kInf;
        }
        QuantizedMatrix q = quantize(in.data(), shape.rows, shape.cols, scheme);
        EXPECT_EQ(q.codes.size(), n * getCodeBytes(scheme.element));
        EXPECT_EQ(q.blockScales.size(),
                  shape.rows * getBlocksPerRow(scheme, shape.cols));
        std::vector<float> real = dequantized(q);
        std::vector<float> fake =
            fakeQuantized(in, shape.rows, shape.cols, scheme);
        EXPECT_TRUE(bitIdentical(real, fake));
        // In place gives the same.
        std::vector<float> inPlace = in;
        fakeQuantize(inPlace.data(), inPlace.data(), shape.rows, shape.cols,
                     scheme);
        EXPECT_TRUE(bitIdentical(inPlace, fake));
      }
    }
  }
}

TEST(BlockQuantTest, RowsQuantizeAsInTheWholeTensor) {
  const size_t rows = 40, cols = 96;
  std::vector<float> in = heavyTailed(rows * cols, 23);
  float tensorMaxAbs = 0;
  for (float v : in)
    tensorMaxAbs = std::max(tensorMaxAbs, std::fabs(v));
  float partMaxAbs = 0;
  for (size_t i = 7 * cols; i < 10 * cols; ++i)
    partMaxAbs = std::max(partMaxAbs, std::fabs(in[i]));
  ASSERT_LT(partMaxAbs, tensorMaxAbs);
  for (std::string_view name : kQuantSchemeNames) {
    SCOPED_TRACE(name);
    QuantScheme scheme = schemeNamed(name);
    std::vector<float> whole = fakeQuantized(in, rows, cols, scheme);
    // Rows 7..9 alone, which do not hold the tensor's largest value.
    const size_t first = 7, count = 3;
    std::vector<float> part(count * cols);
    fakeQuantizeRows(in.data() + first * cols, part.data(), count, cols, scheme,
                     tensorMaxAbs);
    EXPECT_TRUE(bitIdentical(
        part, std::vector<float>(whole.begin() + first * cols,
                                 whole.begin() + (first + count) * cols)));
    EXPECT_EQ(hasTensorScale(scheme),
              scheme.scale == ScaleKind::TensorF32 ||
                  scheme.scale == ScaleKind::BlockE4M3WithTensorF32);
  }
}

TEST(BlockQuantTest, MXElementsNeverExceedTheScaledMaximum) {
  // |dequant| <= maxNormal * X per block, whatever the input.
  const size_t cols = 172;
  std::vector<float> in = heavyTailed(8 * cols, 5);
  for (std::string_view name :
       {"mxfp4", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp8-e4m3", "mxfp8-e5m2"}) {
    QuantScheme scheme = schemeNamed(name);
    QuantizedMatrix q = quantize(in.data(), 8, cols, scheme);
    std::vector<float> out = dequantized(q);
    float maxNormal = getFormatInfo(scheme.element).maxNormal;
    size_t blocksPerRow = getBlocksPerRow(scheme, cols);
    for (size_t i = 0; i < out.size(); ++i) {
      size_t row = i / cols, col = i % cols;
      uint8_t scale = q.blockScales[row * blocksPerRow + col / 32];
      float x = decode(scale, FloatFormat::F8E8M0FNU);
      EXPECT_LE(std::fabs(out[i]), maxNormal * x) << name << " " << i;
    }
  }
}

} // namespace
