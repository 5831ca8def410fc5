//===- SimulatorTest.cpp - functional and timing simulation of Maia -------===//
//
// Functional: mm at every format class equals the Numerics library's
// fakeQuantize followed by a k-ascending fmaf chain, bit for bit, also with
// K split over accumulating products and with on-chip quantization; vector
// ops and multicast DMA. Timing: one mm takes exactly its MACs over the
// target's rate; DMA times follow setup, the slowest channel and the HBM
// latency, and HBM bandwidth is shared; double buffering overlaps DMA with
// compute; semaphore latencies; deadlocks name the waiting tiles.
//
//===----------------------------------------------------------------------===//

#include "TestPrograms.h"

#include "mixtile/Target/Maia/Simulator.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace mixtile;
using namespace mixtile::maia;
using namespace mixtile::maia::testing;

namespace {

std::vector<float> randomMatrix(size_t rows, size_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (float &v : values)
    v = normal(rng) * (1.0f + float(rng() % 8)); // Varied block ranges.
  return values;
}

numerics::QuantScheme scheme(std::string_view name) {
  std::optional<numerics::QuantScheme> s = numerics::parseQuantScheme(name);
  EXPECT_TRUE(s.has_value()) << name;
  return s.value_or(numerics::QuantScheme{});
}

/// fakeQuantize, optionally one row at a time.
std::vector<float> fakeQuantized(const std::vector<float> &in, size_t rows,
                                 size_t cols, const numerics::QuantScheme &s,
                                 bool eachRow = false) {
  std::vector<float> out(in.size());
  if (!eachRow) {
    numerics::fakeQuantize(in.data(), out.data(), rows, cols, s);
    return out;
  }
  for (size_t r = 0; r < rows; ++r)
    numerics::fakeQuantize(in.data() + r * cols, out.data() + r * cols, 1, cols,
                           s);
  return out;
}

/// The reference evaluator's linear: from 0, x[k] * w[n][k] for k ascending,
/// one fmaf per term.
std::vector<float> referenceProduct(const std::vector<float> &x,
                                    const std::vector<float> &w, size_t m,
                                    size_t n, size_t k) {
  std::vector<float> y(m * n);
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (size_t kk = 0; kk < k; ++kk)
        sum = std::fmaf(x[i * k + kk], w[j * k + kk], sum);
      y[i * n + j] = sum;
    }
  return y;
}

::testing::AssertionResult bitIdentical(const std::vector<float> &a,
                                        const std::vector<float> &b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "sizes differ";
  for (size_t i = 0; i < a.size(); ++i)
    if (numerics::floatBits(a[i]) != numerics::floatBits(b[i]))
      return ::testing::AssertionFailure()
             << "element " << i << ": " << a[i] << " vs " << b[i];
  return ::testing::AssertionSuccess();
}

SimResult run(const Program &program, SimOptions options = {}) {
  llvm::Expected<SimResult> result = simulate(program, maia200(), options);
  EXPECT_TRUE(bool(result)) << llvm::toString(result.takeError());
  return result ? std::move(*result) : SimResult();
}

std::vector<float> readFloats(const SimResult &result, llvm::StringRef name) {
  llvm::Expected<std::vector<uint8_t>> bytes = result.readBuffer(name);
  EXPECT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  return bytes ? bytesToFloats(*bytes) : std::vector<float>();
}

MatmulInst makeMatmul(uint32_t m, uint32_t n, uint32_t k,
                      const TensorOperand &a, const TensorOperand &b,
                      BufferRef c, bool accumulate) {
  MatmulInst mm;
  mm.m = m;
  mm.n = n;
  mm.k = k;
  mm.a = a;
  mm.b = b;
  mm.acc = c;
  mm.accumulate = accumulate;
  return mm;
}

struct FormatCase {
  const char *activations, *weights;
  bool rowScales;
};

class MaiaMatmulFormatTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(MaiaMatmulFormatTest, MatchesFakeQuantizeAndFmaChain) {
  const FormatCase &c = GetParam();
  const size_t m = 5, n = 7, k = 96;
  std::vector<float> x = randomMatrix(m, k, 1), w = randomMatrix(n, k, 2);
  numerics::QuantScheme xs = scheme(c.activations), ws = scheme(c.weights);
  Program program;
  uint64_t offset = 0;
  TensorOperand a =
      placeQuantized(program, "x", 0, offset, x, m, k, xs, c.rowScales);
  TensorOperand b = placeQuantized(program, "w", 0, offset, w, n, k, ws);
  BufferRef y = placeF32(program, "y", 0, offset, m * n);
  program.getOrCreateTile(0).instructions.push_back(
      makeMatmul(m, n, k, a, b, y, false));

