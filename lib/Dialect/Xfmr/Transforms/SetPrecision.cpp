//===- SetPrecision.cpp - annotate layers with a chosen precision ---------===//
//
// The xfmr-set-precision pass: turns named number schemes ("mxfp4",
// "fp8-e4m3", ...) into #xfmr.precision records on matching layers.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/PrecisionSchemes.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h"

#include "llvm/Support/Regex.h"

namespace mixtile::xfmr {
#define GEN_PASS_DEF_XFMRSETPRECISION
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h.inc"
} // namespace mixtile::xfmr

using namespace mlir;
using namespace mixtile::xfmr;

namespace {

class SetPrecisionPass
    : public mixtile::xfmr::impl::XfmrSetPrecisionBase<SetPrecisionPass> {
public:
  using XfmrSetPrecisionBase::XfmrSetPrecisionBase;

  void runOnOperation() override {
    Operation *root = getOperation();
    PrecisionAttr record = buildRecord(root);
    if (!record)
      return signalPassFailure();
    // llvm::Regex rejects the empty pattern; here it means "every layer".
    llvm::Regex pattern(match.empty() ? std::string(".*") : match);
    if (std::string error; !pattern.isValid(error)) {
      root->emitError("invalid match pattern '") << match << "': " << error;
      return signalPassFailure();
    }
    root->walk([&](PrecisionOpInterface op) {
      if (!overwrite && op.getPrecisionRecord())
        return;
      if (!pattern.match(getLayerName(op)))
        return;
      op.setPrecisionRecord(recordFor(op, record));
    });
  }

private:
  /// Drops the KV cache field for ops without a cache.
  PrecisionAttr recordFor(PrecisionOpInterface op, PrecisionAttr record) {
    if (op.hasKVCache() || !record.getKvCache())
      return record;
    return PrecisionAttr::get(record.getContext(), record.getWeights(),
                              record.getActivations(), record.getScale(),
                              record.getBlock(), record.getAccumulator(),
                              Type());
  }

  /// Builds the record from the options, reporting bad options on `root`.
  PrecisionAttr buildRecord(Operation *root) {
    auto emitError = [&] { return root->emitError(); };
    FailureOr<PrecisionAttr> record = buildPrecisionRecord(
        root->getContext(), weights, activations, kvCache, emitError);
    return succeeded(record) ? *record : PrecisionAttr();
  }
};

} // namespace
