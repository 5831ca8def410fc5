//===- BF16DotKernelTest.cpp - products of bf16 codes, executed -----------===//
//
// The linear kernel of BF16 activations (bf16 codes, as the lowering passes
// them to BF16 weights) compiled for the host and run on random codes (every
// other row of them tiny enough for subnormal products and sums), for tiles
// of several rows and of one (a batch-1 product) and panels of columns:
// - exact mode: bit for bit the sequential FMAs over k of the widened
//   codes (the evaluator's order), also compiled for x86-64-v3 (AVX2);
// - numerics=fast, where the host has avx512bf16: through vdpbf16ps, bit
//   for bit the same FMAs with subnormal inputs and results flushed to
//   zero; elsewhere within the error bound of an f32 sum of K products;
// - with f32 activations of the same weights, in both modes, the sequential
//   FMAs bit for bit.
// A test of the instruction itself checks that flushing model on random
// lanes.
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"
#include "mixtile/InitAll.h"
#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Numerics/FloatFormats.h"
#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

/// MLIR's memref descriptor of rank 3 for a dense array of at most 3
/// dimensions: the C interface reads only the first `rank` sizes and
/// strides, so it also serves ranks 1 and 2.
using Descriptor = StridedMemRefType<char, 3>;

Descriptor describe(void *data, llvm::ArrayRef<int64_t> shape) {
  Descriptor d{static_cast<char *>(data), static_cast<char *>(data), 0, {}, {}};
  int64_t stride = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    d.sizes[i] = shape[i];
    d.strides[i] = stride;
    stride *= shape[i];
  }
  return d;
}

struct Shape {
  int64_t m, k, n;
};

class BF16DotKernel : public ::testing::TestWithParam<Shape> {
protected:
  /// Compiles y = x w^T for bf16 codes x [M, K] and w [N, K] (K-major)
  /// with `numerics`, runs it, and returns y; `llvmIR` gets the IR.
  std::vector<float> run(cpu::CpuNumerics numerics,
                         const std::vector<uint16_t> &x,
                         const std::vector<uint8_t> &w, std::string &llvmIR) {
    return run(numerics, x.data(), /*bf16Activations=*/true, w, llvmIR);
  }
  /// The same for x f32 values (`bf16Activations` false) or bf16 codes.
  std::vector<float> run(cpu::CpuNumerics numerics, const void *x,
                         bool bf16Activations, const std::vector<uint8_t> &w,
                         std::string &llvmIR);

  Shape shape = GetParam();
  /// The target the kernels are compiled for.
  std::string cpuName = "native", features;
  nx::QuantScheme bf16 = *nx::parseQuantScheme("bf16");
};

std::vector<float> BF16DotKernel::run(cpu::CpuNumerics numerics, const void *x,
                                      bool bf16Activations,
                                      const std::vector<uint8_t> &w,
                                      std::string &llvmIR) {
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  auto [m, k, n] = shape;
  cpu::WeightEncoding encoding =
      cpu::getWeightEncoding(&ctx, {n, k}, bf16, /*kMajor=*/true);
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  cpu::buildLinearKernelFunction(*module, "linear", m, k, n, bf16,
                                 bf16Activations);

  llvm::SmallString<128> dir;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("mixtile-bf16-dot", dir));
  cpu::CpuLibraryOptions options;
  options.outputDir = std::string(dir);
  options.name = "linear";
  options.numerics = numerics;
  // The dot wherever the target has it, where the pipeline's default would
  // keep two FMAs on cores whose dot is slower.
  options.bf16Dot = cpu::CpuBF16Dot::Always;
  options.cpu = cpuName;
  options.features = features;
  llvm::Expected<std::string> library =
      cpu::compileKernelLibrary(*module, options);
  EXPECT_TRUE(bool(library)) << llvm::toString(library.takeError());
  if (!library)
    return {};
  if (auto ir = llvm::MemoryBuffer::getFile(
          (llvm::Twine(dir) + "/linear.ll").str()))
    llvmIR = (*ir)->getBuffer().str();
  void *handle = dlopen(library->c_str(), RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(handle, nullptr) << dlerror();
  std::vector<float> result(m * n, 0.0f);
  if (handle) {
    using Fn = void (*)(Descriptor *, Descriptor *, Descriptor *);
    auto fn = reinterpret_cast<Fn>(dlsym(handle, "_mlir_ciface_linear"));
    EXPECT_NE(fn, nullptr);
    Descriptor dx = describe(const_cast<void *>(x), {m, k});
    Descriptor dw =
        describe(const_cast<uint8_t *>(w.data()), encoding.data.shape);
    Descriptor dy = describe(result.data(), {m, n});
    if (fn)
      fn(&dx, &dw, &dy);
    dlclose(handle);
  }
  llvm::sys::fs::remove_directories(dir);
  return result;
}