  std::vector<float> expected =
      referenceProduct(fakeQuantized(x, m, k, xs, c.rowScales),
                       fakeQuantized(w, n, k, ws), m, n, k);
  EXPECT_TRUE(bitIdentical(readFloats(run(program), "y"), expected));
}

INSTANTIATE_TEST_SUITE_P(
    Formats, MaiaMatmulFormatTest,
    ::testing::Values(FormatCase{"mxfp4", "mxfp4", false},
                      FormatCase{"mxfp8-e4m3", "mxfp8-e4m3", false},
                      FormatCase{"mxfp8-e5m2", "mxfp4", false},
                      FormatCase{"mxfp6-e2m3", "mxfp6-e3m2", false},
                      FormatCase{"bf16", "bf16", false},
                      FormatCase{"nvfp4", "nvfp4", false},
                      FormatCase{"nvfp4", "nvfp4", true},
                      FormatCase{"fp8-e4m3", "fp8-e4m3", false},
                      FormatCase{"fp8-e5m2", "fp8-e4m3", true},
                      FormatCase{"bf16", "mxfp4", false}));

TEST(MaiaMatmulTest, SplitKContinuesTheChain) {
  // K = 128 as two accumulating mm's of 64 (whole MX blocks) gives the
  // single k-ascending chain exactly.
  const size_t m = 3, n = 4, k = 128, half = 64;
  std::vector<float> x = randomMatrix(m, k, 3), w = randomMatrix(n, k, 4);
  numerics::QuantScheme mx = scheme("mxfp4");
  auto columns = [](const std::vector<float> &v, size_t rows, size_t cols,
                    size_t begin, size_t count) {
    std::vector<float> out;
    for (size_t r = 0; r < rows; ++r)
      out.insert(out.end(), v.begin() + r * cols + begin,
                 v.begin() + r * cols + begin + count);
    return out;
  };
  Program program;
  uint64_t offset = 0;
  BufferRef y = placeF32(program, "y", 0, offset, m * n);
  for (size_t part = 0; part < 2; ++part) {
    std::string suffix = std::to_string(part);
    TensorOperand a =
        placeQuantized(program, "x" + suffix, 0, offset,
                       columns(x, m, k, part * half, half), m, half, mx);
    TensorOperand b =
        placeQuantized(program, "w" + suffix, 0, offset,
                       columns(w, n, k, part * half, half), n, half, mx);
    program.getOrCreateTile(0).instructions.push_back(
        makeMatmul(m, n, half, a, b, y, part == 1));
  }
  std::vector<float> expected = referenceProduct(
      fakeQuantized(x, m, k, mx), fakeQuantized(w, n, k, mx), m, n, k);
  EXPECT_TRUE(bitIdentical(readFloats(run(program), "y"), expected));
}

