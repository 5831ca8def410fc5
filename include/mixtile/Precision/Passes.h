//===- Passes.h - precision selection passes --------------------*- C++ -*-===//
//
// Declarations and registration of the passes that choose number formats.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PRECISION_PASSES_H
#define MIXTILE_PRECISION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mixtile::precision {

#define GEN_PASS_DECL
#include "mixtile/Precision/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mixtile/Precision/Passes.h.inc"

} // namespace mixtile::precision

#endif // MIXTILE_PRECISION_PASSES_H
