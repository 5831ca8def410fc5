//===- PrecisionSchemes.cpp - named schemes to precision records ----------===//
//
// The scheme table and record construction shared by the precision passes.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/PrecisionSchemes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mixtile::xfmr;

namespace {

/// One operand's number scheme: element type plus how it is scaled.
struct Scheme {
  Type element;
  Type scale; // Null when the element type needs no scale.
  int64_t block = 0;
};

/// Looks a scheme name up; fails for unknown names.
FailureOr<Scheme> lookupScheme(MLIRContext *ctx, StringRef name) {
  Builder b(ctx);
  Type e8m0 = b.getType<Float8E8M0FNUType>();
  Type e4m3 = b.getType<Float8E4M3FNType>();
  Type e5m2 = b.getType<Float8E5M2Type>();
  std::optional<Scheme> scheme =
      llvm::StringSwitch<std::optional<Scheme>>(name)
          .Case("f32", Scheme{b.getF32Type(), {}, 0})
          .Case("bf16", Scheme{b.getBF16Type(), {}, 0})
          .Case("fp8-e4m3", Scheme{e4m3, b.getF32Type(), 0})
          .Case("fp8-e5m2", Scheme{e5m2, b.getF32Type(), 0})
          .Case("mxfp8-e4m3", Scheme{e4m3, e8m0, 32})
          .Case("mxfp8-e5m2", Scheme{e5m2, e8m0, 32})
          .Case("mxfp6-e2m3", Scheme{b.getType<Float6E2M3FNType>(), e8m0, 32})
          .Case("mxfp6-e3m2", Scheme{b.getType<Float6E3M2FNType>(), e8m0, 32})
          .Case("mxfp4", Scheme{b.getType<Float4E2M1FNType>(), e8m0, 32})
          .Case("nvfp4", Scheme{b.getType<Float4E2M1FNType>(), e4m3, 16})
          .Default(std::nullopt);
  if (!scheme)
    return failure();
  return *scheme;
}

} // namespace

FailureOr<PrecisionAttr> mixtile::xfmr::buildPrecisionRecord(
    MLIRContext *ctx, StringRef weights, StringRef activations,
    StringRef kvCache, function_ref<InFlightDiagnostic()> emitError) {
  FailureOr<Scheme> w = lookupScheme(ctx, weights);
  if (failed(w))
    return emitError() << "unknown weights scheme '" << weights
                       << "'; expected one of: " << kPrecisionSchemeNames;
  // Narrow weights with wide activations ("weight-only") is the usual
  // default for FP4/FP6; 8-bit and wider schemes quantize both operands.
  StringRef activationName =
      !activations.empty() ? activations
      : cast<FloatType>(w->element).getWidth() >= 8 ? weights
                                                     : StringRef("bf16");
  FailureOr<Scheme> a = lookupScheme(ctx, activationName);
  if (failed(a))
    return emitError() << "unknown activations scheme '" << activations
                       << "'; expected one of: " << kPrecisionSchemeNames;
  if (w->scale && a->scale && (w->scale != a->scale || w->block != a->block))
    return emitError() << "weights scheme '" << weights
                       << "' and activations scheme '" << activations
                       << "' scale differently; one record holds one scale "
                          "and block size";
  const Scheme &scaled = w->scale ? *w : *a;
  Type kvType;
  if (!kvCache.empty()) {
    FailureOr<Scheme> kv = lookupScheme(ctx, kvCache);
    if (failed(kv))
      return emitError() << "unknown kv-cache scheme '" << kvCache
                         << "'; expected one of: " << kPrecisionSchemeNames;
    kvType = kv->element;
  }
  PrecisionAttr record = PrecisionAttr::getChecked(
      emitError, ctx, w->element, a->element, scaled.scale, scaled.block,
      Type(Float32Type::get(ctx)), kvType);
  if (!record)
    return failure();
  return record;
}

double mixtile::xfmr::weightBitsPerElement(PrecisionAttr record) {
  if (!record)
    return 32;
  double bits = cast<FloatType>(record.getWeights()).getWidth();
  if (PrecisionAttr::needsScale(record.getWeights()) && record.getBlock() > 0)
    bits += double(cast<FloatType>(record.getScale()).getWidth()) /
            record.getBlock();
  return bits;
}
