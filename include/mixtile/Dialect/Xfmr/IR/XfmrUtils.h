//===- XfmrUtils.h - helpers over xfmr IR -----------------------*- C++ -*-===//
//
// Small queries on xfmr IR shared by passes and tools.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_IR_XFMRUTILS_H
#define MIXTILE_DIALECT_XFMR_IR_XFMRUTILS_H

#include "mlir/IR/Operation.h"

#include <string>

namespace mixtile::xfmr {

/// The name plans and reports use for the layer computed by `op`: the key of
/// the xfmr.weight feeding its weight operand, else the name of its location,
/// else the empty string.
std::string getLayerName(mlir::Operation *op);

} // namespace mixtile::xfmr

#endif // MIXTILE_DIALECT_XFMR_IR_XFMRUTILS_H
