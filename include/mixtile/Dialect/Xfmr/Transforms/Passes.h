//===- Passes.h - xfmr transformation passes --------------------*- C++ -*-===//
//
// Declarations and registration of the passes that work on xfmr IR.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_TRANSFORMS_PASSES_H
#define MIXTILE_DIALECT_XFMR_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mixtile::xfmr {

#define GEN_PASS_DECL
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h.inc"

} // namespace mixtile::xfmr

#endif // MIXTILE_DIALECT_XFMR_TRANSFORMS_PASSES_H
