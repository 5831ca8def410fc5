//===- XfmrOps.h - xfmr dialect, attributes and operations ------*- C++ -*-===//
//
// The C++ declarations of the xfmr dialect generated from ODS.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_IR_XFMROPS_H
#define MIXTILE_DIALECT_XFMR_IR_XFMROPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mixtile/Dialect/Xfmr/IR/XfmrOpsDialect.h.inc"

#include "mixtile/Dialect/Xfmr/IR/XfmrEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "mixtile/Dialect/Xfmr/IR/XfmrAttrs.h.inc"

namespace mixtile::xfmr::detail {
/// Checks that an op's precision record fits the op (the interface verifier).
mlir::LogicalResult verifyPrecisionOp(mlir::Operation *op);
} // namespace mixtile::xfmr::detail

#include "mixtile/Dialect/Xfmr/IR/XfmrInterfaces.h.inc"

#define GET_OP_CLASSES
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h.inc"

#endif // MIXTILE_DIALECT_XFMR_IR_XFMROPS_H
