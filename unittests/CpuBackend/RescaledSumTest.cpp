//===- RescaledSumTest.cpp - block-scaled linears summed rescaled
//----------===//
//
// The MXFP4 linear kernel compiled for the host in exact mode, where
// one-row tiles sum fma(a, e, acc / s) over each block and multiply by the
// block scale s once (mixtile-cpu-vectorize-rows' rescale-sums, within
// RescaleLimits checked at run time), run on inputs on either side of every
// limit, with columns whose results would differ without each check:
// scales from 2^-127 to 2^127 and NaN, activations from subnormal to
// beyond 2^40, Inf and NaN, sums below 2^-32 and above 2^60 at the start of
// a block. Every output must be the evaluator's sequential
// fma(a, e * s, acc) over k bit for bit, for a batch-1 product (one-row
// tiles only) and for 7 rows (a tile of 6, then one row).
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"
#include "mixtile/InitAll.h"
#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

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

constexpr int64_t kK = 512, kBlock = 32;

/// What one row of activations exercises.
enum class RowKind {
  /// normal(0, 1) values and zeros of both signs.
  Typical,
  /// normal(0, 1) times 2^-100, below RescaleLimits' 2^-40: the products
  /// with scales of 2^-30 (group kTinyProducts) are subnormal.
  Tiny,
  /// Magnitudes from 2^36 to 2^40 (within the limits): with the scales of
  /// group kHugeSum, sums near 2^100.
  Large,
  /// normal(0, 1), with an Inf, a NaN, a subnormal and values just
  /// beyond the limits (2^40 (1 + 2^-23), 2^-40 (1 - 2^-24)) at some k.
  Edges,
};
constexpr RowKind kRowKinds[] = {RowKind::Typical, RowKind::Tiny,
                                 RowKind::Large, RowKind::Edges};

float activation(RowKind kind, int64_t k, std::mt19937_64 &rng) {
  float value = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  switch (kind) {
  case RowKind::Typical:
    return k % 17 == 0 ? (k % 2 ? -0.0f : 0.0f) : value;
  case RowKind::Tiny:
    return 0x1p-100f * value;
  case RowKind::Large:
    return std::ldexp(value < 0 ? -1.0f : 1.0f, 36 + int(rng() % 4)) *
           (1.0f + float(rng() % 16) / 16);
  case RowKind::Edges:
    switch (k) {
    case 70:
      return 0x1.000002p40f;
    case 140:
      return 0x1.fffffep-41f;
    case 210:
      return 0x1p-140f;
    case 300:
      return std::numeric_limits<float>::infinity();
    case 450:
      return std::numeric_limits<float>::quiet_NaN();
    }
    return value;
  }
  return value;
}

/// Groups of 64 columns (weight rows; the general tile's one-row tiles of 4
/// vectors) whose second vector of 16 columns (the others are as in group
/// 0), in each group but the first and the last, has results that would
/// differ without one of the run-time checks; a check refuses a whole tile
/// for that one vector:
/// - kTinyScales: every scale 2^-127 or 2^-126 and the codes +-0.5, whose
///   partial sums are subnormal in the evaluator's order (the scale check;
///   2^-127 is E8M0's code 0, whose decoding needs its fix-up);
/// - kTinySum: 2^-126 for block 0, then 2^20 with zero codes: a partial
///   sum near 2^-124 that acc / 2^20 would make subnormal (the sums' lower
///   limit);
/// - kHugeSum: 2^60 for block 0, then 2^-30: with Large activations a sum
///   near 2^100 that acc / 2^-30 would make Inf (the sums' upper limit);
/// - kTinyProducts: every scale 2^-30: Tiny activations' products are
///   subnormal (the activations' check);
/// - kExtremes: in some blocks E8M0's extremes and the codes on either
///   side of the limits' 2^+-32, and one block's scale NaN.
/// Elsewhere (and in group 0) the scales are near 1.
enum Group : int64_t {
  kTypical,
  kTinyScales,
  kTinySum,
  kHugeSum,
  kTinyProducts,
  kExtremes,
  kGroups
};
constexpr int64_t kGroupColumns = 64, kN = kGroups * kGroupColumns;
constexpr int64_t kVectorColumns = 16;