TEST(MaiaMatmulTest, OnChipRowQuantizationMatchesTheEvaluatorScheme) {
  // vec.quant with per-row NVFP4 scales quantizes each token's row alone,
  // as the reference evaluator quantizes activations.
  const size_t m = 4, n = 3, k = 64;
  std::vector<float> x = randomMatrix(m, k, 5), w = randomMatrix(n, k, 6);
  numerics::QuantScheme nv = scheme("nvfp4");
  Program program;
  uint64_t offset = 0;
  uint32_t xIndex = program.addBuffer(
      Buffer{"x", MemoryLevel::TSRAM, 0, offset, 4 * m * k, FloatFormat::F32});
  program.data.push_back(DataSegment{BufferRef{xIndex, 0}, floatBytes(x)});
  offset += 4 * m * k;
  TensorOperand a;
  a.format = FloatFormat::F4E2M1FN;
  a.scaleMode = ScaleMode::NVFP4Rows;
  a.block = 16;
  a.data =
      BufferRef{program.addBuffer(Buffer{"xq", MemoryLevel::TSRAM, 0, offset,
                                         m * k / 2, FloatFormat::F4E2M1FN}),
                0};
  offset += m * k / 2;
  a.scales =
      BufferRef{program.addBuffer(Buffer{"xs", MemoryLevel::TSRAM, 0, offset,
                                         *getScaleBytes(a.scaleMode, 16, m, k),
                                         FloatFormat::F8E4M3FN}),
                0};
  offset += 64;
  TensorOperand b = placeQuantized(program, "w", 0, offset, w, n, k, nv);
  BufferRef y = placeF32(program, "y", 0, offset, m * n);
  VecQuantizeInst quant;
  quant.rows = m;
  quant.len = k;
  quant.dst = a;
  quant.src = BufferRef{xIndex, 0};
  quant.sync.signal = SemRef{0, 0};
  MatmulInst mm = makeMatmul(m, n, k, a, b, y, false);
  mm.sync.waits.push_back(SemWait{SemRef{0, 0}, 1});
  program.getOrCreateTile(0).instructions = {quant, mm};

  std::vector<float> expected = referenceProduct(
      fakeQuantized(x, m, k, nv, true), fakeQuantized(w, n, k, nv), m, n, k);
  EXPECT_TRUE(bitIdentical(readFloats(run(program), "y"), expected));
}

TEST(MaiaVectorTest, SoftmaxAndNormMatchDirectComputation) {
  // softmax(x) row by row: rmax, subtract (column broadcast), exp, rsum,
  // divide; then an RMS norm factor 1 / sqrt(sumsq / n + eps).
  const size_t rows = 3, len = 20;
  std::vector<float> x = randomMatrix(rows, len, 7);
  Program program;
  uint64_t offset = 0;
  BufferRef in = placeF32(program, "x", 0, offset, rows * len);
  program.data.push_back(DataSegment{in, floatBytes(x)});
  BufferRef p = placeF32(program, "p", 0, offset, rows * len);
  BufferRef r = placeF32(program, "r", 0, offset, rows);
  BufferRef norm = placeF32(program, "norm", 0, offset, rows);
  auto binary = [&](VecBinaryOp op, BufferRef dst, BufferRef a, BufferRef b,
                    Broadcast broadcast, uint32_t n, float scalar = 0) {
    VecBinaryInst i;
    i.op = op;
    i.rows = rows;
    i.len = n;
    i.dst = dst;
    i.a = a;
    i.broadcast = broadcast;
    if (broadcast == Broadcast::Scalar)
      i.scalar = scalar;
    else
      i.b = b;
    return i;
  };
  auto reduce = [&](VecReduceOp op, BufferRef dst, BufferRef a) {
    VecReduceInst i;
    i.op = op;
    i.rows = rows;
    i.len = len;
    i.dst = dst;
    i.a = a;
    return i;
  };
  VecUnaryInst exp;
  exp.op = VecUnaryOp::Exp;
  exp.rows = rows;
  exp.len = len;
  exp.dst = exp.a = p;
  VecUnaryInst rsqrt;
  rsqrt.op = VecUnaryOp::Rsqrt;
  rsqrt.rows = 1;
  rsqrt.len = rows;
  rsqrt.dst = rsqrt.a = norm;
  // One stream on one unit: in-order completion keeps the data dependencies.
  program.getOrCreateTile(0).instructions = {
      reduce(VecReduceOp::Max, r, in),
      binary(VecBinaryOp::Sub, p, in, r, Broadcast::Column, len),
      exp,
      reduce(VecReduceOp::Sum, r, p),
      binary(VecBinaryOp::Div, p, p, r, Broadcast::Column, len),
      reduce(VecReduceOp::SumSquares, norm, in),
      binary(VecBinaryOp::Div, norm, norm, {}, Broadcast::Scalar, 1,
             float(len)),
      binary(VecBinaryOp::Add, norm, norm, {}, Broadcast::Scalar, 1, 1e-5f),
      rsqrt};
  // The last three ops treat norm as [rows, 1]; fix their shapes.
  for (size_t i = 6; i < 8; ++i) {
    auto &op = std::get<VecBinaryInst>(program.tiles[0].instructions[i]);
    op.rows = 1;
    op.len = rows;
  }
  SimResult result = run(program);

  std::vector<float> softmax(rows * len), expectedNorm(rows);
  for (size_t row = 0; row < rows; ++row) {
    const float *xr = x.data() + row * len;
    float max = xr[0];
    for (size_t j = 1; j < len; ++j)
      max = std::max(max, xr[j]);
    float sum = 0.0f;
    for (size_t j = 0; j < len; ++j) {
      softmax[row * len + j] = std::exp(xr[j] - max);
      sum += softmax[row * len + j];
    }
    for (size_t j = 0; j < len; ++j)
      softmax[row * len + j] /= sum;
    float squares = 0.0f;
    for (size_t j = 0; j < len; ++j)
      squares = std::fmaf(xr[j], xr[j], squares);
    expectedNorm[row] = 1.0f / std::sqrt(squares / float(len) + 1e-5f);
  }
  EXPECT_TRUE(bitIdentical(readFloats(result, "p"), softmax));
  EXPECT_TRUE(bitIdentical(readFloats(result, "norm"), expectedNorm));
}

