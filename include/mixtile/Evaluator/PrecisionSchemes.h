//===- PrecisionSchemes.h - precision records as numerics schemes -*- C++ -*-=//
//
// Translates a #xfmr.precision record into the Numerics library's
// quantization schemes, so every consumer (evaluator, back ends, tests)
// simulates a record the same way.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_EVALUATOR_PRECISIONSCHEMES_H
#define MIXTILE_EVALUATOR_PRECISIONSCHEMES_H

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "llvm/Support/Error.h"

#include <optional>

namespace mixtile {

/// The Numerics format of a builtin float type, if it has one.
std::optional<numerics::FloatFormat> toFloatFormat(mlir::Type type);

/// How each operand of a layer is quantized; nullopt means it stays f32.
struct OperandSchemes {
  std::optional<numerics::QuantScheme> weights;
  std::optional<numerics::QuantScheme> activations;
  /// Element format KV-cache entries are rounded to (saturating, unscaled).
  std::optional<numerics::FloatFormat> kvCache;
};

/// The schemes of `precision` (null: everything f32). Fails for records a
/// simulation cannot follow (f16 accumulation).
llvm::Expected<OperandSchemes> getOperandSchemes(xfmr::PrecisionAttr precision);

} // namespace mixtile

#endif // MIXTILE_EVALUATOR_PRECISIONSCHEMES_H
