//===- AttachTarget.cpp - attach a target description ---------------------===//
//
// The xfmr-attach-target pass.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h"
#include "mixtile/Target/TargetAttr.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

namespace mixtile::xfmr {
#define GEN_PASS_DEF_XFMRATTACHTARGET
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h.inc"
} // namespace mixtile::xfmr

using namespace mlir;

namespace {

class AttachTargetPass
    : public mixtile::xfmr::impl::XfmrAttachTargetBase<AttachTargetPass> {
public:
  using XfmrAttachTargetBase::XfmrAttachTargetBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<mixtile::TargetModel> model =
        mixtile::TargetModel::load(target);
    if (!model) {
      module.emitError("xfmr-attach-target: ")
          << llvm::toString(model.takeError());
      return signalPassFailure();
    }
    module->setAttr(mixtile::kTargetAttrName,
                    mixtile::getTargetAttr(&getContext(), *model));
    // Maia programs in the module are verified against the target they now
    // carry: one that does not fit fails here, at the op that does not fit,
    // rather than leaving IR that no longer verifies (found by fuzzing).
    if (failed(mlir::verify(module)))
      return signalPassFailure();
  }
};

} // namespace