TEST(MaiaDmaTest, StridedCopyAndMulticast) {
  // A 4 x 6 f32 matrix in HBM; copy the first 3 rows of its transpose
  // (columns 0..2 of the original) to tile 4, multicast to tiles 5 and 7.
  std::vector<float> matrix(24);
  for (size_t i = 0; i < matrix.size(); ++i)
    matrix[i] = float(i);
  Program program;
  uint32_t h = program.addBuffer(
      Buffer{"h", MemoryLevel::HBM, 0, 1 << 20, 96, FloatFormat::F32});
  program.data.push_back(DataSegment{BufferRef{h, 0}, floatBytes(matrix)});
  uint32_t t = program.addBuffer(
      Buffer{"t", MemoryLevel::TSRAM, 4, 256, 48, FloatFormat::F32});
  program.addBuffer(
      Buffer{"t5", MemoryLevel::TSRAM, 5, 256, 48, FloatFormat::F32});
  program.addBuffer(
      Buffer{"t6", MemoryLevel::TSRAM, 6, 256, 48, FloatFormat::F32});
  DmaInst dma;
  dma.src = BufferRef{h, 0};
  dma.dst = BufferRef{t, 0};
  dma.elementBytes = 4;
  dma.counts = {1, 3, 4};      // Out row j = original column j.
  dma.srcStrides = {0, 4, 24}; // Column step 4 bytes, row step 24.
  dma.dstStrides = {0, 16, 4};
  dma.multicast = 0b1011; // Tiles 4, 5 and 7 of cluster 1.
  program.getOrCreateTile(4).instructions.push_back(dma);
  SimResult result = run(program);
  std::vector<float> expected = {0, 6, 12, 18, 1, 7, 13, 19, 2, 8, 14, 20};
  EXPECT_EQ(readFloats(result, "t"), expected);
  EXPECT_EQ(readFloats(result, "t5"), expected);
  EXPECT_EQ(readFloats(result, "t6"), std::vector<float>(12, 0.0f));
  std::vector<uint8_t> tile7(48);
  ASSERT_FALSE(
      bool(result.getMemory()->get(MemoryLevel::TSRAM, 7).read(256, tile7)));
  EXPECT_EQ(bytesToFloats(tile7), expected);
  // Bytes: one HBM read, three TSRAM writes.
  EXPECT_EQ(result.report.bytes.hbmRead, 48u);
  EXPECT_EQ(result.report.bytes.tsramWrite, 3 * 48u);
}

//===----------------------------------------------------------------------===//
// Timing
//===----------------------------------------------------------------------===//

/// A program with one mm of the given formats on tile 0 and nothing else.
Program singleMatmul(const char *aScheme, const char *bScheme, size_t m,
                     size_t n, size_t k) {
  Program program;
  uint64_t offset = 0;
  TensorOperand a = placeQuantized(
      program, "a", 0, offset, randomMatrix(m, k, 8), m, k, scheme(aScheme));
  TensorOperand b = placeQuantized(
      program, "b", 0, offset, randomMatrix(n, k, 9), n, k, scheme(bScheme));
  BufferRef c = placeF32(program, "c", 0, offset, m * n);
  program.getOrCreateTile(0).instructions.push_back(
      makeMatmul(m, n, k, a, b, c, false));
  return program;
}

