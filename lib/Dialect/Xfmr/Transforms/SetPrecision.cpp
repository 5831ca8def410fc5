//===- SetPrecision.cpp - annotate layers with a chosen precision ---------===//
//
// The xfmr-set-precision pass: turns named number schemes ("mxfp4",
// "fp8-e4m3", ...) into #xfmr.precision records on matching layers.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Regex.h"

namespace mixtile::xfmr {
#define GEN_PASS_DEF_XFMRSETPRECISION
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h.inc"
} // namespace mixtile::xfmr

using namespace mlir;
using namespace mixtile::xfmr;

namespace {

/// One operand's number scheme: element type plus how it is scaled.
struct Scheme {
  Type element;
  Type scale; // Null when the element type needs no scale.
  int64_t block = 0;
};

constexpr llvm::StringLiteral kSchemeNames =
    "f32, bf16, fp8-e4m3, fp8-e5m2, mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, "
    "mxfp6-e3m2, mxfp4, nvfp4";

/// Looks a scheme name up; fails for unknown names.
FailureOr<Scheme> lookupScheme(MLIRContext *ctx, StringRef name) {
  Builder b(ctx);
  Type e8m0 = b.getType<Float8E8M0FNUType>();
  Type e4m3 = b.getType<Float8E4M3FNType>();
  std::optional<Scheme> scheme =
      llvm::StringSwitch<std::optional<Scheme>>(name)
          .Case("f32", Scheme{b.getF32Type(), {}, 0})
          .Case("bf16", Scheme{b.getBF16Type(), {}, 0})
          .Case("fp8-e4m3", Scheme{e4m3, b.getF32Type(), 0})
          .Case("fp8-e5m2", Scheme{b.getType<Float8E5M2Type>(), b.getF32Type(),
                                   0})
          .Case("mxfp8-e4m3", Scheme{e4m3, e8m0, 32})
          .Case("mxfp8-e5m2", Scheme{b.getType<Float8E5M2Type>(), e8m0, 32})
          .Case("mxfp6-e2m3", Scheme{b.getType<Float6E2M3FNType>(), e8m0, 32})
          .Case("mxfp6-e3m2", Scheme{b.getType<Float6E3M2FNType>(), e8m0, 32})
          .Case("mxfp4", Scheme{b.getType<Float4E2M1FNType>(), e8m0, 32})
          .Case("nvfp4", Scheme{b.getType<Float4E2M1FNType>(), e4m3, 16})
          .Default(std::nullopt);
  if (!scheme)
    return failure();
  return *scheme;
}

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
    MLIRContext *ctx = root->getContext();
    FailureOr<Scheme> w = lookupScheme(ctx, weights);
    if (failed(w)) {
      root->emitError("unknown weights scheme '")
          << weights << "'; expected one of: " << kSchemeNames;
      return {};
    }
    FailureOr<Scheme> a = activationScheme(ctx, *w);
    if (failed(a)) {
      root->emitError("unknown activations scheme '")
          << activations << "'; expected one of: " << kSchemeNames;
      return {};
    }
    if (w->scale && a->scale && (w->scale != a->scale || w->block != a->block)) {
      root->emitError("weights scheme '")
          << weights << "' and activations scheme '" << activations
          << "' scale differently; one record holds one scale and block size";
      return {};
    }
    const Scheme &scaled = w->scale ? *w : *a;
    Type kvType;
    if (!kvCache.empty()) {
      FailureOr<Scheme> kv = lookupScheme(ctx, kvCache);
      if (failed(kv)) {
        root->emitError("unknown kv-cache scheme '")
            << kvCache << "'; expected one of: " << kSchemeNames;
        return {};
      }
      kvType = kv->element;
    }
    auto emitError = [&] { return root->emitError(); };
    return PrecisionAttr::getChecked(emitError, ctx, w->element, a->element,
                                     scaled.scale, scaled.block,
                                     Type(Float32Type::get(ctx)), kvType);
  }

  /// The activation scheme: as given, or the default for the weights.
  FailureOr<Scheme> activationScheme(MLIRContext *ctx, const Scheme &w) {
    if (!activations.empty())
      return lookupScheme(ctx, activations);
    // Narrow weights with wide activations ("weight-only") is the usual
    // default for FP4/FP6; 8-bit and wider schemes quantize both operands.
    if (cast<FloatType>(w.element).getWidth() >= 8)
      return w;
    return lookupScheme(ctx, "bf16");
  }
};

} // namespace
