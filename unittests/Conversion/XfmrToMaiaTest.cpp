//===- XfmrToMaiaTest.cpp - Maia programs compute the evaluator's logits --===//
//
// A seeded synthetic Llama with a mixed precision plan (MXFP4, NVFP4, FP8,
// MXFP8 activations, BF16) is compiled for the Maia target, run in the
// functional simulator, and compared with the reference evaluator bit for
// bit: a prefill, then decode steps that carry the KV caches from run to run.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Dialect/Xfmr/IR/PrecisionSchemes.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Target/Maia/Simulator.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace mixtile;

namespace {

class XfmrToMaiaTest : public ::testing::Test {
protected:
  XfmrToMaiaTest() {
    registerAllDialects(registry);
    ctx = std::make_unique<mlir::MLIRContext>(registry);
    auto request = parseSynthesisRequest(
        R"({"dim": 64, "hidden_dim": 96, "n_layers": 2, "n_heads": 4,
            "n_kv_heads": 2, "vocab_size": 80, "max_seq_len": 24,
            "seed": 7})",
        "test");
    EXPECT_TRUE(bool(request));
    module = buildSyntheticModel(ctx.get(), *request);
    llvm::Expected<TargetModel> maia200 = TargetModel::load("maia200");
    EXPECT_TRUE(bool(maia200));
    target = *maia200;
  }

  /// Gives every layer whose name contains `pattern` the record of
  /// `weights`/`activations`.
  void assign(llvm::StringRef pattern, llvm::StringRef weights,
              llvm::StringRef activations = "") {
    module->walk([&](xfmr::PrecisionOpInterface op) {
      if (!op.getWeightOperand() ||
          !llvm::StringRef(xfmr::getLayerName(op)).contains(pattern))
        return;
      auto record = xfmr::buildPrecisionRecord(
          ctx.get(), weights, activations, "", [&] { return op->emitError(); });
      ASSERT_TRUE(mlir::succeeded(record));
      op.setPrecisionRecord(*record);
    });
  }

  /// Runs `tokens` at `start` in the simulator, carrying `caches` (buffer
  /// name -> bytes) in and out; returns the logits.
  std::vector<float>
  simulate(std::vector<int32_t> tokens, int64_t start,
           std::map<std::string, std::vector<uint8_t>> &caches) {
    MaiaLoweringOptions options;
    options.tokens = std::move(tokens);
    options.start = start;
    options.tiles = tiles;
    auto lowered = lowerToMaia(*module, store, target, options);
    EXPECT_TRUE(bool(lowered)) << llvm::toString(lowered.takeError());
    if (!lowered)
      return {};
    maia::SimOptions sim;
    for (auto &[name, bytes] : caches)
      sim.inputs.push_back({name, bytes});
    auto result = maia::simulate(lowered->program, target, sim);
    EXPECT_TRUE(bool(result)) << llvm::toString(result.takeError());
    if (!result)
      return {};
    for (const std::vector<std::string> *names :
         {&lowered->keyCaches, &lowered->valueCaches})
      for (const std::string &name : *names) {
        auto bytes = result->readBuffer(name);
        EXPECT_TRUE(bool(bytes));
        caches[name] = std::move(*bytes);
      }
    auto bytes = result->readBuffer(lowered->logits);
    EXPECT_TRUE(bool(bytes));
    std::vector<float> logits(bytes->size() / 4);
    std::memcpy(logits.data(), bytes->data(), bytes->size());
    return logits;
  }

  /// A prefill of `prompt`, then `steps` greedy decode steps, each
  /// compared with the evaluator bit for bit.
  void expectPrefillAndDecodeMatch(std::vector<int32_t> prompt, int steps) {
    auto eval = Evaluator::create(*module, store);
    ASSERT_TRUE(bool(eval)) << llvm::toString(eval.takeError());
    int64_t vocab = (*eval)->vocabSize();
    auto expected = (*eval)->forward(prompt);
    ASSERT_TRUE(bool(expected));
    std::map<std::string, std::vector<uint8_t>> caches;
    std::vector<float> logits = simulate(prompt, 0, caches);
    ASSERT_EQ(logits.size(), expected->size());
    EXPECT_EQ(bits(logits), bits(*expected));
    int64_t position = prompt.size();
    for (int step = 0; step < steps; ++step, ++position) {
      int32_t next = argmaxOfLastRow(logits, vocab);
      auto reference = (*eval)->forward({next});
      ASSERT_TRUE(bool(reference));
      logits = simulate({next}, position, caches);
      ASSERT_EQ(logits.size(), reference->size());
      EXPECT_EQ(bits(logits), bits(*reference)) << "decode step " << step;
    }
  }

  /// The mixed plan of the tests below.
  void assignMixedPlan() {
    assign("tok_embeddings", "fp8-e4m3");
    assign("attention.w", "mxfp4");
    assign("attention.wo", "fp8-e4m3", "fp8-e4m3");
    assign("feed_forward.w1", "nvfp4", "nvfp4");
    assign("feed_forward.w3", "nvfp4", "nvfp4");
    assign("feed_forward.w2", "mxfp8-e4m3", "mxfp8-e4m3");
    assign("output", "bf16");
  }

  static std::vector<uint32_t> bits(const std::vector<float> &values) {
    std::vector<uint32_t> out(values.size());
    std::memcpy(out.data(), values.data(), values.size() * 4);
    return out;
  }

  static int32_t argmaxOfLastRow(const std::vector<float> &logits,
                                 int64_t vocab) {
    const float *row = logits.data() + logits.size() - vocab;
    return std::max_element(row, row + vocab) - row;
  }

  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  WeightStore store;
  TargetModel target;
  unsigned tiles = 8;
};