TEST(MaiaTimingTest, SingleMatmulRunsAtTheAnalyticRate) {
  TargetModel t = maia200();
  const size_t m = 256, n = 256, k = 256;
  const uint64_t macs = uint64_t(m) * n * k;
  struct Case {
    const char *a, *b;
    int64_t macsPerCycle;
    ComputeClass cls;
  } cases[] = {{"mxfp4", "mxfp4", t.macsPerCycleFP4, ComputeClass::FP4},
               {"nvfp4", "mxfp4", t.macsPerCycleFP4, ComputeClass::FP4},
               {"mxfp8-e4m3", "mxfp4", t.macsPerCycleFP8, ComputeClass::FP8},
               {"fp8-e5m2", "fp8-e4m3", t.macsPerCycleFP8, ComputeClass::FP8},
               {"bf16", "bf16", t.macsPerCycleBF16, ComputeClass::BF16},
               {"bf16", "mxfp4", t.macsPerCycleBF16, ComputeClass::BF16}};
  for (const Case &c : cases) {
    SimOptions timingOnly;
    timingOnly.functional = false;
    SimResult result = run(singleMatmul(c.a, c.b, m, n, k), timingOnly);
    uint64_t expected = macs / uint64_t(c.macsPerCycle);
    EXPECT_EQ(result.report.cycles, expected) << c.a << " x " << c.b;
    EXPECT_DOUBLE_EQ(result.report.seconds, double(expected) / t.clockHz);
    EXPECT_EQ(result.report.macsByClass[size_t(c.cls)], macs);
    ASSERT_EQ(result.report.units.size(), 1u);
    EXPECT_EQ(result.report.units[0].unit.getName(), "tile0.ttu");
    EXPECT_DOUBLE_EQ(
        result.report.getUtilization(result.report.units[0].busyCycles), 1.0);
    EXPECT_EQ(result.getMemory(), nullptr);
  }
}

TEST(MaiaTimingTest, NarrowMatmulIsBoundByTsramPorts) {
  // A GEMV reads its weights faster than the TTU could use them.
  TargetModel t = maia200();
  SimOptions timingOnly;
  timingOnly.functional = false;
  const size_t n = 1024, k = 1024;
  SimResult result = run(singleMatmul("mxfp4", "mxfp4", 1, n, k), timingOnly);
  uint64_t readBytes = (k / 2 + k / 32) + n * (k / 2 + k / 32);
  uint64_t expected =
      (readBytes + t.tsramReadBytesPerCycle - 1) / t.tsramReadBytesPerCycle;
  EXPECT_EQ(result.report.cycles, expected);
  EXPECT_GT(result.report.cycles, n * k / uint64_t(t.macsPerCycleFP4));
}

/// A DMA of `bytes` from a fresh HBM buffer into `level` of cluster/tile
/// `unit`, issued by `tile`.
DmaInst addLoad(Program &program, uint32_t tile, MemoryLevel level,
                uint32_t unit, uint64_t bytes, uint32_t queue) {
  std::string name = "load" + std::to_string(program.buffers.size());
  uint32_t src = program.addBuffer(Buffer{name + ".hbm", MemoryLevel::HBM, 0,
                                          program.buffers.size() * bytes, bytes,
                                          FloatFormat::F32});
  uint32_t dst =
      program.addBuffer(Buffer{name, level, unit, 0, bytes, FloatFormat::F32});
  DmaInst dma;
  dma.queue.index = queue;
  dma.src = BufferRef{src, 0};
  dma.dst = BufferRef{dst, 0};
  dma.elementBytes = uint32_t(bytes);
  program.getOrCreateTile(tile).instructions.push_back(dma);
  return dma;
}

