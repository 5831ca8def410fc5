//===- SensitivityTest.cpp - layer groups and measured sensitivity --------===//
//
// Grouping follows shared activations (Q/K/V, gate/up); measurements are
// zero without an assignment, grow with coarser formats, leave the module
// unchanged and repeat exactly.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Precision/Sensitivity.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mixtile;

namespace {

class SensitivityTest : public ::testing::Test {
protected:
  SensitivityTest() {
    registerAllDialects(registry);
    ctx = std::make_unique<mlir::MLIRContext>(registry);
    auto request = parseSynthesisRequest(
        R"({"dim": 32, "hidden_dim": 72, "n_layers": 2, "n_heads": 4,
            "n_kv_heads": 2, "vocab_size": 48, "max_seq_len": 32,
            "seed": 4})",
        "test");
    EXPECT_TRUE(bool(request));
    module = buildSyntheticModel(ctx.get(), *request);
  }

  xfmr::PrecisionAttr record(mlir::Type weights, mlir::Type scale,
                             int64_t block) {
    mlir::Builder b(ctx.get());
    return xfmr::PrecisionAttr::get(ctx.get(), weights, b.getBF16Type(), scale,
                                    block, b.getF32Type(), mlir::Type());
  }

  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  WeightStore store;
};

TEST_F(SensitivityTest, GroupsFollowSharedActivations) {
  std::vector<LayerGroup> groups = groupLayers(*module);
  std::vector<std::string> names;
  for (const LayerGroup &g : groups)
    names.push_back(g.name);
  std::vector<std::string> expected = {"tok_embeddings"};
  for (std::string l : {"layers.0.", "layers.1."}) {
    expected.push_back(l + "attention.wq," + l + "attention.wk," + l +
                       "attention.wv");
    expected.push_back(l + "attention.wo");
    expected.push_back(l + "feed_forward.w1," + l + "feed_forward.w3");
    expected.push_back(l + "feed_forward.w2");
  }
  expected.push_back("output");
  EXPECT_EQ(names, expected);
}

TEST_F(SensitivityTest, MeasuresDivergenceFromFP32) {
  std::vector<std::vector<int32_t>> sequences = {{1, 5, 9, 13, 2, 40},
                                                 {1, 47, 0, 3}};
  auto measurer = SensitivityMeasurer::create(*module, store, sequences);
  ASSERT_TRUE(bool(measurer)) << llvm::toString(measurer.takeError());
  std::vector<LayerGroup> groups = groupLayers(*module);
  const LayerGroup *w2 = &groups[4]; // layers.0.feed_forward.w2

  auto none = (*measurer)->measure({});
  ASSERT_TRUE(bool(none));
  EXPECT_EQ(none->positions, 10);
  EXPECT_EQ(none->meanKL(), 0);

  mlir::Builder b(ctx.get());
  auto bf16 = (*measurer)->measure({{w2, record(b.getBF16Type(), {}, 0)}});
  auto mxfp4 = (*measurer)->measure(
      {{w2, record(b.getType<mlir::Float4E2M1FNType>(),
                   b.getType<mlir::Float8E8M0FNUType>(), 32)}});
  auto again = (*measurer)->measure(
      {{w2, record(b.getType<mlir::Float4E2M1FNType>(),
                   b.getType<mlir::Float8E8M0FNUType>(), 32)}});
  ASSERT_TRUE(bf16 && mxfp4 && again);
  EXPECT_GT(bf16->meanKL(), 0);
  EXPECT_GT(mxfp4->meanKL(), 10 * bf16->meanKL());
  EXPECT_EQ(mxfp4->klSum, again->klSum);
  // The module is left without records.
  for (const LayerGroup &g : groups)
    for (xfmr::PrecisionOpInterface op : g.ops)
      EXPECT_FALSE(op.getPrecisionRecord());
}

TEST_F(SensitivityTest, ParallelRunsEqualSerialOnes) {
  std::vector<std::vector<int32_t>> sequences = {{1, 5, 9, 13, 2, 40},
                                                 {1, 47, 0, 3, 8}};
  std::vector<LayerGroup> groups = groupLayers(*module);
  mlir::Builder b(ctx.get());
  xfmr::PrecisionAttr mxfp4 = record(b.getType<mlir::Float4E2M1FNType>(),
                                     b.getType<mlir::Float8E8M0FNUType>(), 32);
  std::vector<Assignment> assignments;
  for (const LayerGroup &g : groups)
    assignments.push_back({{&g, mxfp4}});
  auto serial = SensitivityMeasurer::create(*module, store, sequences, 1);
  auto parallel = SensitivityMeasurer::create(*module, store, sequences, 2);
  ASSERT_TRUE(serial && parallel);
  size_t lastDone = 0;
  auto one = (*serial)->measureAll(assignments);
  auto two = (*parallel)->measureAll(assignments,
                                     [&](size_t done) { lastDone = done; });
  ASSERT_TRUE(one && two);
  EXPECT_EQ(lastDone, assignments.size());
  for (size_t i = 0; i < assignments.size(); ++i) {
    EXPECT_EQ((*one)[i].klSum, (*two)[i].klSum) << groups[i].name;
    EXPECT_EQ((*one)[i].candidateNLLSum, (*two)[i].candidateNLLSum);
  }
  // The actual next tokens are scored: 5 + 4 predictions.
  EXPECT_EQ((*one)[0].predictions, 9);
}