TEST_F(XfmrToMaiaTest, PrefillAndDecodeMatchTheEvaluatorBitForBit) {
  assignMixedPlan();
  expectPrefillAndDecodeMatch({1, 17, 42, 5, 63, 9, 30}, 4);
}

// On every tile, a decode step's products share each input row within a
// cluster, its attention shares each KV group's cache rows, and the weight
// rings prefetch across phases; with either rope style the products rotate
// their own rows before storing them into the caches.
TEST_F(XfmrToMaiaTest, DecodeOnEveryTileMatchesTheEvaluatorBitForBit) {
  assignMixedPlan();
  tiles = 64;
  expectPrefillAndDecodeMatch({1, 17, 42, 5, 63}, 3);
  module->walk([&](xfmr::RopeOp op) { op.setStyle(xfmr::RopeStyle::half); });
  expectPrefillAndDecodeMatch({3, 8, 21}, 3);
}

// The weight rings load a later phase's weights before the barrier that
// ends the current one: some product reads a slot loaded phases earlier.
TEST_F(XfmrToMaiaTest, DecodeStepsPrefetchWeightsAcrossBarriers) {
  assignMixedPlan();
  MaiaLoweringOptions options;
  options.tokens = {5};
  options.start = 3;
  auto lowered = lowerToMaia(*module, store, target, options);
  ASSERT_TRUE(bool(lowered)) << llvm::toString(lowered.takeError());
  const maia::Program &program = lowered->program;
  int crossed = 0, products = 0;
  for (const maia::TileProgram &stream : program.tiles) {
    // Weight loads by destination, with the phase they were issued in.
    std::map<std::pair<uint32_t, uint64_t>, int> loads;
    int phase = 0;
    for (const maia::Instruction &inst : stream.instructions) {
      if (std::holds_alternative<maia::BarrierInst>(inst))
        ++phase;
      if (const auto *dma = std::get_if<maia::DmaInst>(&inst))
        if (llvm::StringRef(program.buffers[dma->src.buffer].name)
                .ends_with(".codes"))
          loads[{dma->dst.buffer, dma->dst.offset}] = phase;
      if (const auto *mm = std::get_if<maia::MatmulInst>(&inst)) {
        auto it = loads.find({mm->b.data.buffer, mm->b.data.offset});
        if (it == loads.end())
          continue;
        ++products;
        crossed += it->second < phase;
        loads.erase(it);
      }
    }
  }
  EXPECT_GT(products, 0);
  EXPECT_GT(crossed, 0) << "of " << products << " products";
}

} // namespace