TEST(MaiaTimingTest, DmaTimeIsSetupPlusSlowestChannelPlusLatency) {
  TargetModel t = maia200();
  SimOptions timingOnly;
  timingOnly.functional = false;
  const uint64_t bytes = 1 << 20;
  uint64_t latency = uint64_t(std::llround(t.hbmLatencySeconds * t.clockHz));
  auto cyclesAt = [](uint64_t b, double perCycle) {
    return uint64_t(std::ceil(double(b) / perCycle));
  };
  // HBM -> TSRAM: the cluster link (826 B/cycle) is slower than the tile
  // port (1 KiB/cycle) and HBM.
  Program toTsram;
  addLoad(toTsram, 0, MemoryLevel::TSRAM, 0, bytes, 0);
  EXPECT_EQ(run(toTsram, timingOnly).report.cycles,
            uint64_t(t.dmaSetupCycles) +
                cyclesAt(bytes, t.clusterDmaBytesPerSecond / t.clockHz) +
                latency);
  // CSRAM -> TSRAM: the tile port only, no HBM latency.
  Program onChip;
  uint32_t c = onChip.addBuffer(
      Buffer{"c", MemoryLevel::CSRAM, 0, 0, bytes, FloatFormat::F32});
  uint32_t ts = onChip.addBuffer(
      Buffer{"ts", MemoryLevel::TSRAM, 1, 0, bytes, FloatFormat::F32});
  DmaInst dma;
  dma.src = BufferRef{c, 0};
  dma.dst = BufferRef{ts, 0};
  dma.elementBytes = uint32_t(bytes);
  dma.multicast = 0xf;
  onChip.getOrCreateTile(1).instructions.push_back(dma);
  SimResult multicast = run(onChip, timingOnly);
  EXPECT_EQ(multicast.report.cycles,
            uint64_t(t.dmaSetupCycles) +
                bytes / uint64_t(t.csramToTsramBytesPerCycle));
  EXPECT_EQ(multicast.report.bytes.tsramWrite, 4 * bytes);
}

TEST(MaiaTimingTest, HbmBandwidthIsSharedByClusters) {
  TargetModel t = maia200();
  SimOptions timingOnly;
  timingOnly.functional = false;
  const uint64_t bytes = 8 << 20;
  Program program;
  for (uint32_t cluster = 0; cluster < t.clusters; ++cluster)
    addLoad(program, cluster * uint32_t(t.tilesPerCluster), MemoryLevel::CSRAM,
            cluster, bytes, 0);
  SimResult result = run(program, timingOnly);
  // 16 clusters at 1 TB/s each would move 16 TB/s; HBM sustains 5.95 TB/s.
  // The last transfer ends after everyone's bytes have crossed HBM, plus
  // the DMA setup and the HBM latency.
  double seconds = double(t.clusters * bytes) / t.sustainedHbmBytesPerSecond() +
                   double(t.dmaSetupCycles) / t.clockHz + t.hbmLatencySeconds;
  EXPECT_NEAR(result.report.seconds, seconds, 1e-3 * seconds);
  // One cluster alone runs at its link's rate.
  Program alone;
  addLoad(alone, 0, MemoryLevel::CSRAM, 0, bytes, 0);
  double aloneSeconds = double(bytes) / t.clusterDmaBytesPerSecond +
                        double(t.dmaSetupCycles) / t.clockHz +
                        t.hbmLatencySeconds;
  EXPECT_NEAR(run(alone, timingOnly).report.seconds, aloneSeconds,
              1e-3 * aloneSeconds);
  // The program never allocates the HBM it names.
  EXPECT_EQ(result.getMemory(), nullptr);
}

