//===- TargetAttr.h - the target description as a module attribute -*- C++ -*-//
//
// The module attribute `xfmr.target` holds a target description (the JSON
// schema of TargetModel as a dictionary), so IR carries its target.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_TARGETATTR_H
#define MIXTILE_TARGET_TARGETATTR_H

#include "mixtile/Target/TargetModel.h"

#include "mlir/IR/BuiltinOps.h"

namespace mixtile {

/// Name of the module attribute holding the target description.
inline constexpr llvm::StringLiteral kTargetAttrName = "xfmr.target";

/// The description of `target` as an attribute.
mlir::DictionaryAttr getTargetAttr(mlir::MLIRContext *ctx,
                                   const TargetModel &target);

/// The target model attached to `module`; an error when there is none or it
/// does not parse.
llvm::Expected<TargetModel> getAttachedTarget(mlir::ModuleOp module);

} // namespace mixtile

#endif // MIXTILE_TARGET_TARGETATTR_H
