//===- PlanFuzzer.cpp - fuzz the plan reader of xfmr-assign-precision -----===//
//
// The input is a plan (plan.json, as xfmr-assign-precision plan= writes
// it). It is applied with plan-in= to a small shapes-only Llama; when the
// pass accepts it, the annotated model must verify and compile for maia200
// (every record the reader accepts is one the lowering handles).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mixtile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fuzz::ScratchFile file("json");
  file.write(fuzz::asText(data, size));
  std::unique_ptr<mlir::MLIRContext> ctx = fuzz::makeContext();
  // Two layers, so that plans name groups (q/k/v, gate/up) of each.
  mlir::OwningOpRef<mlir::ModuleOp> module =
      fuzz::buildSmallModel(ctx.get(), /*layers=*/2);
  std::string apply = llvm::formatv(
      "xfmr-attach-target,xfmr-assign-precision{{plan-in={0}}", file.path());
  if (!fuzz::runPipelineAndVerify(*module, apply))
    return 0;
  fuzz::runPipelineAndVerify(*module, "convert-xfmr-to-maia{num-tokens=2}");
  return 0;
}
