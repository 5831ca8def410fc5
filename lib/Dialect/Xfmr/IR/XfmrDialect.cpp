//===- XfmrDialect.cpp - xfmr dialect registration ------------------------===//
//
// Registers the xfmr operations and attributes.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mixtile::xfmr;

#include "mixtile/Dialect/Xfmr/IR/XfmrOpsDialect.cpp.inc"

#include "mixtile/Dialect/Xfmr/IR/XfmrEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "mixtile/Dialect/Xfmr/IR/XfmrAttrs.cpp.inc"

#include "mixtile/Dialect/Xfmr/IR/XfmrInterfaces.cpp.inc"

void XfmrDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "mixtile/Dialect/Xfmr/IR/XfmrAttrs.cpp.inc"
      >();
}
