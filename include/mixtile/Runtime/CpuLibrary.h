//===- CpuLibrary.h - build and load CPU model libraries --------*- C++ -*-===//
//
// The CPU back end's driver. buildCpuLibrary compiles an xfmr module into a
// shared library with the C interface of mixtile_cpu.h and writes its
// weight pack:
//
//   1. WeightPack::write quantizes the weights into <name>.weights;
//   2. mixtile-cpu-pipeline lowers a copy of the module to the LLVM
//      dialect, which is translated to LLVM IR (<name>.ll);
//   3. clang compiles that IR with the C runtime (CpuRuntime.c, embedded in
//      this library) into <name>.so, exporting only the C interface.
//
// CpuModel loads such a library and runs it behind the evaluator's
// interface (mixtile-run --backend=cpu).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_RUNTIME_CPULIBRARY_H
#define MIXTILE_RUNTIME_CPULIBRARY_H

#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Runtime/mixtile_cpu.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace mixtile {
class WeightStore;
} // namespace mixtile

namespace mixtile::cpu {

struct CpuLibraryOptions {
  /// Directory the files are written to (created if missing).
  std::string outputDir;
  /// Base name of the files: <name>.so, <name>.weights, <name>.ll.
  std::string name = "model";
  /// Target CPU and features, as the options of mixtile-cpu-pipeline
  /// ("native": the host).
  std::string cpu = "native";
  std::string features;
  /// The numerics mode (mixtile-cpu-pipeline's `numerics`).
  CpuNumerics numerics = CpuNumerics::Exact;
  /// Whether fast modes use vdpbf16ps (mixtile-cpu-pipeline's `bf16-dot`).
  CpuBF16Dot bf16Dot = CpuBF16Dot::Auto;
  /// The clang used to compile and link; empty: the clang of the LLVM
  /// Mixtile was built against, else clang-22 or clang on PATH.
  std::string clang;
  /// Optimization level of the LLVM IR (clang -O<n>).
  unsigned optLevel = 2;
  /// A directory of libraries clang built before (created if missing),
  /// each named by the SHA-256 of what determines it: clang (its path,
  /// size and modification time), its arguments and the contents of the
  /// LLVM IR and C sources it compiles (the IR names the target CPU and
  /// its features, "native" resolved: hosts sharing a cache keep apart).
  /// A library found there is copied instead of compiled if it still has
  /// the SHA-256 stored next to it (<key>.so.sha256; a damaged one is
  /// removed and built again); a new one is added, its digest first, each
  /// written aside and renamed into place so that concurrent builds never
  /// see half of one. A cache that cannot be written is skipped. Empty: no
  /// cache.
  std::string cacheDir;
};

/// The cache directory tools use when none is given: $MIXTILE_CACHE_DIR,
/// or empty (no cache) where that is unset.
std::string getDefaultCacheDir();

/// The files buildCpuLibrary wrote.
struct CpuLibraryFiles {
  std::string library, weights, llvmIR;
  /// Whether the library was copied from CpuLibraryOptions::cacheDir.
  bool fromCache = false;
};

/// Compiles the @forward of `module` (which is not modified) as described
/// above, reading weights from `store`.
llvm::Expected<CpuLibraryFiles>
buildCpuLibrary(mlir::ModuleOp module, WeightStore &store,
                const CpuLibraryOptions &options);

/// Compiles `module`, already linalg on tensors (hand-built kernels, as the
/// unit tests of the quantization builders use), into <outputDir>/<name>.so
/// without the runtime, exporting every function (and its C interface where
/// it asks for one with llvm.emit_c_interface). Returns the library's path.
llvm::Expected<std::string>
compileKernelLibrary(mlir::ModuleOp module, const CpuLibraryOptions &options);

/// A loaded model library with its weights and KV caches.
class CpuModel {
public:
  /// dlopens `library` (privately: several models may be loaded at once)
  /// and creates the model on the weight pack `weights`.
  static llvm::Expected<std::unique_ptr<CpuModel>>
  load(llvm::StringRef library, llvm::StringRef weights);
  ~CpuModel();

  /// Runs `tokens` at positions [position(), position() + tokens.size())
  /// and returns their logits, row-major [tokens.size(), vocabSize()].
  llvm::Expected<std::vector<float>> forward(llvm::ArrayRef<int32_t> tokens);

  int64_t position() const;
  /// Forgets the KV caches.
  void reset();
  int64_t vocabSize() const;
  int64_t maxSeqLen() const;

private:
  CpuModel() = default;
  llvm::Error resolve(llvm::StringRef library);

  void *handle = nullptr;
  mixtile_model *model = nullptr;
  decltype(&mixtile_model_create) create = nullptr;
  decltype(&mixtile_model_free) freeFn = nullptr;
  decltype(&mixtile_model_prefill) prefill = nullptr;
  decltype(&mixtile_model_reset) resetFn = nullptr;
  decltype(&mixtile_model_position) positionFn = nullptr;
  decltype(&mixtile_model_vocab_size) vocabFn = nullptr;
  decltype(&mixtile_model_max_seq_len) maxSeqFn = nullptr;
  decltype(&mixtile_last_error) lastError = nullptr;
};

} // namespace mixtile::cpu

#endif // MIXTILE_RUNTIME_CPULIBRARY_H
