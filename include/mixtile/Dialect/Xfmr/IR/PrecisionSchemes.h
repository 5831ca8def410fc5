//===- PrecisionSchemes.h - named schemes to precision records --*- C++ -*-===//
//
// The scheme names users write ("mxfp4", "fp8-e4m3", "nvfp4", ...) and how a
// weight scheme, an activation scheme and a KV-cache scheme combine into one
// #xfmr.precision record.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_IR_PRECISIONSCHEMES_H
#define MIXTILE_DIALECT_XFMR_IR_PRECISIONSCHEMES_H

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

namespace mixtile::xfmr {

/// The accepted scheme names, for messages.
inline constexpr llvm::StringLiteral kPrecisionSchemeNames =
    "f32, bf16, fp8-e4m3, fp8-e5m2, mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, "
    "mxfp6-e3m2, mxfp4, nvfp4";

/// Builds the record for weights `weights`, activations `activations` (empty:
/// the weight scheme when it is 8 bits or wider, else bf16) and KV cache
/// `kvCache` (empty: none). Reports unknown names and incompatible scales
/// through `emitError` and fails.
mlir::FailureOr<PrecisionAttr>
buildPrecisionRecord(mlir::MLIRContext *ctx, llvm::StringRef weights,
                     llvm::StringRef activations, llvm::StringRef kvCache,
                     llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// Bits one weight element occupies under `record` (element bits plus its
/// share of block-scale bits; 32 for records that leave weights in f32).
double weightBitsPerElement(PrecisionAttr record);

} // namespace mixtile::xfmr

#endif // MIXTILE_DIALECT_XFMR_IR_PRECISIONSCHEMES_H
