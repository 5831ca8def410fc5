//===- SynthesizeFuzzer.cpp - fuzz synthetic model requests ---------------===//
//
// The input is a --synthesize request (JSON). An accepted request must
// build a module that verifies and carries the requested config; when its
// weights are small, they must generate (inline) into IR that verifies.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"

#include "mlir/IR/Verifier.h"

using namespace mixtile;

/// Models with more parameters than this are only built, not generated.
static constexpr int64_t kMaxGeneratedElements = 1 << 16;

/// Elements of all weights of `module`, saturating at INT64_MAX.
static int64_t weightElements(mlir::ModuleOp module) {
  int64_t total = 0;
  module.walk([&](xfmr::WeightOp op) {
    llvm::Expected<uint64_t> count =
        checkedElementCount(op.getType().getShape());
    if (!count) {
      fuzz::ignore(count.takeError());
      total = INT64_MAX;
      return;
    }
    total = *count > uint64_t(INT64_MAX - total) ? INT64_MAX
                                                 : total + int64_t(*count);
  });
  return total;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::Expected<SynthesisRequest> request =
      parseSynthesisRequest(fuzz::asText(data, size), "request");
  if (!request) {
    fuzz::ignore(request.takeError());
    return 0;
  }
  // Building is linear in the layer count; llama3-70b's 80 are fine.
  if (request->config.nLayers > 128)
    return 0;
  std::unique_ptr<mlir::MLIRContext> ctx = fuzz::makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      buildSyntheticModel(ctx.get(), *request);
  if (!module || failed(mlir::verify(*module)))
    fuzz::fail("an accepted synthesis request built IR that does not verify");
  llvm::Expected<ModelConfig> config = ModelConfig::fromModule(*module);
  if (!config)
    fuzz::fail("a synthetic model has no valid config",
               llvm::toString(config.takeError()));
  if (config->dim != request->config.dim ||
      config->nLayers != request->config.nLayers ||
      config->vocabSize != request->config.vocabSize)
    fuzz::fail("a synthetic model does not have the requested shape");
  if (!request->withWeights || weightElements(*module) > kMaxGeneratedElements)
    return 0;
  WeightStore store;
  if (llvm::Error error = inlineWeights(*module, store))
    fuzz::fail("synthetic weights do not generate",
               llvm::toString(std::move(error)));
  if (failed(mlir::verify(*module)))
    fuzz::fail("inlined synthetic weights do not verify");
  return 0;
}
