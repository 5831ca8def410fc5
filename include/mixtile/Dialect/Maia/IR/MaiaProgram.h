//===- MaiaProgram.h - maia dialect <-> maia::Program -----------*- C++ -*-===//
//
// The bridge between the maia dialect and the C++ Maia program of
// mixtile/Target/Maia/ISA.h. Both directions are exact:
// - importProgram(exportProgram(op)) prints as `op` does, for every verified
//   op whose data segments are in the IR (`dense` bytes; `dense_resource`
//   and file segments come back as `dense` bytes);
// - exportProgram(importProgram(p)) is `p` field for field (so it prints the
//   same assembly and encodes the same binary) for every `p` that passes
//   maia::verifyStructure. Fields the ISA ignores (the scales of an unscaled
//   operand, b of a scalar vector op) come back zero.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_MAIA_IR_MAIAPROGRAM_H
#define MIXTILE_DIALECT_MAIA_IR_MAIAPROGRAM_H

#include "mixtile/Dialect/Maia/IR/MaiaOps.h"
#include "mixtile/Target/Maia/ISA.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mixtile::maia {

struct ExportOptions {
  /// Whether to fill Program::data. Without, data segments are skipped and
  /// no file is read (verification needs only the structure).
  bool includeData = true;
  /// Where relative file names of maia.data are looked up after the working
  /// directory (mixtile-translate passes the directory of its input).
  std::string baseDir;
};

/// An op that does not convert: an unreadable data file, or IR that does not
/// verify. The message reads "'<op name>' op <problem>"; emitExportError
/// reports it as a diagnostic at the op, which must still be alive.
class ExportError : public llvm::ErrorInfo<ExportError> {
public:
  static char ID;

  ExportError(mlir::Operation *op, const llvm::Twine &problem)
      : op(op), problem(problem.str()) {}

  mlir::Operation *getOp() const { return op; }
  llvm::StringRef getProblem() const { return problem; }

  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override;

private:
  mlir::Operation *op;
  std::string problem;
};

/// Converts `program` (which should verify) into a C++ program. Errors are
/// ExportErrors naming the op.
llvm::Expected<Program> exportProgram(ProgramOp program,
                                      const ExportOptions &options = {});

/// Reports `error` as diagnostics: ExportErrors at their op, other errors at
/// `fallback`. Returns failure, for `return emitExportError(...)`.
mlir::LogicalResult emitExportError(llvm::Error error,
                                    mlir::Operation *fallback);

/// Builds the maia.program of `program` at the insertion point of `builder`,
/// every op at `loc`. Any program imports, so that a program the chip would
/// reject still becomes IR whose verifier says why (a reference to a buffer
/// index outside the table names the missing symbol @"#<index>"); the round
/// trip is exact for programs that pass maia::verifyStructure.
ProgramOp importProgram(mlir::OpBuilder &builder, mlir::Location loc,
                        const Program &program);

} // namespace mixtile::maia

#endif // MIXTILE_DIALECT_MAIA_IR_MAIAPROGRAM_H
