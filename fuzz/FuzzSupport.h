//===- FuzzSupport.h - shared pieces of Mixtile's fuzz targets --*- C++ -*-===//
//
// What every libFuzzer target in fuzz/ needs: a quiet MLIRContext with our
// dialects, a scratch file for readers that take a path, size budgets that
// keep one input well under the per-input timeout, and the way a target
// reports a broken invariant (an abort, which libFuzzer records as a crash).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_FUZZ_FUZZSUPPORT_H
#define MIXTILE_FUZZ_FUZZSUPPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mixtile::fuzz {

/// The fuzz input as text.
inline llvm::StringRef asText(const uint8_t *data, size_t size) {
  return llvm::StringRef(reinterpret_cast<const char *>(data), size);
}

/// The fuzz input as MLIR source, null-terminated as the buffers of files
/// are. parseSourceString accepts a buffer without a terminator, but
/// upstream's lexer (LLVM 22) still reads past its end: the 35-byte input
/// "\n// expected-err 'maia.program'}}\nm" made it read 7 bytes past the
/// fuzzer's buffer (ASan heap-buffer-overflow in mlir::parseAsmSourceFile).
/// Our tools always parse null-terminated text (files, std::string).
inline std::string asMLIRSource(const uint8_t *data, size_t size) {
  return std::string(reinterpret_cast<const char *>(data), size);
}

/// The fuzz input as the bytes importers take.
inline llvm::ArrayRef<char> asChars(const uint8_t *data, size_t size) {
  return llvm::ArrayRef<char>(reinterpret_cast<const char *>(data), size);
}

/// A context with every Mixtile dialect registered, single-threaded (libFuzzer
/// runs one input at a time) and with diagnostics swallowed: rejecting bad
/// input is the expected outcome, and printing it would dominate the run.
std::unique_ptr<mlir::MLIRContext> makeContext();

/// A shapes-only Llama of `layers` layers (dim 32, hidden 64, 4 heads, 2 KV
/// heads, vocabulary 64, 16 positions): every op kind the lowerings handle,
/// compiled in milliseconds.
mlir::OwningOpRef<mlir::ModuleOp> buildSmallModel(mlir::MLIRContext *ctx,
                                                  int64_t layers);

/// A file in the temporary directory that lives as long as the process;
/// each write() replaces its contents. For readers that take a path.
class ScratchFile {
public:
  /// `suffix` is the file name's extension (without the dot), which some
  /// readers dispatch on.
  explicit ScratchFile(llvm::StringRef suffix);
  ~ScratchFile();

  /// Replaces the contents; aborts if the file cannot be written (the run
  /// would test nothing).
  void write(llvm::StringRef bytes);
  const std::string &path() const { return filePath; }

private:
  std::string filePath;
};

/// A fresh directory in the temporary directory, removed at exit.
class ScratchDir {
public:
  ScratchDir();
  ~ScratchDir();
  const std::string &path() const { return dirPath; }
  /// Writes (replaces) the file `name` inside the directory.
  void writeFile(llvm::StringRef name, llvm::StringRef bytes);
  /// Removes the file `name` if it exists.
  void removeFile(llvm::StringRef name);
  /// The path of `name` inside the directory.
  std::string filePath(llvm::StringRef name) const;

private:
  std::string dirPath;
};

/// Reports a broken invariant: prints `what` and `detail` and aborts, which
/// libFuzzer records as a crash with the input that caused it.
[[noreturn]] void fail(llvm::StringRef what, llvm::StringRef detail = "");

/// Consumes an expected error (rejecting bad input is fine).
inline void ignore(llvm::Error error) { llvm::consumeError(std::move(error)); }

/// True when every ranked tensor type of an operand, result or block
/// argument in `module` has at most `maxElements` elements (dynamic
/// dimensions count as 1): the pipelines materialise such tensors, so a fuzz
/// input declaring a 2^40-element weight is skipped rather than allocated.
bool tensorsAreSmall(mlir::Operation *module, int64_t maxElements);

/// True when every xfmr.weight of `module` names data that needs no file
/// (synthetic weights or shapes-only): fuzz inputs must not make the
/// pipelines open arbitrary paths (a FIFO or /dev/stdin would hang them).
bool weightsNeedNoFiles(mlir::Operation *module);

/// Verifies `op`: nullopt when it verifies, else the verifier's messages.
std::optional<std::string> verifyErrors(mlir::Operation *op);

/// Runs `pipeline` (textual pass pipeline) on `module` without the pass
/// manager's verifier; when the pipeline succeeds, the result must verify,
/// else fail() names the pipeline. Returns whether the pipeline succeeded.
bool runPipelineAndVerify(mlir::ModuleOp module, llvm::StringRef pipeline);

/// The checks every importer's output gets: it verifies, it carries the
/// model config it was built from, and its weights (read from the files it
/// references, which the target wrote) inline into IR that still verifies.
/// A weight that does not load is fine (the file may hold NaNs); IR that
/// does not verify is a finding.
void checkImportedModel(mlir::ModuleOp module, llvm::StringRef importer);

} // namespace mixtile::fuzz

#endif // MIXTILE_FUZZ_FUZZSUPPORT_H
