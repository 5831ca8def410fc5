//===- PlanFuzzer.cpp - fuzz the plan reader of xfmr-assign-precision -----===//
//
// The input is a plan (plan.json, as xfmr-assign-precision plan= writes
// it). It is applied with plan-in= to a small shapes-only Llama; when the
// pass accepts it, the annotated model must verify and compile for maia200
// (every record the reader accepts is one the lowering handles).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Import/Synthetic.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mixtile;

/// Two layers, grouped as xfmr-assign-precision groups them (q/k/v,
/// gate/up), so plans name real groups.
static mlir::OwningOpRef<mlir::ModuleOp>
buildSmallModel(mlir::MLIRContext *ctx) {
  SynthesisRequest request;
  request.config.dim = 32;
  request.config.hiddenDim = 64;
  request.config.nLayers = 2;
  request.config.nHeads = 4;
  request.config.nKVHeads = 2;
  request.config.vocabSize = 64;
  request.config.maxSeqLen = 16;
  request.withWeights = false;
  return buildSyntheticModel(ctx, request);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fuzz::ScratchFile file("json");
  file.write(fuzz::asText(data, size));
  std::unique_ptr<mlir::MLIRContext> ctx = fuzz::makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module = buildSmallModel(ctx.get());
  std::string apply = llvm::formatv(
      "xfmr-attach-target,xfmr-assign-precision{{plan-in={0}}", file.path());
  if (!fuzz::runPipelineAndVerify(*module, apply))
    return 0;
  fuzz::runPipelineAndVerify(*module, "convert-xfmr-to-maia{num-tokens=2}");
  return 0;
}