/// Streams `chunks` weight tiles from HBM through TSRAM into accumulating
/// mm's, with two buffers (loads of chunk i+2 overlap mm i+1) or one.
Program weightStream(bool doubleBuffered, int chunks) {
  const uint32_t m = 256, n = 256, k = 256;
  const uint64_t codeBytes = n * k / 2, scaleBytes = n * k / 32;
  Program program;
  uint64_t offset = 0;
  TensorOperand a = placeQuantized(
      program, "a", 0, offset, randomMatrix(m, k, 10), m, k, scheme("mxfp4"));
  BufferRef c = placeF32(program, "c", 0, offset, uint64_t(m) * n);
  int slots = doubleBuffered ? 2 : 1;
  std::vector<TensorOperand> slot(slots);
  for (int s = 0; s < slots; ++s) {
    std::string id = std::to_string(s);
    slot[s].format = FloatFormat::F4E2M1FN;
    slot[s].scaleMode = ScaleMode::MX;
    slot[s].block = 32;
    slot[s].data.buffer =
        program.addBuffer(Buffer{"w" + id, MemoryLevel::TSRAM, 0, offset,
                                 codeBytes, FloatFormat::F4E2M1FN});
    offset += codeBytes;
    slot[s].scales.buffer =
        program.addBuffer(Buffer{"ws" + id, MemoryLevel::TSRAM, 0, offset,
                                 scaleBytes, FloatFormat::F8E8M0FNU});
    offset += scaleBytes;
  }
  uint32_t hbmCodes =
      program.addBuffer(Buffer{"w.hbm", MemoryLevel::HBM, 0, 0,
                               chunks * codeBytes, FloatFormat::F4E2M1FN});
  uint32_t hbmScales = program.addBuffer(
      Buffer{"ws.hbm", MemoryLevel::HBM, 0, uint64_t(chunks) * codeBytes,
             chunks * scaleBytes, FloatFormat::F8E8M0FNU});
  std::vector<Instruction> &code = program.getOrCreateTile(0).instructions;
  // Semaphores: s0/s1 = slot loaded (two DMAs each), s2/s3 = slot free.
  auto load = [&](int chunk) {
    int s = chunk % slots;
    for (int part = 0; part < 2; ++part) {
      uint64_t size = part ? scaleBytes : codeBytes;
      DmaInst dma;
      dma.queue.index = uint32_t(s);
      dma.src = BufferRef{part ? hbmScales : hbmCodes, chunk * size};
      dma.dst = part ? slot[s].scales : slot[s].data;
      dma.elementBytes = uint32_t(size);
      if (chunk >= slots && part == 0)
        dma.sync.waits.push_back(SemWait{SemRef{0, uint32_t(2 + s)}, 1});
      dma.sync.signal = SemRef{0, uint32_t(s)};
      code.push_back(dma);
    }
  };
  auto multiply = [&](int chunk) {
    int s = chunk % slots;
    MatmulInst mm = makeMatmul(m, n, k, a, slot[s], c, chunk > 0);
    mm.sync.waits.push_back(SemWait{SemRef{0, uint32_t(s)}, 2});
    mm.sync.signal = SemRef{0, uint32_t(2 + s)};
    code.push_back(mm);
  };
  for (int chunk = 0; chunk < slots; ++chunk)
    load(chunk);
  for (int chunk = 0; chunk < chunks; ++chunk) {
    multiply(chunk);
    if (chunk + slots < chunks)
      load(chunk + slots);
  }
  return program;
}

TEST(MaiaTimingTest, DoubleBufferingOverlapsDmaAndCompute) {
  SimOptions options;
  options.functional = false;
  options.trace = true;
  SimResult pipelined = run(weightStream(true, 8), options);
  SimResult serial = run(weightStream(false, 8), options);
  auto busy = [](const SimResult &r, UnitKind kind) {
    return r.report.kinds[size_t(kind)].busyCycles;
  };
  uint64_t parts =
      busy(pipelined, UnitKind::TTU) + busy(pipelined, UnitKind::TileQueue);
  EXPECT_LT(pipelined.report.cycles, parts);
  EXPECT_LT(pipelined.report.cycles, serial.report.cycles);
  // With one buffer nothing overlaps: every load waits for the previous mm.
  EXPECT_GE(serial.report.cycles, busy(serial, UnitKind::TTU) +
                                      busy(serial, UnitKind::TileQueue) / 2);
  // The trace has one event per command and per DMA channel use.
  size_t commands = 0;
  for (const TraceEvent &e : pipelined.trace)
    commands +=
        e.unit.kind == UnitKind::TTU || e.unit.kind == UnitKind::TileQueue;
  EXPECT_EQ(commands, pipelined.report.commands);
  llvm::json::Value chrome = toChromeTrace(pipelined, maia200());
  EXPECT_TRUE(chrome.getAsObject()->getArray("traceEvents"));
}

TEST(MaiaTimingTest, SemaphoreLatencyDependsOnDistance) {
  TargetModel t = maia200();
  auto waitFor = [&](uint32_t waiter) {
    Program program;
    program.getOrCreateTile(0).instructions.push_back(
        SemSignalInst{SemRef{waiter, 3}, 1});
    program.getOrCreateTile(waiter).instructions.push_back(
        SemWaitInst{SemRef{waiter, 3}, 1});
    return run(program).report.cycles;
  };
  EXPECT_EQ(waitFor(0), uint64_t(t.semWaitCyclesSameTile));
  EXPECT_EQ(waitFor(3), uint64_t(t.semWaitCyclesSameCluster));
  EXPECT_EQ(waitFor(20), uint64_t(t.semWaitCyclesOtherCluster));

  Program barrier;
  for (uint32_t tile : {0u, 1u, 9u})
    barrier.getOrCreateTile(tile).instructions.push_back(
        BarrierInst{{0, 1, 9}});
  EXPECT_EQ(run(barrier).report.cycles, uint64_t(t.semWaitCyclesOtherCluster));
}

