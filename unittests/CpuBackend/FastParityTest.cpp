//===- FastParityTest.cpp - fast numerics against the evaluator -----------===//
//
// stories260K compiled in the fast numerics mode (reassociated, contracted
// floating point) under a BF16 plan, uniform FP8, uniform MXFP4 and a mixed
// plan: the logits of a story's first 48 tokens (prefill, then 16 decode
// steps) stay within 1e-4 relative of the reference evaluator's, measured
// per token as max |cpu - reference| / max |reference|, and every token's
// argmax agrees. The BF16 plan's products of BF16 activations and weights
// go through vdpbf16ps where the host has it (the FMAs of k in order, with
// subnormals flushed). The same holds in numerics=fast-products
// (block-scaled products scale each block's partial sum) for MXFP4 weights
// with f32 activations, where the block sums round differently from the
// evaluator's order, and for the mixed plan. The exact mode's byte-for-byte
// parity is test/Conversion/XfmrToLinalg/stories260K-parity.test.
//
// Needs ../shared next to the source tree; skipped without it.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/ModelLoader.h"
#include "mixtile/Import/Tokenizer.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace mlir;
using namespace mixtile;

namespace {

constexpr double kTolerance = 1e-4;
constexpr size_t kPrefillTokens = 32, kDecodeTokens = 16;

std::string sharedPath(llvm::StringRef file) {
  return (llvm::Twine(MIXTILE_SHARED_DIR) + "/" + file).str();
}

/// The first kPrefillTokens + kDecodeTokens tokens of the first held-out
/// story (stories260K has 512 tokens).
std::vector<int32_t> storyTokens() {
  auto tokenizer =
      Tokenizer::loadLlama2C(sharedPath("models/tok512.bin"), /*vocab=*/512);
  auto text =
      llvm::MemoryBuffer::getFile(sharedPath("data/tinystories_holdout.txt"));
  if (!tokenizer || !text) {
    if (!tokenizer)
      llvm::consumeError(tokenizer.takeError());
    return {};
  }
  llvm::StringRef story =
      (*text)->getBuffer().split("<|endoftext|>").first.trim();
  std::vector<int> ids = tokenizer->encode(story, /*addBos=*/true, false);
  ids.resize(std::min(ids.size(), kPrefillTokens + kDecodeTokens));
  return std::vector<int32_t>(ids.begin(), ids.end());
}

/// The largest per-token relative difference of `actual` from `expected`
/// (rows of `vocab` logits), and whether every row's argmax agrees.
std::pair<double, bool> compare(const std::vector<float> &expected,
                                const std::vector<float> &actual,
                                size_t vocab) {
  double worst = 0;
  bool sameArgmax = true;
  for (size_t row = 0; row * vocab < expected.size(); ++row) {
    auto e = expected.begin() + row * vocab, a = actual.begin() + row * vocab;
    double maxDiff = 0, maxValue = 0;
    for (size_t i = 0; i < vocab; ++i) {
      maxDiff = std::max(maxDiff, double(std::fabs(a[i] - e[i])));
      maxValue = std::max(maxValue, double(std::fabs(e[i])));
    }
    worst = std::max(worst, maxDiff / maxValue);
    sameArgmax &= std::max_element(e, e + vocab) - e ==
                  std::max_element(a, a + vocab) - a;
  }
  return {worst, sameArgmax};
}

/// Checks stories260K under the precision pipeline `plan`, compiled with
/// `numerics`, against the evaluator.
void checkParity(const char *plan, cpu::CpuNumerics numerics) {
  std::string model = sharedPath("models/stories260K.bin");
  if (!llvm::sys::fs::exists(model))
    GTEST_SKIP() << "no " << model;
  std::vector<int32_t> tokens = storyTokens();
  ASSERT_EQ(tokens.size(), kPrefillTokens + kDecodeTokens);

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllPasses();
  MLIRContext ctx(registry);
  auto module = loadModel(&ctx, model);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  PassManager pm(&ctx);
  ASSERT_TRUE(succeeded(parsePassPipeline(plan, pm)));
  ASSERT_TRUE(succeeded(pm.run(**module)));
  // The plan took: every linear has a record.
  bool annotated = false;
  (*module)->walk(
      [&](Operation *op) { annotated |= op->hasAttr("precision"); });
  ASSERT_TRUE(annotated) << plan;

  WeightStore store;
  auto evaluator = Evaluator::create(**module, store);
  ASSERT_TRUE(bool(evaluator)) << llvm::toString(evaluator.takeError());
  auto reference = (*evaluator)->forward(tokens);
  ASSERT_TRUE(bool(reference)) << llvm::toString(reference.takeError());

  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("mixtile-fast", dir));
  cpu::CpuLibraryOptions options;
  options.outputDir = std::string(dir);
  options.numerics = numerics;
  auto files = cpu::buildCpuLibrary(**module, store, options);
  ASSERT_TRUE(bool(files)) << llvm::toString(files.takeError());
  auto library = cpu::CpuModel::load(files->library, files->weights);
  ASSERT_TRUE(bool(library)) << llvm::toString(library.takeError());

  // Prefill, then one decode call per token.
  llvm::ArrayRef<int32_t> ids(tokens);
  auto logits = (*library)->forward(ids.take_front(kPrefillTokens));
  ASSERT_TRUE(bool(logits)) << llvm::toString(logits.takeError());
  for (int32_t token : ids.drop_front(kPrefillTokens)) {
    auto step = (*library)->forward({token});
    ASSERT_TRUE(bool(step)) << llvm::toString(step.takeError());
    logits->insert(logits->end(), step->begin(), step->end());
  }
  llvm::sys::fs::remove_directories(dir);

  auto [worst, sameArgmax] =
      compare(*reference, *logits, (*library)->vocabSize());
  llvm::outs() << plan << ": max relative difference " << worst << "\n";
  EXPECT_LE(worst, kTolerance);
  EXPECT_TRUE(sameArgmax);
}

class FastParity : public ::testing::TestWithParam<const char *> {};

TEST_P(FastParity, WithinToleranceOfTheEvaluator) {
  checkParity(GetParam(), cpu::CpuNumerics::Fast);
}

class FastProductsParity : public ::testing::TestWithParam<const char *> {};

TEST_P(FastProductsParity, WithinToleranceOfTheEvaluator) {
  checkParity(GetParam(), cpu::CpuNumerics::FastProducts);
}

const char *const kMixedPlan =
    "xfmr-set-precision{weights=mxfp4 activations=mxfp8-e4m3 "
    "match=feed_forward.w[13]},"
    "xfmr-set-precision{weights=nvfp4 match=feed_forward.w2},"
    "xfmr-set-precision{weights=fp8-e4m3 match=attention.w},"
    "xfmr-set-precision{weights=bf16 match=^output|tok_emb}";

INSTANTIATE_TEST_SUITE_P(
    Stories260K, FastParity,
    ::testing::Values(
        "xfmr-set-precision{weights=bf16}",
        "xfmr-set-precision{weights=fp8-e4m3}",
        "xfmr-set-precision{weights=mxfp4 activations=mxfp8-e4m3}",
        kMixedPlan));

INSTANTIATE_TEST_SUITE_P(
    Stories260K, FastProductsParity,
    ::testing::Values("xfmr-set-precision{weights=mxfp4 activations=f32}",
                      kMixedPlan));

} // namespace