/// The group whose values column `row` gets.
Group groupOf(int64_t row) {
  bool special = (row % kGroupColumns) / kVectorColumns == 1;
  return special ? Group(row / kGroupColumns) : kTypical;
}

uint8_t scaleCode(int64_t row, int64_t block, std::mt19937_64 &rng) {
  static const uint8_t extremes[] = {0, 1, 94, 95, 159, 160, 254};
  switch (groupOf(row)) {
  case kTinyScales:
    return row % 2; // 2^-127 (the fix-up's) or 2^-126
  case kTinySum:
    return block == 0 ? 1 : 127 + 20;
  case kHugeSum:
    return block == 0 ? 127 + 60 : 127 - 30;
  case kTinyProducts:
    return 127 - 30;
  case kTypical:
  case kGroups:
    break;
  case kExtremes:
    if (row % kGroupColumns == kVectorColumns + 5 && block == 5)
      return 255;
    if ((row + 3 * block) % 7 == 0)
      return extremes[(row + block) % std::size(extremes)];
    break;
  }
  return uint8_t(127 - 6 + rng() % 9);
}

uint8_t elementCode(int64_t row, int64_t k, std::mt19937_64 &rng) {
  if (groupOf(row) == kTinyScales)
    return rng() % 2 ? 0x1 : 0x9; // 0.5, -0.5
  if (groupOf(row) == kTinySum && k >= kBlock)
    return k % 2 ? 0x0 : 0x8; // 0, -0
  return uint8_t(rng() % 16);
}

class RescaledSum : public ::testing::TestWithParam<int64_t> {
protected:
  /// Compiles y = x w^T for an MXFP4 weight w [N, K] in exact mode, runs
  /// it on x [M, K], and returns y; `llvmIR` gets the module's LLVM IR.
  std::vector<float> run(const std::vector<float> &x,
                         const nx::QuantizedMatrix &q, std::string &llvmIR);
  /// Runs `q` on activations of every RowKind and compares every output
  /// with the sequential sum.
  void checkAgainstSequentialSums(const nx::QuantizedMatrix &q);

  int64_t m = GetParam();
  nx::QuantScheme mxfp4 = *nx::parseQuantScheme("mxfp4");
};

std::vector<float> RescaledSum::run(const std::vector<float> &x,
                                    const nx::QuantizedMatrix &q,
                                    std::string &llvmIR) {
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  cpu::WeightEncoding encoding =
      cpu::getWeightEncoding(&ctx, {kN, kK}, mxfp4, /*kMajor=*/true);
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  cpu::buildLinearKernelFunction(*module, "linear", m, kK, kN, mxfp4);

  llvm::SmallString<128> dir;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("mixtile-rescale", dir));
  cpu::CpuLibraryOptions options;
  options.outputDir = std::string(dir);
  options.name = "linear";
  options.numerics = cpu::CpuNumerics::Exact;
  llvm::Expected<std::string> library =
      cpu::compileKernelLibrary(*module, options);
  EXPECT_TRUE(bool(library)) << llvm::toString(library.takeError());
  if (!library)
    return {};
  if (auto ir =
          llvm::MemoryBuffer::getFile((llvm::Twine(dir) + "/linear.ll").str()))
    llvmIR = (*ir)->getBuffer().str();
  std::vector<uint8_t> codes = cpu::packWeightCodes(q, /*kMajor=*/true);
  std::vector<uint8_t> scales = cpu::packBlockScales(q, /*kMajor=*/true);
  std::vector<float> result(m * kN, 0.0f);
  void *handle = dlopen(library->c_str(), RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(handle, nullptr) << dlerror();
  if (handle) {
    using Fn = void (*)(Descriptor *, Descriptor *, Descriptor *, Descriptor *,
                        Descriptor *);
    auto fn = reinterpret_cast<Fn>(dlsym(handle, "_mlir_ciface_linear"));
    EXPECT_NE(fn, nullptr);
    Descriptor dx = describe(const_cast<float *>(x.data()), {m, kK});
    Descriptor dw = describe(codes.data(), encoding.data.shape);
    Descriptor ds = describe(scales.data(), encoding.blockScales->shape);
    int32_t fixUpFlag = cpu::needsFixUps(q);
    Descriptor dflag = describe(&fixUpFlag, {1});
    Descriptor dy = describe(result.data(), {m, kN});
    if (fn)
      fn(&dx, &dw, &ds, &dflag, &dy);
    dlclose(handle);
  }
  llvm::sys::fs::remove_directories(dir);
  return result;
}