float widen(uint16_t code) {
  uint32_t bits = uint32_t(code) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

bool hostHasBF16Dot() {
  cpu::CpuTarget host = cpu::resolveCpuTarget("native", "");
  return llvm::is_contained(llvm::split(host.features, ','), "+avx512bf16");
}

/// x flushed to a zero of its sign when subnormal (x86's DAZ and FTZ).
float flushed(float x) {
  return std::fabs(x) < 0x1p-126f ? std::copysign(0.0f, x) : x;
}

/// A normal(0, 1) bf16 code times `scale`.
uint16_t randomCode(std::mt19937_64 &rng, float scale) {
  float value = std::normal_distribution<float>(0.0f, 1.0f)(rng) * scale;
  return nx::encodeBF16(value, nx::Overflow::NonSaturating);
}

TEST_P(BF16DotKernel, MatchesTheSequentialSum) {
  const int64_t m = shape.m, k = shape.k, n = shape.n;
  std::mt19937_64 rng(m * 1000 + k);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> weights(n * k);
  for (float &v : weights)
    v = normal(rng);
  // Every other row scaled by 2^-125: subnormal codes, products and
  // partial sums, which the flushing model sets to zero.
  std::vector<uint16_t> x(m * k);
  for (int64_t i = 0; i < m * k; ++i)
    x[i] = randomCode(rng, (i / k) % 2 ? 0x1p-125f : 1.0f);
  nx::QuantizedMatrix q = nx::quantize(weights.data(), n, k, bf16);
  std::vector<uint8_t> packed = cpu::packWeightCodes(q, /*kMajor=*/true);
  auto weight = [&](int64_t row, int64_t col) {
    return nx::roundToBF16(weights[row * k + col], nx::Overflow::NonSaturating);
  };

  std::string exactIR, fastIR, portableIR;
  std::vector<float> exact = run(cpu::CpuNumerics::Exact, x, packed, exactIR);
  std::vector<float> fast = run(cpu::CpuNumerics::Fast, x, packed, fastIR);
  // AVX2 (16 lanes in two registers), without avx512bf16 or vpermps.
  cpuName = "x86-64-v3";
  features = "+avx2,+fma";
  std::vector<float> portable =
      run(cpu::CpuNumerics::Exact, x, packed, portableIR);
  ASSERT_EQ(exact.size(), size_t(m * n));
  ASSERT_EQ(fast.size(), size_t(m * n));
  ASSERT_EQ(portable.size(), size_t(m * n));
  // The dot takes vectors of 16 columns (N a multiple of 16).
  bool dot = hostHasBF16Dot() && n % 16 == 0;
  EXPECT_EQ(fastIR.find("dpbf16ps") != std::string::npos, dot);
  int64_t flushes = 0;
  for (int64_t row = 0; row < m; ++row)
    for (int64_t col = 0; col < n; ++col) {
      float sequential = 0.0f, flushing = 0.0f;
      double sum = 0, magnitude = 0;
      for (int64_t i = 0; i < k; ++i) {
        float a = widen(x[row * k + i]), b = weight(col, i);
        sequential = std::fma(a, b, sequential);
        flushing = flushed(std::fma(flushed(a), flushed(b), flushing));
        sum += double(a) * b;
        magnitude += std::fabs(double(a) * b);
      }
      flushes += sequential != flushing;
      float y = exact[row * n + col], f = fast[row * n + col];
      ASSERT_EQ(std::memcmp(&y, &sequential, sizeof y), 0)
          << "exact, row " << row << " column " << col;
      ASSERT_EQ(std::memcmp(&portable[row * n + col], &sequential, sizeof y), 0)
          << "exact on x86-64-v3, row " << row << " column " << col;
      if (dot)
        ASSERT_EQ(std::memcmp(&f, &flushing, sizeof f), 0)
            << "fast (vdpbf16ps), row " << row << " column " << col;
      else
        // K roundings of partial sums, each within 2^-24 of a sum bounded
        // by the sum of magnitudes.
        EXPECT_NEAR(f, sum, k * 0x1p-24 * magnitude)
            << "fast, row " << row << " column " << col;
    }
  // The tiny rows make flushing matter: the two models differ there.
  if (m > 1)
    EXPECT_GT(flushes, 0);
  EXPECT_EQ(exactIR.find("dpbf16ps"), std::string::npos);
  EXPECT_NE(portableIR.find("\"target-cpu\"=\"x86-64-v3\""), std::string::npos);
  EXPECT_EQ(portableIR.find("dpbf16ps"), std::string::npos);
}

/// vdpbf16ps of one vector: acc[i] + a[2i] b[2i] + a[2i + 1] b[2i + 1].
__attribute__((target("avx512f,avx512bf16"))) void
dotPairs(const uint16_t a[32], const uint16_t b[32], float acc[16]) {
  __m512 sum =
      _mm512_dpbf16_ps(_mm512_loadu_ps(acc), (__m512bh)_mm512_loadu_si512(a),
                       (__m512bh)_mm512_loadu_si512(b));
  _mm512_storeu_ps(acc, sum);
}

/// A random bf16 code of either sign with an exponent field below 70 (a
/// value below 2^-57; a fifth of them subnormal), so that products, sums and
/// the accumulator are often subnormal.
uint16_t tinyCode(std::mt19937_64 &rng) {
  uint16_t exponent = rng() % 5 == 0 ? 0 : rng() % 70;
  return uint16_t((rng() % 2) << 15 | exponent << 7 | (rng() % 128));
}

// What the kernel's bf16 dot relies on: the instruction adds the product of
// the high half of each pair first, then the low half's, each an FMA
// rounded to nearest even, with subnormal inputs and results (the
// accumulator's too) flushed to zeros of their sign.
TEST(VdpBF16PS, IsTwoFlushingFMAsHighHalfFirst) {
  if (!hostHasBF16Dot())
    GTEST_SKIP() << "the host has no avx512bf16";
  std::mt19937_64 rng(7);
  int64_t flushes = 0;
  for (int round = 0; round < 20000; ++round) {
    uint16_t a[32], b[32];
    float acc[16], initial[16];
    for (int i = 0; i < 32; ++i) {
      a[i] = tinyCode(rng);
      b[i] = round % 2 ? tinyCode(rng) : uint16_t(rng());
    }
    for (float &value : initial)
      value =
          std::ldexp(float(rng() % (1 << 24)) / (1 << 24), -int(rng() % 140)) *
          (rng() % 2 ? -1.0f : 1.0f);
    std::memcpy(acc, initial, sizeof acc);
    dotPairs(a, b, acc);
    for (int i = 0; i < 16; ++i) {
      float model = flushed(initial[i]);
      for (int half : {1, 0})
        model = flushed(std::fma(flushed(widen(a[2 * i + half])),
                                 flushed(widen(b[2 * i + half])), model));
      float ieee = std::fma(
          widen(a[2 * i]), widen(b[2 * i]),
          std::fma(widen(a[2 * i + 1]), widen(b[2 * i + 1]), initial[i]));
      flushes += std::memcmp(&model, &ieee, sizeof model) != 0;
      if (std::isnan(model))
        ASSERT_TRUE(std::isnan(acc[i]));
      else
        ASSERT_EQ(std::memcmp(&acc[i], &model, sizeof model), 0)
            << "round " << round << " lane " << i;
    }
  }
  EXPECT_GT(flushes, 1000);
}

/// The same kernels with f32 activations, which need no even K.
class BF16WeightKernel : public BF16DotKernel {};

// BF16 weights (in pairs of codes, or one per k for an odd K) with f32
// activations: the f32 FMAs of k in order, in every mode.
TEST_P(BF16WeightKernel, F32ActivationsMatchTheSequentialSum) {
  const int64_t m = shape.m, k = shape.k, n = shape.n;
  std::mt19937_64 rng(m * 1000 + k + 1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> weights(n * k), x(m * k);
  for (float &v : weights)
    v = normal(rng);
  for (float &v : x)
    v = normal(rng);
  nx::QuantizedMatrix q = nx::quantize(weights.data(), n, k, bf16);
  std::vector<uint8_t> packed = cpu::packWeightCodes(q, /*kMajor=*/true);
  for (cpu::CpuNumerics numerics :
       {cpu::CpuNumerics::Exact, cpu::CpuNumerics::Fast}) {
    std::string ir;
    std::vector<float> y =
        run(numerics, x.data(), /*bf16Activations=*/false, packed, ir);
    ASSERT_EQ(y.size(), size_t(m * n));
    for (int64_t row = 0; row < m; ++row)
      for (int64_t col = 0; col < n; ++col) {
        float sequential = 0.0f;
        for (int64_t i = 0; i < k; ++i)
          sequential = std::fma(x[row * k + i],
                                nx::roundToBF16(weights[col * k + i],
                                                nx::Overflow::NonSaturating),
                                sequential);
        ASSERT_EQ(std::memcmp(&y[row * n + col], &sequential, sizeof(float)), 0)
            << cpu::stringifyCpuNumerics(numerics).str() << ", row " << row
            << " column " << col;
      }
    EXPECT_EQ(ir.find("dpbf16ps"), std::string::npos);
  }
}

// 9 rows: a tile of 6 (dot-rows) and three single rows; 1 row: the batch-1
// loop with its prefetches; N = 128 in panels of 64 columns (two groups of
// 4 vectors), N = 48 in rows (three single vectors); N = 40 in vectors of
// 8 (FMAs: no dot).
INSTANTIATE_TEST_SUITE_P(Shapes, BF16DotKernel,
                         ::testing::Values(Shape{9, 64, 128}, Shape{1, 62, 128},
                                           Shape{6, 66, 48}, Shape{6, 64, 40}));
// An odd K: the weight's codes one per k (not in pairs).
INSTANTIATE_TEST_SUITE_P(Shapes, BF16WeightKernel,
                         ::testing::Values(Shape{9, 64, 128}, Shape{1, 62, 128},
                                           Shape{9, 63, 128}));

} // namespace
