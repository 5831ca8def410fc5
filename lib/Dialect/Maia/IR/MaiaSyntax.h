//===- MaiaSyntax.h - pieces of the maia custom syntax ----------*- C++ -*-===//
//
// Private to lib/Dialect/Maia/IR: the `@buffer[offset]` reference that both
// the attributes and the ops print.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_DIALECT_MAIA_IR_MAIASYNTAX_H
#define MIXTILE_LIB_DIALECT_MAIA_IR_MAIASYNTAX_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"

namespace mixtile::maia::detail {

/// Parses `@name` or `@name[offset]` (offset 0 when omitted).
mlir::ParseResult parseBufferRef(mlir::AsmParser &parser,
                                 mlir::FlatSymbolRefAttr &buffer,
                                 uint64_t &offset);

/// Parses a buffer reference if the next token is a symbol.
mlir::OptionalParseResult
parseOptionalBufferRef(mlir::AsmParser &parser, mlir::FlatSymbolRefAttr &buffer,
                       uint64_t &offset);

/// Prints `@name`, with `[offset]` unless the offset is 0.
void printBufferRef(mlir::AsmPrinter &printer, mlir::FlatSymbolRefAttr buffer,
                    uint64_t offset);

} // namespace mixtile::maia::detail

#endif // MIXTILE_LIB_DIALECT_MAIA_IR_MAIASYNTAX_H