void RescaledSum::checkAgainstSequentialSums(const nx::QuantizedMatrix &q) {
  std::mt19937_64 rng(m);
  std::vector<float> weights(kN * kK);
  nx::dequantize(q, weights.data());

  std::vector<float> x(m * kK);
  for (int64_t row = 0; row < m; ++row)
    for (int64_t i = 0; i < kK; ++i)
      x[row * kK + i] =
          activation(kRowKinds[row % std::size(kRowKinds)], i, rng);

  std::string llvmIR;
  std::vector<float> y = run(x, q, llvmIR);
  ASSERT_EQ(y.size(), size_t(m * kN));
  // The rescaled sums are there: a multiply by the inverse scale, whose
  // bits the kernel takes from 254 << 23 (0x7f000000).
  EXPECT_NE(llvmIR.find("2130706432"), std::string::npos);
  int64_t finite = 0;
  for (int64_t row = 0; row < m; ++row)
    for (int64_t col = 0; col < kN; ++col) {
      float sequential = 0.0f;
      for (int64_t i = 0; i < kK; ++i)
        sequential =
            std::fma(x[row * kK + i], weights[col * kK + i], sequential);
      float got = y[row * kN + col];
      if (std::isnan(sequential) && std::isnan(got))
        continue;
      finite += std::isfinite(sequential);
      ASSERT_EQ(std::memcmp(&got, &sequential, sizeof got), 0)
          << "row " << row << " column " << col << ": " << got << " against "
          << sequential;
    }
  // Most outputs are numbers, not all NaN through the NaN scales.
  EXPECT_GT(finite, m * kN / 2);
}

nx::QuantizedMatrix weightOfEveryGroup(const nx::QuantScheme &scheme) {
  std::mt19937_64 rng(1);
  nx::QuantizedMatrix q;
  q.scheme = scheme;
  q.rows = kN;
  q.cols = kK;
  q.codes.resize(kN * kK);
  for (int64_t row = 0; row < kN; ++row)
    for (int64_t i = 0; i < kK; ++i)
      q.codes[row * kK + i] = elementCode(row, i, rng);
  q.blockScales.resize(kN * (kK / kBlock));
  for (int64_t row = 0; row < kN; ++row)
    for (int64_t block = 0; block < kK / kBlock; ++block)
      q.blockScales[row * (kK / kBlock) + block] = scaleCode(row, block, rng);
  return q;
}

// Scales 2^-127 and NaN among them: the pack's fix-up flag is 1, and the
// kernel decodes the scales with their fix-ups.
TEST_P(RescaledSum, MatchesTheSequentialScaledSum) {
  nx::QuantizedMatrix q = weightOfEveryGroup(mxfp4);
  ASSERT_TRUE(cpu::needsFixUps(q));
  checkAgainstSequentialSums(q);
}

// The same without E8M0's codes 0 and 255 (made 1 and 254): the flag is 0,
// and the kernel decodes the scales by the formula alone.
TEST_P(RescaledSum, MatchesTheSequentialScaledSumWithoutFixUps) {
  nx::QuantizedMatrix q = weightOfEveryGroup(mxfp4);
  for (uint8_t &code : q.blockScales)
    code = std::clamp<uint8_t>(code, 1, 254);
  ASSERT_FALSE(cpu::needsFixUps(q));
  checkAgainstSequentialSums(q);
}

// One row: a batch-1 product, one-row tiles only (a Typical row); four:
// every kind in one-row tiles; seven: a tile of six rows, then a Large row
// in a one-row tile.
INSTANTIATE_TEST_SUITE_P(Rows, RescaledSum, ::testing::Values(1, 4, 7));

} // namespace
