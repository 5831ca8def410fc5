//===- LinalgPrecision.h - precision records on linalg products -*- C++ -*-===//
//
// External models of xfmr::PrecisionOpInterface for linalg.matmul and
// linalg.batch_matmul (with any of their indexing maps, so the transposed-B
// forms too): the precision passes then choose and record formats on IR
// that another compiler has already lowered to linalg. A product's weight
// operand is its B input when a constant defines it; products of two
// activations (attention scores) have none and are left alone. The record
// is kept in the discardable attribute `xfmr.precision`.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_EXTENSIONS_LINALGPRECISION_H
#define MIXTILE_DIALECT_XFMR_EXTENSIONS_LINALGPRECISION_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mixtile::xfmr {

/// The name of the attribute that holds a linalg product's record.
inline constexpr const char kPrecisionAttrName[] = "xfmr.precision";

void registerLinalgPrecisionModels(mlir::DialectRegistry &registry);

} // namespace mixtile::xfmr

#endif // MIXTILE_DIALECT_XFMR_EXTENSIONS_LINALGPRECISION_H
