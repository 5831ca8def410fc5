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
    return xfmr::PrecisionAttr::get(ctx.get(), weights, b.getBF16Type(),
                                    scale, block, b.getF32Type(),
                                    mlir::Type());
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

} // namespace