TEST_F(SensitivityTest, LocalErrorGrowsWithCoarserFormats) {
  std::vector<std::vector<int32_t>> sequences = {{1, 5, 9, 13, 2, 40},
                                                 {1, 47, 0, 3}};
  auto local = LocalErrorModel::create(*module, store, sequences, 64);
  ASSERT_TRUE(bool(local)) << llvm::toString(local.takeError());
  mlir::Builder b(ctx.get());
  xfmr::PrecisionAttr bf16 = record(b.getBF16Type(), {}, 0);
  xfmr::PrecisionAttr mxfp4 = record(b.getType<mlir::Float4E2M1FNType>(),
                                     b.getType<mlir::Float8E8M0FNUType>(), 32);
  for (const LayerGroup &g : groupLayers(*module)) {
    auto fine = (*local)->relativeError(g, bf16);
    auto coarse = (*local)->relativeError(g, mxfp4);
    ASSERT_TRUE(fine && coarse);
    // BF16 keeps 8 mantissa bits (relative squared error ~1e-5); E2M1 one.
    EXPECT_GT(*fine, 0) << g.name;
    EXPECT_LT(*fine, 1e-4) << g.name;
    EXPECT_GT(*coarse, 100 * *fine) << g.name;
    EXPECT_LT(*coarse, 0.1) << g.name;
  }
}

TEST_F(SensitivityTest, SampledOutputsEstimateEveryOutput) {
  // Large enough that 32 kept outputs are a real sample of every product.
  auto request = parseSynthesisRequest(
      R"({"dim": 128, "hidden_dim": 344, "n_layers": 2, "n_heads": 4,
          "n_kv_heads": 2, "vocab_size": 512, "max_seq_len": 32,
          "seed": 6})",
      "test");
  ASSERT_TRUE(bool(request));
  mlir::OwningOpRef<mlir::ModuleOp> wide =
      buildSyntheticModel(ctx.get(), *request);
  std::vector<LayerGroup> groups = groupLayers(*wide);
  auto full = LocalErrorModel::createFromProbes(groups, store, 32, 1);
  auto sampled = LocalErrorModel::createFromProbes(groups, store, 32, 1, 32);
  ASSERT_TRUE(full && sampled);
  mlir::Builder b(ctx.get());
  xfmr::PrecisionAttr candidates[] = {
      record(b.getBF16Type(), {}, 0),
      record(b.getType<mlir::Float8E4M3FNType>(), b.getF32Type(), 0),
      record(b.getType<mlir::Float4E2M1FNType>(),
             b.getType<mlir::Float8E8M0FNUType>(), 32)};
  for (xfmr::PrecisionAttr candidate : candidates) {
    double fullSum = 0, sampledSum = 0;
    for (const LayerGroup &g : groups) {
      auto exact = (*full)->relativeError(g, candidate);
      auto estimate = (*sampled)->relativeError(g, candidate);
      ASSERT_TRUE(exact && estimate);
      EXPECT_GT(*exact, 0) << g.name;
      // One group's estimate is a sample of 32 outputs of 128 to 512.
      EXPECT_NEAR(*estimate / *exact, 1.0, 0.35) << g.name;
      fullSum += *exact;
      sampledSum += *estimate;
    }
    // The budget bounds the sum, where the sampling errors average out.
    EXPECT_NEAR(sampledSum / fullSum, 1.0, 0.1);
  }
}

TEST(SpearmanTest, RanksWithTies) {
  EXPECT_DOUBLE_EQ(spearmanCorrelation({1, 2, 3, 4}, {10, 20, 30, 40}), 1);
  EXPECT_DOUBLE_EQ(spearmanCorrelation({1, 2, 3, 4}, {4, 3, 2, 1}), -1);
  // Monotone but not linear: still 1.
  EXPECT_DOUBLE_EQ(spearmanCorrelation({1, 2, 3}, {1, 100, 1e6}), 1);
  // Ties share their mean rank: ranks (1.5, 1.5, 3) vs (1, 2, 3).
  EXPECT_NEAR(spearmanCorrelation({5, 5, 7}, {1, 2, 3}), std::sqrt(0.75),
              1e-12);
  EXPECT_EQ(spearmanCorrelation({1, 1, 1}, {1, 2, 3}), 0);
}

} // namespace
