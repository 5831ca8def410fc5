//===- ConvertXfmrToMaia.cpp - the convert-xfmr-to-maia pass --------------===//
//
// Runs lowerToMaia on the module and replaces @forward by the program, as a
// maia.program op.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/Passes.h"
#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Dialect/Maia/IR/MaiaProgram.h"
#include "mixtile/Evaluator/PrecisionSchemes.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Target/TargetAttr.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Path.h"

namespace mixtile::conversion {
#define GEN_PASS_DEF_CONVERTXFMRTOMAIA
#include "mixtile/Conversion/Passes.h.inc"
} // namespace mixtile::conversion

using namespace mlir;
using namespace mixtile;

namespace {

class ConvertXfmrToMaiaPass
    : public conversion::impl::ConvertXfmrToMaiaBase<ConvertXfmrToMaiaPass> {
public:
  using ConvertXfmrToMaiaBase::ConvertXfmrToMaiaBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const llvm::Twine &message) {
      module.emitError("convert-xfmr-to-maia: ") << message;
      signalPassFailure();
    };
    llvm::Expected<TargetModel> target = getAttachedTarget(module);
    if (!target)
      return fail(llvm::toString(target.takeError()));
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward)
      return fail("the module has no @forward");
    // A declaration has no body to lower (found by fuzzing: it was read
    // past the end of the empty region).
    if (forward.isExternal())
      return fail("@forward is a declaration, without a body to lower");
    if (failed(checkMXBlocks(module, *target)))
      return signalPassFailure();
    MaiaLoweringOptions options;
    options.tokens.assign(tokens.begin(), tokens.end());
    options.numTokens = numTokens;
    options.start = start;
    options.tiles = tiles;
    // A shapes-only model has nothing to place; it gets a timing program.
    options.withWeights = options.tokens.size() > 0;
    if (!options.withWeights && numTokens <= 0)
      return fail("needs tokens=ID,... (or num-tokens=N for a program "
                  "without weights)");
    if (options.withWeights && numTokens > 0)
      return fail("give tokens= or num-tokens=, not both");
    WeightStore store(baseDirectory(module));
    llvm::Expected<MaiaLoweredProgram> lowered =
        lowerToMaia(module, store, *target, options);
    if (!lowered) {
      // Errors of lowerToMaia already read "convert-xfmr-to-maia: ...".
      module.emitError(llvm::toString(lowered.takeError()));
      return signalPassFailure();
    }
    OpBuilder builder(forward);
    maia::importProgram(builder, forward.getLoc(), lowered->program);
    forward.erase();
  }

private:
  /// The tensor unit decodes one E8M0 scale per target.mxBlock codes, so an
  /// MX record with another block cannot run there (found by fuzzing the
  /// target description: the program failed maia verification).
  static LogicalResult checkMXBlocks(ModuleOp module,
                                     const TargetModel &target) {
    WalkResult result = module.walk([&](xfmr::PrecisionOpInterface op) {
      llvm::Expected<OperandSchemes> schemes =
          getOperandSchemes(op.getPrecisionRecord());
      if (!schemes) {
        // The lowering reports records it cannot follow.
        llvm::consumeError(schemes.takeError());
        return WalkResult::advance();
      }
      for (const std::optional<numerics::QuantScheme> &scheme :
           {schemes->weights, schemes->activations}) {
        if (!scheme || scheme->scale != numerics::ScaleKind::BlockE8M0 ||
            int64_t(scheme->blockSize) == target.mxBlock)
          continue;
        op->emitError("convert-xfmr-to-maia: MX blocks of ")
            << scheme->blockSize << " elements, but target '" << target.name
            << "' scales blocks of " << target.mxBlock;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

  /// Relative weight files are looked up next to the IR file.
  static std::string baseDirectory(ModuleOp module) {
    if (auto loc = dyn_cast<FileLineColLoc>(module.getLoc()))
      return llvm::sys::path::parent_path(loc.getFilename().getValue()).str();
    return "";
  }
};

} // namespace
