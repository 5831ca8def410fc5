//===- Passes.h - conversions between dialects ------------------*- C++ -*-===//

#ifndef MIXTILE_CONVERSION_PASSES_H
#define MIXTILE_CONVERSION_PASSES_H

// The pass creates maia ops (its dependent dialect).
#include "mixtile/Dialect/Maia/IR/MaiaOps.h"

#include "mlir/Pass/Pass.h"

namespace mixtile::conversion {

#define GEN_PASS_DECL
#include "mixtile/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mixtile/Conversion/Passes.h.inc"

} // namespace mixtile::conversion

#endif // MIXTILE_CONVERSION_PASSES_H
