//===- XfmrAttrs.cpp - xfmr attribute verifiers ---------------------------===//
//
// Verification of the #xfmr.precision record: which formats, scales and
// block sizes combine into a scheme a lowering can implement.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

using namespace mlir;
using namespace mixtile::xfmr;

/// Element types a weight or activation operand may be computed in.
static bool isOperandFormat(Type type) {
  return isa<Float32Type, BFloat16Type, Float16Type, Float8E4M3FNType,
             Float8E5M2Type, Float6E2M3FNType, Float6E3M2FNType,
             Float4E2M1FNType>(type);
}

/// Element types a KV cache may be stored in.
static bool isKVCacheFormat(Type type) {
  return isa<Float32Type, BFloat16Type, Float16Type, Float8E4M3FNType,
             Float8E5M2Type>(type);
}

bool PrecisionAttr::needsScale(Type type) {
  auto floatType = dyn_cast_or_null<FloatType>(type);
  return floatType && floatType.getWidth() < 16;
}

static bool isFp4OrFp6(Type type) {
  return isa<Float6E2M3FNType, Float6E3M2FNType, Float4E2M1FNType>(type);
}

/// Checks the scale and block fields against the operand formats.
static LogicalResult verifyScaling(function_ref<InFlightDiagnostic()> emitError,
                                   Type weights, Type activations, Type scale,
                                   int64_t block) {
  bool needsScale = PrecisionAttr::needsScale(weights) ||
                    PrecisionAttr::needsScale(activations);
  if (block < 0)
    return emitError() << "block size must be non-negative, got " << block;
  if (!scale) {
    if (needsScale)
      return emitError() << "formats narrower than 16 bits need a scale";
    if (block != 0)
      return emitError() << "a block size needs a block scale type";
    return success();
  }
  if (!needsScale)
    return emitError() << "scale " << scale
                       << " given but no operand is narrower than 16 bits";
  if (isa<Float32Type>(scale)) {
    if (block != 0)
      return emitError() << "an f32 scale is per tensor and takes no block "
                            "size";
    if (isFp4OrFp6(weights) || isFp4OrFp6(activations))
      return emitError() << "fp4 and fp6 formats need a block scale "
                            "(f8E8M0FNU or f8E4M3FN)";
    return success();
  }
  if (!isa<Float8E8M0FNUType, Float8E4M3FNType>(scale))
    return emitError() << "scale must be f32, f8E8M0FNU or f8E4M3FN, got "
                       << scale;
  if (block <= 0 || !llvm::isPowerOf2_64(block))
    return emitError() << "block scales need a power-of-two block size, got "
                       << block;
  if (isa<Float8E4M3FNType>(scale)) {
    for (Type operand : {weights, activations})
      if (PrecisionAttr::needsScale(operand) && !isa<Float4E2M1FNType>(operand))
        return emitError() << "f8E4M3FN block scales (NVFP4) apply to "
                              "f4E2M1FN operands only, got "
                           << operand;
  }
  return success();
}

LogicalResult
PrecisionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      Type weights, Type activations, Type scale,
                      int64_t block, Type accumulator, Type kvCache) {
  if (!isOperandFormat(weights))
    return emitError() << "unsupported weight format " << weights;
  if (!isOperandFormat(activations))
    return emitError() << "unsupported activation format " << activations;
  if (!isa<Float32Type, Float16Type>(accumulator))
    return emitError() << "accumulator must be f32 or f16, got "
                       << accumulator;
  if (kvCache && !isKVCacheFormat(kvCache))
    return emitError() << "unsupported KV cache format " << kvCache;
  return verifyScaling(emitError, weights, activations, scale, block);
}
