//===- TargetModelTest.cpp - target descriptions and the rooflines --------===//
//
// The built-in maia200 reproduces TARGET.md's figures; descriptions round
// trip; bad descriptions name the problem; the rooflines of a product match
// hand computations in both regimes, and its modeled time sits just above
// the bound of its regime.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/CostModel.h"
#include "mixtile/Target/TargetModel.h"

#include "gtest/gtest.h"

using namespace mixtile;

namespace {

TargetModel maia() {
  auto target = TargetModel::load("maia200");
  EXPECT_TRUE(bool(target)) << llvm::toString(target.takeError());
  return *target;
}

TEST(TargetModelTest, Maia200MatchesTheDocumentedFigures) {
  TargetModel t = maia();
  EXPECT_EQ(t.numTiles(), 64);
  // 64 x 2 MiB TSRAM + 16 x 9 MiB CSRAM = 272 MiB.
  EXPECT_EQ(t.sramBytes(), 272ll << 20);
  // Dense FLOPs are 2 per MAC: FP4 10.15 PF, FP8 5.07 PF, BF16 1.27 PF.
  EXPECT_NEAR(2 * t.peakMacsPerSecond(ComputeClass::FP4) / 1e15, 10.15, 0.01);
  EXPECT_NEAR(2 * t.peakMacsPerSecond(ComputeClass::FP8) / 1e15, 5.07, 0.01);
  EXPECT_NEAR(2 * t.peakMacsPerSecond(ComputeClass::BF16) / 1e15, 1.27, 0.01);
  EXPECT_DOUBLE_EQ(t.sustainedHbmBytesPerSecond(), 7.0e12 * 0.85);
  // Semaphore wait latencies: 10 cycles local, 30 in cluster, 150 across.
  EXPECT_EQ(t.semWaitCyclesSameTile, 10);
  EXPECT_EQ(t.semWaitCyclesSameCluster, 30);
  EXPECT_EQ(t.semWaitCyclesOtherCluster, 150);
}

TEST(TargetModelTest, DescriptionsRoundTrip) {
  TargetModel t = maia();
  std::string text;
  llvm::raw_string_ostream(text) << t.toJSON();
  auto again = TargetModel::fromJSON(text, "roundtrip");
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  std::string text2;
  llvm::raw_string_ostream(text2) << again->toJSON();
  EXPECT_EQ(text, text2);
}

std::string errorOf(llvm::StringRef text) {
  auto t = TargetModel::fromJSON(text, "my-target.json");
  return t ? "parsed" : llvm::toString(t.takeError());
}

TEST(TargetModelTest, BadDescriptionsNameTheProblem) {
  std::string good;
  llvm::raw_string_ostream(good) << maia().toJSON();
  EXPECT_EQ(errorOf(good), "parsed");
  EXPECT_EQ(errorOf("{"), "'my-target.json': bad JSON: [1:1, byte=1]: "
                          "Expected object key");
  std::string noClock = good;
  noClock.replace(noClock.find("\"clock_hz\""), 10, "\"clock_hz_x\"");
  EXPECT_EQ(errorOf(noClock),
            "'my-target.json': missing or non-numeric field 'clock_hz'");
  std::string negative = good;
  negative.replace(negative.find("\"clusters\":16"), 13, "\"clusters\":-1");
  EXPECT_EQ(errorOf(negative),
            "'my-target.json': field 'clusters' must be positive");
  std::string noLatency = good;
  noLatency.replace(noLatency.find("\"same_cluster\""), 14,
                    "\"same_clusterx\"");
  EXPECT_EQ(errorOf(noLatency),
            "'my-target.json': semaphore_wait_cycles: 'my-target.json': "
            "missing or non-numeric field 'same_cluster'");
  auto unknown = TargetModel::load("maia900");
  ASSERT_FALSE(bool(unknown));
  EXPECT_EQ(llvm::toString(unknown.takeError()),
            "unknown target 'maia900': not a built-in target (maia200) and "
            "no such file");
}

TEST(CostModelTest, DecodeGemvIsBandwidthBound) {
  TargetModel t = maia();
  ProductFormats mxfp4;
  mxfp4.weights = {4, 8, 32}; // 4.25 bits per weight.
  mxfp4.activations = {8, 8, 32};
  LayerCost c = estimateMatmul(t, 1, 4096, 4096, mxfp4);
  // Bytes: 4096*4096*4.25/8 + 4096*8.25/8 + 4096*16/8.
  double bytes = 4096.0 * 4096 * 4.25 / 8 + 4096 * 8.25 / 8 + 4096 * 2;
  EXPECT_DOUBLE_EQ(c.bytes, bytes);
  EXPECT_DOUBLE_EQ(c.memorySeconds, bytes / (7.0e12 * 0.85));
  // The kernel streams the weights once; the HBM latencies of the first
  // loads and of the last store, and the phase's barrier, come on top.
  EXPECT_GT(c.seconds, c.memorySeconds);
  EXPECT_LT(c.seconds, c.memorySeconds + 4 * t.hbmLatencySeconds);
  EXPECT_FALSE(c.computeBound());
  EXPECT_EQ(mxfp4.computeClass(), ComputeClass::FP8); // W4A8.
}

TEST(CostModelTest, LargePrefillIsComputeBoundAtTheFormatRate) {
  TargetModel t = maia();
  ProductFormats bf16{{16, 0, 0}, {16, 0, 0}, 16};
  ProductFormats fp4{{4, 8, 32}, {4, 8, 32}, 16};
  LayerCost slow = estimateMatmul(t, 32768, 8192, 8192, bf16);
  LayerCost fast = estimateMatmul(t, 32768, 8192, 8192, fp4);
  EXPECT_TRUE(slow.computeBound());
  EXPECT_TRUE(fast.computeBound());
  EXPECT_DOUBLE_EQ(slow.computeSeconds,
                   32768.0 * 8192 * 8192 / (8192.0 * 64 * 1.21e9));
  EXPECT_DOUBLE_EQ(slow.computeSeconds / fast.computeSeconds,
                   8.0); // 65536 / 8192 MACs.
  // The cluster kernel runs both close to the tensor units' rate.
  EXPECT_LT(slow.seconds, 1.05 * slow.computeSeconds);
  EXPECT_LT(fast.seconds, 1.15 * fast.computeSeconds);
}

} // namespace
