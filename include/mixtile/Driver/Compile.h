//===- Compile.h - the whole Mixtile flow in one call -----------*- C++ -*-===//
//
// What `mixtile-compile` runs, as a library: import a model, gather
// calibration and held-out token sequences, choose per-layer formats under
// an accuracy budget (xfmr-attach-target + xfmr-assign-precision), lower the
// annotated IR to a Maia program (simulated in functional and timing mode)
// and to a native CPU library, check both against the reference evaluator,
// and write a self-contained HTML report. Every file goes into one
// directory; callers that want all-or-nothing outputs compile into a
// staging directory and move its files into place afterwards (as
// mixtile-compile does).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DRIVER_COMPILE_H
#define MIXTILE_DRIVER_COMPILE_H

#include "mixtile/Pipelines/CpuPipeline.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mixtile {

/// How far to compile.
enum class CompileStage {
  /// Import, calibrate, plan; write the annotated IR.
  Annotated,
  /// ... and the Maia program, simulated.
  Maia,
  /// ... and the CPU library (no Maia program).
  Cpu,
  /// Both back ends.
  All,
};

/// Parses "annotated", "maia", "cpu" or "all".
llvm::Expected<CompileStage> parseCompileStage(llvm::StringRef name);

struct CompileOptions {
  /// A model file (.mlir, llama2.c .bin, safetensors, GGUF); empty: the
  /// built-in default model (a seeded synthetic Llama of stories260K's
  /// shape).
  std::string model;
  /// The accuracy budget, as xfmr-assign-precision's budget= ("kl=0.01").
  std::string budget = "kl=0.05";
  /// A built-in target name or a target description file.
  std::string target = "maia200";
  /// Calibration / held-out sequences: token files (one id per line) or
  /// text (stories separated by <|endoftext|>, encoded with `tokenizer`, or
  /// with a GGUF model's own vocabulary). Empty: sequences the FP32 model
  /// samples itself from BOS (seeded), which needs no data.
  std::string calibration, holdout, tokenizer;
  /// Use at most this many sequences of each set (0: all).
  unsigned maxSequences = 0;
  /// Self-generated sets: sequences and tokens per sequence.
  unsigned generatedCalibration = 8, generatedHoldout = 4;
  unsigned generatedLength = 128;
  /// xfmr-assign-precision's objective= and sensitivity=.
  std::string objective = "latency";
  std::string sensitivity = "exact";
  /// Budgets of the Pareto sweep in the report, as multiples of the
  /// requested bound (empty: no sweep).
  std::vector<double> sweepFactors = {0.25, 0.5, 2.0, 4.0};
  CompileStage stage = CompileStage::All;
  /// Worker threads for calibration runs (0: every core).
  unsigned threads = 0;
  /// Tokens of the Maia prefill program (a prefix of the first held-out
  /// sequence) and of the back-end parity checks.
  unsigned promptTokens = 32;
  /// CPU library: target CPU ("native": the host).
  std::string cpu = "native";
  /// CPU library: its numerics mode (docs/CpuBackend.md): exact (the
  /// evaluator's bits), fast or fast-products (any order).
  cpu::CpuNumerics cpuNumerics = cpu::CpuNumerics::Exact;
  /// CPU library: the directory of libraries built before
  /// (CpuLibraryOptions::cacheDir; empty: none).
  std::string cpuCacheDir;
};

/// Called with the name of each step as it starts ("import", ...), its
/// index and the number of steps.
using CompileProgress =
    std::function<void(llvm::StringRef step, unsigned index, unsigned steps)>;

/// Runs the flow into `outputDir` (which must exist) and returns the
/// summary it also writes as summary.json: the plan's cost next to the
/// best uniform plan, held-out accuracy, simulated times, parity results
/// and the files written. Errors name the input or the step that failed.
llvm::Expected<llvm::json::Object>
compileModel(const CompileOptions &options, llvm::StringRef outputDir,
             const CompileProgress &progress = {});

/// Prints `summary` for people, a few lines.
void printCompileSummary(const llvm::json::Object &summary,
                         llvm::raw_ostream &os);

} // namespace mixtile

#endif // MIXTILE_DRIVER_COMPILE_H
