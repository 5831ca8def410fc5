//===- WeightStore.h - memory-mapped model weights --------------*- C++ -*-===//
//
// The weight store resolves xfmr.weight references (file + key + offset) to
// float data by mapping model files, so importing or running a multi-GB model
// never copies it.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_WEIGHTSTORE_H
#define MIXTILE_IMPORT_WEIGHTSTORE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <mutex>
#include <vector>

namespace mixtile {
namespace xfmr {
class WeightOp;
} // namespace xfmr

/// Maps model files on first use and hands out weights as f32 arrays.
/// f32 data is returned in place (zero copy); f16/bf16 data is widened once
/// and kept. Thread-safe.
class WeightStore {
public:
  /// Relative file names are looked up in the current directory first, then
  /// in `baseDir` (normally the directory of the IR file that names them).
  explicit WeightStore(std::string baseDir = "")
      : baseDir(std::move(baseDir)) {}

  /// Returns the data `op` refers to. Errors name the file, the key and the
  /// problem (missing file, offset past the end, unsupported storage type).
  llvm::Expected<llvm::ArrayRef<float>> get(xfmr::WeightOp op);

  /// Appends rows `rows` of `op`'s data, viewed as [dim 0, the rest] (a
  /// vector is the one row 0), to `out`. Synthetic weights generate only
  /// those rows and plainly stored ones read only theirs, so a large model
  /// can be sampled by row without materializing its tensors.
  llvm::Error getRows(xfmr::WeightOp op, llvm::ArrayRef<int64_t> rows,
                      std::vector<float> &out);

  /// The largest finite |value| of `op`'s data. Synthetic weights compute
  /// it without generating the values.
  llvm::Expected<float> maxFiniteAbs(xfmr::WeightOp op);

  /// Returns `count` elements of `storage` type at byte `offset` of `file`.
  llvm::Expected<llvm::ArrayRef<float>> get(llvm::StringRef file,
                                            llvm::StringRef key,
                                            uint64_t offset, mlir::Type storage,
                                            uint64_t count);

  /// Maps `file` (once) and returns its bytes.
  llvm::Expected<llvm::ArrayRef<char>> mapFile(llvm::StringRef file);

  /// The path `file` is read from: as given when it exists or is absolute,
  /// else inside the base directory.
  std::string resolve(llvm::StringRef file) const;

private:
  llvm::Expected<llvm::ArrayRef<float>> getSynthetic(xfmr::WeightOp op,
                                                     uint64_t count);
  /// Reads a weight stored transposed and/or inside a larger tensor.
  llvm::Expected<llvm::ArrayRef<float>> getRelaidOut(xfmr::WeightOp op,
                                                     uint64_t offset,
                                                     mlir::Type storage,
                                                     uint64_t count);

  std::string baseDir;
  std::mutex mutex;
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> files;
  std::vector<std::unique_ptr<std::vector<float>>> widened;
};

/// Replaces every xfmr.weight of `module` by an arith.constant holding its
/// data (for small test models that should travel as one IR file).
llvm::Error inlineWeights(mlir::ModuleOp module, WeightStore &store);

/// Returns the number of elements of a static shape, or an error when the
/// product overflows 64 bits.
llvm::Expected<uint64_t> checkedElementCount(llvm::ArrayRef<int64_t> shape);

} // namespace mixtile

#endif // MIXTILE_IMPORT_WEIGHTSTORE_H