TEST(MaiaSimulatorTest, DeadlockNamesEveryWaitingTile) {
  Program program;
  // Tile 0 waits for tile 1's signal and tile 1 for tile 0's: neither
  // signal is ever reached.
  program.getOrCreateTile(0).instructions = {SemWaitInst{SemRef{0, 1}, 1},
                                             SemSignalInst{SemRef{1, 2}, 1}};
  program.getOrCreateTile(1).instructions = {SemWaitInst{SemRef{1, 2}, 2},
                                             SemSignalInst{SemRef{0, 1}, 1}};
  // Tile 5 waits at a barrier that tile 6 never reaches; tile 7 has a
  // command whose wait is never satisfied.
  program.getOrCreateTile(5).instructions = {BarrierInst{{5, 6}}};
  program.getOrCreateTile(6).instructions = {HaltInst{}};
  uint32_t buffer = program.addBuffer(
      Buffer{"v", MemoryLevel::TSRAM, 7, 0, 16, FloatFormat::F32});
  VecUnaryInst copy;
  copy.rows = 1;
  copy.len = 4;
  copy.dst = copy.a = BufferRef{buffer, 0};
  copy.sync.waits = {SemWait{SemRef{7, 0}, 1}};
  program.getOrCreateTile(7).instructions = {HaltInst{}};
  program.getOrCreateTile(7).instructions.insert(
      program.getOrCreateTile(7).instructions.begin(), copy);
  llvm::Expected<SimResult> result = simulate(program, maia200());
  ASSERT_FALSE(bool(result));
  EXPECT_EQ(llvm::toString(result.takeError()),
            "deadlock at cycle 0: no command can run while 4 tiles wait\n"
            "  tile 0, instruction 0 (sem.wait): waits on t0.s1 (holds 0, "
            "needs 1)\n"
            "  tile 1, instruction 0 (sem.wait): waits on t1.s2 (holds 0, "
            "needs 2)\n"
            "  tile 5, instruction 0 (barrier): waits at a barrier for tiles "
            "6\n"
            "  tile 7, instruction 0 (vec.copy): waits on t7.s0 (holds 0, "
            "needs 1)");
}

TEST(MaiaSimulatorTest, InputsAndErrors) {
  Program program;
  uint32_t v = program.addBuffer(
      Buffer{"v", MemoryLevel::TSRAM, 0, 0, 8, FloatFormat::F32});
  VecBinaryInst twice;
  twice.op = VecBinaryOp::Mul;
  twice.rows = 1;
  twice.len = 2;
  twice.dst = twice.a = BufferRef{v, 0};
  twice.broadcast = Broadcast::Scalar;
  twice.scalar = 2;
  program.getOrCreateTile(0).instructions.push_back(twice);
  SimOptions options;
  options.inputs.push_back({"v", floatBytes({1.5f, -3.0f})});
  EXPECT_EQ(readFloats(run(program, options), "v"),
            std::vector<float>({3.0f, -6.0f}));

  options.inputs[0].bytes.resize(12);
  llvm::Expected<SimResult> tooBig = simulate(program, maia200(), options);
  ASSERT_FALSE(bool(tooBig));
  EXPECT_EQ(llvm::toString(tooBig.takeError()),
            "input of 12 bytes does not fit buffer 'v' of 8 bytes");
  SimOptions timingOnly;
  timingOnly.functional = false;
  SimResult timing = run(program, timingOnly);
  llvm::Expected<std::vector<uint8_t>> none = timing.readBuffer("v");
  ASSERT_FALSE(bool(none));
  EXPECT_EQ(llvm::toString(none.takeError()),
            "buffer 'v' has no data: the run was timing-only");

  // Memories check every access, whatever the program says.
  SparseMemory memory("tsram[0]", 100);
  std::vector<uint8_t> bytes(8);
  llvm::Error error = memory.read(96, bytes);
  ASSERT_TRUE(bool(error));
  EXPECT_EQ(llvm::toString(std::move(error)),
            "access of 8 bytes at address 96 is outside the 100 bytes of "
            "tsram[0]");
}

} // namespace
