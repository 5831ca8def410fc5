//===- PrecisionSchemes.cpp - precision records as numerics schemes -------===//
//
// Record fields map one to one onto a QuantScheme: the operand's element
// type, the scale kind given by the scale type, and the block size.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Evaluator/PrecisionSchemes.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mixtile;
namespace nx = mixtile::numerics;

std::optional<nx::FloatFormat> mixtile::toFloatFormat(Type type) {
  if (!type)
    return std::nullopt;
  if (type.isF32())
    return nx::FloatFormat::F32;
  if (type.isBF16())
    return nx::FloatFormat::BF16;
  if (type.isF16())
    return nx::FloatFormat::F16;
  if (isa<Float8E4M3FNType>(type))
    return nx::FloatFormat::F8E4M3FN;
  if (isa<Float8E5M2Type>(type))
    return nx::FloatFormat::F8E5M2;
  if (isa<Float6E2M3FNType>(type))
    return nx::FloatFormat::F6E2M3FN;
  if (isa<Float6E3M2FNType>(type))
    return nx::FloatFormat::F6E3M2FN;
  if (isa<Float4E2M1FNType>(type))
    return nx::FloatFormat::F4E2M1FN;
  if (isa<Float8E8M0FNUType>(type))
    return nx::FloatFormat::F8E8M0FNU;
  return std::nullopt;
}

/// The scheme one operand of element type `element` gets under `p`.
static std::optional<nx::QuantScheme> schemeFor(Type element,
                                                xfmr::PrecisionAttr p) {
  std::optional<nx::FloatFormat> format = toFloatFormat(element);
  if (!format || *format == nx::FloatFormat::F32)
    return std::nullopt;
  if (!xfmr::PrecisionAttr::needsScale(element))
    return nx::QuantScheme{"", *format, nx::ScaleKind::None, 0};
  // The verifier guarantees a scale for narrow formats.
  Type scale = p.getScale();
  if (scale.isF32())
    return nx::QuantScheme{"", *format, nx::ScaleKind::TensorF32, 0};
  unsigned block = static_cast<unsigned>(p.getBlock());
  if (isa<Float8E8M0FNUType>(scale))
    return nx::QuantScheme{"", *format, nx::ScaleKind::BlockE8M0, block};
  return nx::QuantScheme{"", *format, nx::ScaleKind::BlockE4M3WithTensorF32,
                         block};
}

llvm::Expected<OperandSchemes>
mixtile::getOperandSchemes(xfmr::PrecisionAttr precision) {
  OperandSchemes schemes;
  if (!precision)
    return schemes;
  if (!precision.getAccumulator().isF32())
    return llvm::createStringError(
        "only f32 accumulation is simulated, got a record with " +
        llvm::Twine(precision.getAccumulator().isF16() ? "f16"
                                                       : "another "
                                                         "type"));
  schemes.weights = schemeFor(precision.getWeights(), precision);
  schemes.activations = schemeFor(precision.getActivations(), precision);
  if (precision.getKvCache() && !precision.getKvCache().isF32())
    schemes.kvCache = toFloatFormat(precision.getKvCache());
  return schemes;
}
