//===- ClusterMatmulTest.cpp - the cluster GEMM is bit-exact --------------===//
//
// The cluster-cooperative matrix product shares A and B chunks between the
// tiles of a cluster (multicast, CSRAM), but every output must still be one
// k-ascending FMA chain: its functional result equals the per-tile
// kernel's and a direct fmaf reference bit for bit. Small shapes with small
// forced tiles exercise several blocks per cluster, partial K chunks, row
// panels that change within a cluster, resident and streamed A, bias and
// bf16 outputs, on 2x2, 2x1 and 1x1 grids.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Numerics/FloatFormats.h"
#include "mixtile/Numerics/Packing.h"
#include "mixtile/Target/CostModel.h"
#include "mixtile/Target/Maia/Simulator.h"

#include "llvm/ADT/STLExtras.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

using namespace mixtile;
using maia::ScaleMode;
using numerics::FloatFormat;

namespace {

/// maia200 with `clusters` clusters of four tiles.
TargetModel targetWithClusters(int64_t clusters) {
  llvm::Expected<TargetModel> target = TargetModel::load("maia200");
  EXPECT_TRUE(bool(target)) << llvm::toString(target.takeError());
  TargetModel t = *target;
  t.clusters = clusters;
  return t;
}

std::vector<uint8_t> floatBytes(const std::vector<float> &values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

/// Deterministic values in [-2, 2) with a few of every magnitude.
std::vector<float> values(size_t count, uint32_t seed) {
  std::vector<float> v(count);
  uint32_t state = seed * 2654435761u + 1;
  for (float &f : v) {
    state = state * 1664525u + 1013904223u;
    f = (float(state >> 8) / float(1 << 24) - 0.5f) * 4.0f;
    if (state % 7 == 0)
      f *= 1.0f / 64;
  }
  return v;
}

/// A matrix in the HBM layout of `format` and the f32 values it decodes to.
struct CodedMatrix {
  std::vector<uint8_t> codes, scales;
  std::vector<float> decoded;
};

void append(std::vector<uint8_t> &out, const numerics::QuantizedMatrix &q,
            FloatFormat format) {
  unsigned bits = numerics::getFormatInfo(format).bits;
  std::vector<uint8_t> codes =
      bits < 8 ? numerics::packCodes(q.codes, bits) : q.codes;
  out.insert(out.end(), codes.begin(), codes.end());
}

CodedMatrix encode(const std::vector<float> &v, int64_t rows, int64_t cols,
                   const MaiaOperandFormat &f) {
  CodedMatrix m;
  m.decoded.resize(v.size());
  numerics::QuantScheme scheme =
      maia::getQuantScheme(f.format, f.mode, f.block);
  bool perRow = f.mode == ScaleMode::Rows || f.mode == ScaleMode::NVFP4Rows;
  if (!perRow) {
    numerics::QuantizedMatrix q =
        numerics::quantize(v.data(), rows, cols, scheme);
    append(m.codes, q, f.format);
    if (f.mode == ScaleMode::Tensor || f.mode == ScaleMode::NVFP4)
      m.scales = floatBytes({q.tensorScale});
    m.scales.insert(m.scales.end(), q.blockScales.begin(), q.blockScales.end());
    numerics::dequantize(q, m.decoded.data());
    return m;
  }
  // Each row is quantized on its own: its tensor scale first, then (NVFP4)
  // the block codes of every row.
  std::vector<float> rowScales;
  std::vector<uint8_t> blocks;
  for (int64_t r = 0; r < rows; ++r) {
    numerics::QuantizedMatrix q =
        numerics::quantize(v.data() + r * cols, 1, cols, scheme);
    append(m.codes, q, f.format);
    rowScales.push_back(q.tensorScale);
    blocks.insert(blocks.end(), q.blockScales.begin(), q.blockScales.end());
    numerics::dequantize(q, m.decoded.data() + r * cols);
  }
  m.scales = floatBytes(rowScales);
  m.scales.insert(m.scales.end(), blocks.begin(), blocks.end());
  return m;
}

struct Case {
  const char *name;
  int64_t m, n, k;
  MaiaOperandFormat x, w;
  int64_t clusters;
  unsigned tiles;
  ClusterMatmulLimits limits;
  bool bias = false;
  FloatFormat output = FloatFormat::F32;
};

const MaiaOperandFormat kMxfp4{FloatFormat::F4E2M1FN, ScaleMode::MX, 32};
const MaiaOperandFormat kBf16{FloatFormat::BF16, ScaleMode::None, 0};
const MaiaOperandFormat kNvfp4{FloatFormat::F4E2M1FN, ScaleMode::NVFP4, 16};
const MaiaOperandFormat kNvfp4Rows{FloatFormat::F4E2M1FN, ScaleMode::NVFP4Rows,
                                   16};
const MaiaOperandFormat kFp8{FloatFormat::F8E4M3FN, ScaleMode::Tensor, 0};
const MaiaOperandFormat kFp8Rows{FloatFormat::F8E4M3FN, ScaleMode::Rows, 0};
const MaiaOperandFormat kMxfp8{FloatFormat::F8E4M3FN, ScaleMode::MX, 32};

class ClusterMatmulTest : public ::testing::TestWithParam<Case> {};

/// The f32 bytes the reference computes: fmaf over k ascending from 0,
/// then + bias, then the output rounding.
std::vector<uint8_t> reference(const Case &c, const CodedMatrix &x,
                               const CodedMatrix &w,
                               const std::vector<float> &bias) {
  std::vector<float> y(c.m * c.n);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      float sum = 0.0f;
      for (int64_t k = 0; k < c.k; ++k)
        sum = std::fmaf(x.decoded[i * c.k + k], w.decoded[j * c.k + k], sum);
      if (c.bias)
        sum = sum + bias[j];
      y[i * c.n + j] = sum;
    }
  if (c.output == FloatFormat::F32)
    return floatBytes(y);
  numerics::QuantizedMatrix q = numerics::quantize(
      y.data(), c.m, c.n,
      maia::getQuantScheme(FloatFormat::BF16, ScaleMode::None, 0));
  return q.codes;
}

/// `target` with other latencies and rates but the same capacities and
/// counts (so the same plan): slow DMA (a missing wait for data shows), or
/// slow units and fast DMA (a missing wait for a free slot shows). A
/// program whose results depend on the timing has a race, which the
/// simulator does not detect by itself.
enum class Timing { Nominal, SlowDma, SlowUnits };
TargetModel retimed(TargetModel t, Timing timing) {
  if (timing == Timing::SlowDma) {
    t.hbmLatencySeconds *= 7;
    t.dmaSetupCycles *= 9;
    t.semWaitCyclesSameCluster *= 13;
    t.csramToTsramBytesPerCycle /= 16;
  } else if (timing == Timing::SlowUnits) {
    t.hbmLatencySeconds = 0;
    t.dmaSetupCycles = 1;
    t.semWaitCyclesSameTile = t.semWaitCyclesSameCluster = 1;
    t.macsPerCycleFP4 = t.macsPerCycleFP8 = t.macsPerCycleBF16 = 1;
    t.tvpLanesF32 = t.tvpTranscendentalsPerCycle = 1;
    t.tsramReadBytesPerCycle = t.tsramWriteBytesPerCycle = 1;
  }
  return t;
}

/// Runs `c` with `kernel` functionally; returns y's bytes.
std::vector<uint8_t> run(const Case &c, MatmulKernel kernel,
                         const CodedMatrix &x, const CodedMatrix &w,
                         const std::vector<float> &bias,
                         Timing timing = Timing::Nominal) {
  TargetModel target = retimed(targetWithClusters(c.clusters), timing);
  MaiaKernelOptions options;
  options.tiles = c.tiles;
  options.kernel = kernel;
  options.cluster = c.limits;
  options.bias = c.bias;
  options.output = c.output;
  llvm::Expected<maia::Program> program =
      buildMatmulProgram(target, c.m, c.n, c.k, c.x, c.w, options);
  EXPECT_TRUE(bool(program)) << llvm::toString(program.takeError());
  if (!program)
    return {};
  maia::SimOptions sim;
  sim.inputs = {{"x.codes", x.codes}, {"w.codes", w.codes}};
  if (!x.scales.empty())
    sim.inputs.push_back({"x.scales", x.scales});
  if (!w.scales.empty())
    sim.inputs.push_back({"w.scales", w.scales});
  if (c.bias)
    sim.inputs.push_back({"bias", floatBytes(bias)});
  llvm::Expected<maia::SimResult> result =
      maia::simulate(*program, target, sim);
  EXPECT_TRUE(bool(result)) << llvm::toString(result.takeError());
  if (!result)
    return {};
  llvm::Expected<std::vector<uint8_t>> y = result->readBuffer("y");
  EXPECT_TRUE(bool(y)) << llvm::toString(y.takeError());
  return y ? *y : std::vector<uint8_t>();
}

TEST_P(ClusterMatmulTest, MatchesThePerTileKernelAndFmafBitForBit) {
  const Case &c = GetParam();
  CodedMatrix x = encode(values(c.m * c.k, 1), c.m, c.k, c.x);
  CodedMatrix w = encode(values(c.n * c.k, 2), c.n, c.k, c.w);
  std::vector<float> bias = values(c.n, 3);
  std::vector<uint8_t> expected = reference(c, x, w, bias);
  std::vector<uint8_t> cluster = run(c, MatmulKernel::Cluster, x, w, bias);
  std::vector<uint8_t> perTile = run(c, MatmulKernel::PerTile, x, w, bias);
  ASSERT_EQ(cluster.size(), expected.size());
  EXPECT_TRUE(cluster == expected) << "cluster kernel differs from fmaf";
  EXPECT_TRUE(perTile == expected) << "per-tile kernel differs from fmaf";
  for (Timing timing : {Timing::SlowDma, Timing::SlowUnits})
    EXPECT_TRUE(run(c, MatmulKernel::Cluster, x, w, bias, timing) == expected)
        << "the cluster kernel's result depends on the timing ("
        << (timing == Timing::SlowDma ? "slow DMA" : "slow units") << ")";
}

/// The plan of a case really is what the case means to test, and its
/// blocks cover C exactly once.
TEST(ClusterMatmulPlanTest, CasesExerciseSharingAndPanels) {
  TargetModel target = targetWithClusters(2);
  MatmulProblem p;
  p.m = 192;
  p.n = 128;
  p.k = 160;
  p.x = p.w = {4, 8, 32};
  ClusterMatmulLimits limits{32, 32, 64, 3, 1};
  llvm::Expected<ClusterMatmulPlan> plan =
      planClusterMatmul(target, 8, p, limits);
  ASSERT_TRUE(bool(plan)) << llvm::toString(plan.takeError());
  EXPECT_EQ(plan->gridM, 2);
  EXPECT_EQ(plan->gridN, 2);
  EXPECT_TRUE(plan->residentA);
  EXPECT_EQ(plan->chunks(p.k), 3);
  ASSERT_EQ(plan->clusters.size(), 2u);
  // At least 3 panels of 64 rows are needed; 4 of 48 split evenly over the
  // 2 clusters, so no cluster straddles a panel. Cluster 0 computes two
  // blocks of panel 0 (the second with A from CSRAM), changes panel, and
  // ends with a narrower block.
  const std::vector<ClusterBlock> &blocks = plan->clusters[0].blocks;
  ASSERT_GE(blocks.size(), 4u);
  EXPECT_EQ(blocks[0].m0, 0);
  EXPECT_EQ(blocks[0].rows, 48);
  EXPECT_EQ(blocks[1].m0, 0);
  EXPECT_EQ(blocks[2].m0, 48);
  EXPECT_LT(blocks.back().cols, blocks[2].cols);
  std::vector<int> covered(p.m * p.n, 0);
  for (const ClusterMatmulPlan::Cluster &c : plan->clusters)
    for (const ClusterBlock &b : c.blocks)
      for (int64_t i = b.m0; i < b.m0 + b.rows; ++i)
        for (int64_t j = b.n0; j < b.n0 + b.cols; ++j)
          ++covered[i * p.n + j];
  EXPECT_TRUE(llvm::all_of(covered, [](int n) { return n == 1; }));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ClusterMatmulTest,
    ::testing::Values(
        Case{"mxfp4_resident",
             128,
             128,
             256,
             kMxfp4,
             kMxfp4,
             2,
             8,
             {32, 32, 64, 4, 1}},
        Case{"mxfp4_streamed",
             128,
             128,
             256,
             kMxfp4,
             kMxfp4,
             2,
             8,
             {32, 32, 64, 4, 0}},
        Case{"bf16", 128, 128, 256, kBf16, kBf16, 2, 8, {32, 32, 64, 3, 1}},
        Case{"bf16_one_cluster",
             128,
             128,
             256,
             kBf16,
             kBf16,
             1,
             4,
             {32, 32, 64, 4, 1}},
        Case{"mxfp4_panels_partial_k_bias_bf16",
             192,
             128,
             160,
             kMxfp4,
             kMxfp4,
             2,
             8,
             {32, 32, 64, 3, 1},
             true,
             FloatFormat::BF16},
        Case{"uneven_bias",
             100,
             72,
             224,
             kMxfp8,
             kMxfp4,
             2,
             8,
             {24, 16, 64, 3, 1},
             true},
        Case{"nvfp4_pair_grid",
             96,
             64,
             192,
             kNvfp4Rows,
             kNvfp4,
             2,
             4,
             {32, 32, 64, 3, 1}},
        Case{"fp8_rows_pair_grid",
             96,
             80,
             128,
             kFp8Rows,
             kFp8,
             2,
             4,
             {16, 32, 64, 3, 1},
             true},
        Case{"fp8_single_tile_grid",
             64,
             64,
             256,
             kFp8Rows,
             kFp8,
             2,
             2,
             {16, 16, 64, 2, 1}},
        Case{"whole_k_chunk",
             128,
             96,
             64,
             kMxfp4,
             kMxfp4,
             2,
             8,
             {32, 16, 0, 3, 1},
             true,
             FloatFormat::BF16}),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::string(info.param.name);
    });

} // namespace
