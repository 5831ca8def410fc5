//===- PrecisionTest.cpp - the evaluator follows precision records --------===//
//
// A precision record on one layer must change exactly that layer, exactly as
// quantizing its operands by hand with the Numerics library would.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

/// One embedding and one linear layer (K = 72, so MX blocks are 32, 32 and a
/// partial 8) over synthetic weights; @forward follows the importer's
/// convention without caches.
std::string makeModule(llvm::StringRef precision) {
  return (R"mlir(
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>,
                   %start: index) -> tensor<?x40xf32> {
  %emb = xfmr.weight "tok_embeddings" from "synthetic:9" : tensor<40x72xf32>
  %w = xfmr.weight "layers.0.feed_forward.w2" from "synthetic:9" : tensor<40x72xf32>
  %x = xfmr.embedding %emb[%tokens] : tensor<40x72xf32>, tensor<?xi32> -> tensor<?x72xf32>
  %y = xfmr.linear %x, %w )mlir" +
          precision +
          R"mlir( : (tensor<?x72xf32>, tensor<40x72xf32>) -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
)mlir")
      .str();
}

class PrecisionTest : public ::testing::Test {
protected:
  PrecisionTest() {
    registerAllDialects(registry);
    ctx = std::make_unique<mlir::MLIRContext>(registry);
  }

  std::vector<float> run(llvm::StringRef precision) {
    auto module =
        mlir::parseSourceString<mlir::ModuleOp>(makeModule(precision), ctx.get());
    EXPECT_TRUE(module);
    WeightStore store;
    auto eval = Evaluator::create(*module, store);
    EXPECT_TRUE(bool(eval)) << llvm::toString(eval.takeError());
    auto logits = (*eval)->forward(tokens);
    EXPECT_TRUE(bool(logits));
    return *logits;
  }

  /// y = x * w^T with the evaluator's documented order (FMA, k ascending).
  std::vector<float> reference(const std::vector<float> &w,
                               std::optional<nx::QuantScheme> activations) {
    std::vector<float> emb(40 * 72);
    generateSyntheticTensor(9, "tok_embeddings", {40, 72}, emb);
    std::vector<float> y;
    for (int32_t token : tokens) {
      std::vector<float> x(emb.begin() + token * 72,
                           emb.begin() + (token + 1) * 72);
      if (activations)
        nx::fakeQuantize(x.data(), x.data(), 1, 72, *activations);
      for (int n = 0; n < 40; ++n) {
        float acc = 0.0f;
        for (int k = 0; k < 72; ++k)
          acc = std::fma(x[k], w[n * 72 + k], acc);
        y.push_back(acc);
      }
    }
    return y;
  }

  std::vector<float> weights() {
    std::vector<float> w(40 * 72);
    generateSyntheticTensor(9, "layers.0.feed_forward.w2", {40, 72}, w);
    return w;
  }

  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> ctx;
  std::vector<int32_t> tokens = {1, 5, 39, 0, 17};
};

TEST_F(PrecisionTest, UnannotatedLayerIsExactFP32) {
  EXPECT_EQ(run(""), reference(weights(), std::nullopt));
}

TEST_F(PrecisionTest, MXFP4WeightsMatchHandQuantization) {
  std::vector<float> w = weights();
  nx::fakeQuantize(w.data(), w.data(), 40, 72, *nx::parseQuantScheme("mxfp4"));
  std::vector<float> got =
      run("{precision = #xfmr.precision<weights = f4E2M1FN, activations = "
          "f32, scale = f8E8M0FNU, block = 32, accumulator = f32>}");
  EXPECT_EQ(got, reference(w, std::nullopt));
  EXPECT_NE(got, run(""));
}

TEST_F(PrecisionTest, W4A8QuantizesBothOperands) {
  std::vector<float> w = weights();
  nx::fakeQuantize(w.data(), w.data(), 40, 72, *nx::parseQuantScheme("mxfp4"));
  std::vector<float> got =
      run("{precision = #xfmr.precision<weights = f4E2M1FN, activations = "
          "f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>}");
  EXPECT_EQ(got, reference(w, nx::parseQuantScheme("mxfp8-e4m3")));
}

TEST_F(PrecisionTest, NVFP4AndPerTensorFP8FollowTheirSchemes) {
  std::vector<float> w = weights();
  nx::fakeQuantize(w.data(), w.data(), 40, 72, *nx::parseQuantScheme("nvfp4"));
  EXPECT_EQ(run("{precision = #xfmr.precision<weights = f4E2M1FN, "
                "activations = bf16, scale = f8E4M3FN, block = 16, "
                "accumulator = f32>}"),
            reference(w, nx::parseQuantScheme("bf16")));
  std::vector<float> w8 = weights();
  nx::fakeQuantize(w8.data(), w8.data(), 40, 72,
                   *nx::parseQuantScheme("fp8-e4m3"));
  EXPECT_EQ(run("{precision = #xfmr.precision<weights = f8E4M3FN, "
                "activations = f8E4M3FN, scale = f32, accumulator = f32>}"),
            reference(w8, nx::parseQuantScheme("fp8-e4m3")));
}

TEST_F(PrecisionTest, F16AccumulationIsRejected) {
  auto module = mlir::parseSourceString<mlir::ModuleOp>(
      makeModule("{precision = #xfmr.precision<weights = bf16, activations = "
                 "bf16, accumulator = f16>}"),
      ctx.get());
  ASSERT_TRUE(module);
  WeightStore store;
  auto eval = Evaluator::create(*module, store);
  ASSERT_FALSE(bool(eval));
  EXPECT_NE(llvm::toString(eval.takeError())
                .find("only f32 accumulation is simulated"),
            std::string::npos);
}

} // namespace
