//===- MLIRPipelinesFuzzer.cpp - fuzz the passes on verified IR -----------===//
//
// The input is MLIR text. A module that parses and verifies, has small
// tensors and needs no weight files is run through each of Mixtile's main
// paths, each on a fresh copy: canonicalization with the target attached,
// the reference evaluator, the CPU lowering (convert-xfmr-to-linalg) and
// the Maia lowering (convert-xfmr-to-maia). A pass may reject the module,
// but must not crash or leave IR that does not verify ("a pass must not
// crash on verifier-valid IR").
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Parser/Parser.h"

#include <algorithm>

using namespace mlir;
using namespace mixtile;

/// Tensors up to this many elements: weights are generated and tensors
/// materialised, so this bounds each run's time and memory.
static constexpr int64_t kMaxTensorElements = 1 << 14;

static OwningOpRef<ModuleOp> copyOf(ModuleOp module) {
  return cast<ModuleOp>(module->clone());
}

/// The token options of convert-xfmr-to-maia: a model without data runs for
/// timing only (num-tokens), one with data needs the tokens themselves.
static std::string maiaTokens(ModuleOp module) {
  bool shapesOnly = false;
  module.walk([&](xfmr::WeightOp op) {
    shapesOnly |= op.getFile() == kShapesOnlyFile;
  });
  return shapesOnly ? "num-tokens=2" : "tokens=1,0";
}

static void runEvaluator(ModuleOp module) {
  WeightStore store;
  EvaluatorOptions options;
  options.threads = 1;
  auto evaluator = Evaluator::create(module, store, options);
  if (!evaluator) {
    fuzz::ignore(evaluator.takeError());
    return;
  }
  int32_t last = int32_t(std::min<int64_t>((*evaluator)->vocabSize(), 4) - 1);
  auto logits = (*evaluator)->forward({1 < last ? 1 : 0, last});
  if (!logits)
    fuzz::ignore(logits.takeError());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<MLIRContext> ctx = fuzz::makeContext();
  ParserConfig config(ctx.get());
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(fuzz::asMLIRSource(data, size), config);
  if (!module || !fuzz::tensorsAreSmall(*module, kMaxTensorElements) ||
      !fuzz::weightsNeedNoFiles(*module))
    return 0;

  fuzz::runPipelineAndVerify(*copyOf(*module),
                             "xfmr-attach-target,canonicalize,cse");
  runEvaluator(*copyOf(*module));
  fuzz::runPipelineAndVerify(*copyOf(*module),
                             "convert-xfmr-to-linalg,canonicalize");
  fuzz::runPipelineAndVerify(*copyOf(*module),
                             "xfmr-attach-target,convert-xfmr-to-maia{" +
                                 maiaTokens(*module) + " tiles=2}");
  return 0;
}
