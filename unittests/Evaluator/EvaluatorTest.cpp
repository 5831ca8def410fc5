//===- EvaluatorTest.cpp - reference evaluator properties -----------------===//
//
// Properties the rest of Mixtile relies on: prefill and token-by-token decode
// agree bit for bit, results do not depend on the thread count, and the
// cache bookkeeping rejects sequences longer than the model allows.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/Llama2C.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/InitAll.h"

#include "mlir/IR/Builders.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <random>

using namespace mixtile;
namespace xfmr = mixtile::xfmr;

namespace {

/// Writes a seeded llama2.c checkpoint (dim 32, hidden 72, 2 layers, 4 heads,
/// 2 KV heads, vocab 48, seq 16) to a temporary file.
std::string writeTinyCheckpoint() {
  const int32_t header[7] = {32, 72, 2, 4, 2, 48, 16};
  int64_t dim = 32, hidden = 72, layers = 2, kv = 16, vocab = 48, seq = 16;
  int64_t floats = vocab * dim +
                   layers * (2 * dim + 2 * dim * dim + 2 * kv * dim +
                             3 * hidden * dim) +
                   dim + seq * 8;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  std::vector<float> body(floats);
  for (float &v : body)
    v = normal(rng);
  llvm::SmallString<128> path;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("tiny", "bin", path));
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  os.write(reinterpret_cast<const char *>(header), sizeof(header));
  os.write(reinterpret_cast<const char *>(body.data()), body.size() * 4);
  return std::string(path);
}

class EvaluatorTest : public ::testing::Test {
protected:
  void SetUp() override {
    registerAllDialects(registry);
    ctx = std::make_unique<mlir::MLIRContext>(registry);
    path = writeTinyCheckpoint();
    auto file = llvm::MemoryBuffer::getFile(path);
    ASSERT_TRUE(bool(file));
    buffer = std::move(*file);
    auto imported = importLlama2C(
        ctx.get(), path,
        {buffer->getBufferStart(), buffer->getBufferSize()});
    ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
    module = std::move(*imported);
  }
  void TearDown() override { llvm::sys::fs::remove(path); }

  /// Runs `tokens` one at a time from position 0 and concatenates the
  /// logits of every step.
  std::vector<float> decodeOneByOne(Evaluator &eval) {
    eval.reset();
    std::vector<float> logits;
    for (int32_t token : tokens) {
      auto step = eval.forward({token});
      EXPECT_TRUE(bool(step));
      if (step)
        logits.insert(logits.end(), step->begin(), step->end());
    }
    return logits;
  }

  std::unique_ptr<Evaluator> makeEvaluator(unsigned threads) {
    EvaluatorOptions options;
    options.threads = threads;
    auto eval = Evaluator::create(*module, store, options);
    EXPECT_TRUE(bool(eval)) << llvm::toString(eval.takeError());
    return std::move(*eval);
  }

  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> ctx;
  std::string path;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  WeightStore store;
  std::vector<int32_t> tokens = {1, 7, 33, 2, 19, 47, 5, 5, 12, 40};
};

TEST_F(EvaluatorTest, PrefillMatchesTokenByTokenDecode) {
  auto eval = makeEvaluator(1);
  auto prefill = eval->forward(tokens);
  ASSERT_TRUE(bool(prefill));
  std::vector<float> decoded = decodeOneByOne(*eval);
  EXPECT_EQ(eval->position(), static_cast<int64_t>(tokens.size()));
  ASSERT_EQ(decoded.size(), prefill->size());
  for (size_t i = 0; i < decoded.size(); ++i)
    ASSERT_EQ(decoded[i], (*prefill)[i]) << "logit " << i;
}

TEST_F(EvaluatorTest, PrefillMatchesDecodeUnderLowPrecision) {
  // W4A8 everywhere with an FP8 KV cache: dynamic activation scales are per
  // token, so batching must not change a token's numerics.
  mlir::Builder b(ctx.get());
  auto record = [&](bool kv) {
    return xfmr::PrecisionAttr::get(
        ctx.get(), b.getType<mlir::Float4E2M1FNType>(),
        b.getType<mlir::Float8E4M3FNType>(),
        b.getType<mlir::Float8E8M0FNUType>(), 32, b.getF32Type(),
        kv ? mlir::Type(b.getType<mlir::Float8E4M3FNType>()) : mlir::Type());
  };
  module->walk([&](xfmr::PrecisionOpInterface op) {
    op.setPrecisionRecord(record(op.hasKVCache()));
  });
  auto eval = makeEvaluator(2);
  auto prefill = eval->forward(tokens);
  ASSERT_TRUE(bool(prefill));
  EXPECT_EQ(decodeOneByOne(*eval), *prefill);
  module->walk([&](xfmr::PrecisionOpInterface op) {
    op.setPrecisionRecord(nullptr);
  });
  auto exact = makeEvaluator(1)->forward(tokens);
  ASSERT_TRUE(bool(exact));
  EXPECT_NE(*exact, *prefill);
}

TEST_F(EvaluatorTest, ResultsDoNotDependOnThreads) {
  auto one = makeEvaluator(1)->forward(tokens);
  auto two = makeEvaluator(2)->forward(tokens);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(*one, *two);
}

TEST_F(EvaluatorTest, LogitsAreFiniteAndVary) {
  auto logits = makeEvaluator(2)->forward(tokens);
  ASSERT_TRUE(bool(logits));
  ASSERT_EQ(logits->size(), tokens.size() * 48);
  for (float v : *logits)
    ASSERT_TRUE(std::isfinite(v));
  EXPECT_NE((*logits)[0], (*logits)[48]);
}

TEST_F(EvaluatorTest, RejectsSequencesPastTheCache) {
  auto eval = makeEvaluator(1);
  std::vector<int32_t> tooMany(17, 3);
  auto result = eval->forward(tooMany);
  ASSERT_FALSE(bool(result));
  EXPECT_EQ(llvm::toString(result.takeError()),
            "evaluator: 17 tokens at position 0 exceed the model's maximum "
            "sequence length 16");
}

TEST_F(EvaluatorTest, RejectsOutOfRangeTokens) {
  auto result = makeEvaluator(1)->forward({1, 48});
  ASSERT_FALSE(bool(result));
  EXPECT_NE(llvm::toString(result.takeError())
                .find("token id 48 is out of range [0, 48)"),
            std::string::npos);
}

} // namespace
