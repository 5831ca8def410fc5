//===- MaiaOps.h - maia dialect, attributes and operations ------*- C++ -*-===//
//
// The C++ declarations of the maia dialect generated from ODS, and the
// correspondence between Maia element formats and builtin float types.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_MAIA_IR_MAIAOPS_H
#define MIXTILE_DIALECT_MAIA_IR_MAIAOPS_H

#include "mixtile/Target/Maia/ISA.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"

#include <optional>

#include "mixtile/Dialect/Maia/IR/MaiaOpsDialect.h.inc"

#include "mixtile/Dialect/Maia/IR/MaiaEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "mixtile/Dialect/Maia/IR/MaiaAttrs.h.inc"

namespace mixtile::maia {

/// The builtin float type of an element format (f32, bf16, ..., f8E8M0FNU).
mlir::FloatType getFormatType(mlir::MLIRContext *ctx, FloatFormat format);

/// The element format of a builtin float type, or nothing for a type Maia
/// does not store.
std::optional<FloatFormat> getFloatFormat(mlir::Type type);

/// The ISA's enums for the dialect's and back.
MemoryLevel toISA(Memory memory);
ScaleMode toISA(Scaling scaling);
DmaQueue::Kind toISA(QueueKind kind);
Memory fromISA(MemoryLevel level);
Scaling fromISA(ScaleMode mode);
QueueKind fromISA(DmaQueue::Kind kind);

namespace detail {
/// The tile of the maia.tile around `op`, if any (InstructionOpInterface).
std::optional<uint32_t> getExecutingTile(mlir::Operation *op);
/// The checks of a command's waits and signal (CommandOpInterface).
mlir::LogicalResult verifyCommandSync(mlir::Operation *op);
} // namespace detail

} // namespace mixtile::maia

#include "mixtile/Dialect/Maia/IR/MaiaInterfaces.h.inc"

#define GET_OP_CLASSES
#include "mixtile/Dialect/Maia/IR/MaiaOps.h.inc"

#endif // MIXTILE_DIALECT_MAIA_IR_MAIAOPS_H
