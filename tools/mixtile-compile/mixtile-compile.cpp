//===- mixtile-compile.cpp - one command from a model to both back ends ---===//
//
//   mixtile-compile [MODEL] -o OUTDIR [--budget kl=0.01] [--target maia200]
//                   [--calibration FILE] [--holdout FILE] [--tokenizer FILE]
//                   [--compile-to annotated|maia|cpu|all]
//
// Runs compileModel (mixtile/Driver/Compile.h) into a staging directory
// inside OUTDIR and moves the files into place only when every step has
// succeeded: an error or Ctrl-C leaves OUTDIR as it was.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Driver/Compile.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <csignal>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <unistd.h>

using namespace mixtile;
namespace cl = llvm::cl;

static cl::OptionCategory category("mixtile-compile options");
static cl::opt<std::string>
    modelPath(cl::Positional,
              cl::desc("[model: .mlir, llama2.c .bin, safetensors or GGUF; "
                       "default: the built-in synthetic model]"),
              cl::cat(category));
static cl::opt<std::string> outputDir("o", cl::desc("Output directory"),
                                      cl::value_desc("dir"), cl::Required,
                                      cl::cat(category));
static cl::opt<std::string>
    budget("budget",
           cl::desc("Accuracy budget against FP32: kl=, top1=, ppl-ratio= or "
                    "rel-l2= (default kl=0.01 nats/token)"),
           cl::init("kl=0.01"), cl::cat(category));
static cl::opt<std::string>
    target("target",
           cl::desc("A built-in target or a target description file "
                    "(default maia200)"),
           cl::init("maia200"), cl::cat(category));
static cl::opt<std::string> calibration(
    "calibration",
    cl::desc("Calibration tokens (one id per line) or, with a tokenizer, text "
             "(stories separated by <|endoftext|>); default: sequences the "
             "FP32 model samples itself"),
    cl::cat(category));
static cl::opt<std::string>
    holdout("holdout",
            cl::desc("Held-out tokens or text, as --calibration (default: "
                     "other sampled sequences)"),
            cl::cat(category));
static cl::opt<std::string> tokenizer(
    "tokenizer",
    cl::desc("llama2.c tokenizer for text data (GGUF models bring theirs)"),
    cl::cat(category));
static cl::opt<unsigned>
    maxSequences("max-sequences",
                 cl::desc("Use at most this many sequences of each data set"),
                 cl::init(0), cl::cat(category));
static cl::opt<std::string>
    objective("objective",
              cl::desc("latency (modeled on the target), bytes or mix"),
              cl::init("latency"), cl::cat(category));
static cl::opt<std::string>
    sensitivity("sensitivity",
                cl::desc("exact (one model run per layer group and format) "
                         "or local (one per group)"),
                cl::init("exact"), cl::cat(category));
static cl::opt<std::string>
    compileTo("compile-to", cl::desc("annotated, maia, cpu or all (default)"),
              cl::init("all"), cl::cat(category));
static cl::list<double> sweep(
    "sweep",
    cl::desc("Budgets of the report's Pareto sweep as multiples of --budget "
             "(default 0.25,0.5,2,4; 0 for none)"),
    cl::CommaSeparated, cl::cat(category));
static cl::opt<unsigned> promptTokens(
    "prompt-tokens",
    cl::desc("Tokens of the Maia prefill program and the parity checks"),
    cl::init(32), cl::cat(category));
static cl::opt<std::string>
    cpuName("cpu",
            cl::desc("CPU library target: native (default) or a CPU name"),
            cl::init("native"), cl::cat(category));
static cl::opt<mixtile::cpu::CpuNumerics> cpuNumerics(
    "cpu-numerics", cl::desc("Numerics mode of the CPU library"),
    cl::init(mixtile::cpu::CpuNumerics::Exact),
    cl::values(clEnumValN(mixtile::cpu::CpuNumerics::Exact, "exact",
                          "the evaluator's results bit for bit (default)"),
               clEnumValN(mixtile::cpu::CpuNumerics::Fast, "fast",
                          "any accumulation order outside the matrix "
                          "products; vdpbf16ps for BF16 x BF16 where it "
                          "outpaces FMAs (AMD znver4 and later), which "
                          "flushes subnormals"),
               clEnumValN(mixtile::cpu::CpuNumerics::FastProducts,
                          "fast-products",
                          "fast, and the matrix products reorder their sums "
                          "(MX block sums)")),
    cl::cat(category));
static cl::opt<std::string> cpuCacheDir(
    "cpu-cache-dir",
    cl::desc("Reuse the CPU libraries clang built before from this "
             "directory, and add new ones (default: $MIXTILE_CACHE_DIR; "
             "none if that is unset or empty)"),
    cl::init(mixtile::cpu::getDefaultCacheDir()), cl::cat(category));
static cl::opt<bool> cpuFastNumerics("cpu-fast-numerics",
                                     cl::desc("Same as --cpu-numerics=fast"),
                                     cl::init(false), cl::cat(category));
static cl::opt<unsigned> threads("num-threads",
                                 cl::desc("Worker threads (0: every core)"),
                                 cl::init(0), cl::cat(category));

namespace {

/// Guards the outputs' state below: the interrupt thread reads it, the
/// main thread changes it, and the move of the staged outputs into OUTDIR
/// holds it so that an interrupt leaves either the previous outputs or
/// all of the new ones.
std::mutex outputsMutex;
/// The staging directory (empty once committed), OUTDIR when this run
/// created it, and whether the outputs are in OUTDIR.
std::string stagingPath, createdOutput;
bool outputsCommitted = false;

/// Removes the staging directory and an OUTDIR this run created (still
/// empty unless the outputs were committed). Callers hold outputsMutex.
void discardOutputs() {
  if (!stagingPath.empty())
    (void)llvm::sys::fs::remove_directories(stagingPath);
  if (!createdOutput.empty())
    (void)llvm::sys::fs::remove(createdOutput);
}

/// SIGINT and SIGTERM are blocked in every thread and taken by one thread
/// of their own, where the cleanup runs as ordinary code. Run from a signal
/// handler it could deadlock: removing a directory allocates, and the
/// signal may arrive while the interrupted thread holds the allocator's
/// lock (a compile interrupted during the threaded precision search hung
/// so). Called before any other thread starts, which then inherit the mask.
void handleInterruptsOnAThread() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0)
      return;
    std::lock_guard<std::mutex> lock(outputsMutex);
    discardOutputs();
    // Straight to the descriptor: the main thread may be writing to
    // llvm::errs() at this moment.
    const char message[] = "mixtile-compile: interrupted; no outputs written\n";
    if (!outputsCommitted)
      (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(130);
  }).detach();
}

llvm::Error prepareDirectories() {
  std::lock_guard<std::mutex> lock(outputsMutex);
  if (!llvm::sys::fs::exists(outputDir)) {
    if (std::error_code code = llvm::sys::fs::create_directories(outputDir))
      return llvm::createFileError(outputDir, code);
    createdOutput = outputDir;
  } else if (!llvm::sys::fs::is_directory(outputDir)) {
    return llvm::createFileError(
        outputDir, llvm::createStringError("exists and is not a directory"));
  }
  llvm::SmallString<256> model(outputDir);
  llvm::sys::path::append(model, ".mixtile-partial-%%%%%%");
  llvm::SmallString<256> staging;
  llvm::sys::fs::createUniquePath(model, staging, /*MakeAbsolute=*/false);
  if (std::error_code code = llvm::sys::fs::create_directory(staging))
    return llvm::createFileError(staging, code);
  stagingPath = std::string(staging);
  return llvm::Error::success();
}

/// Moves every staged file into OUTDIR, holding outputsMutex, so the
/// directory ends up with the previous outputs or all of the new ones.
llvm::Error commitOutputs() {
  std::lock_guard<std::mutex> lock(outputsMutex);
  std::error_code code;
  llvm::Error result = llvm::Error::success();
  for (llvm::sys::fs::directory_iterator it(stagingPath, code), end;
       !code && it != end; it.increment(code)) {
    llvm::SmallString<256> to(outputDir);
    llvm::sys::path::append(to, llvm::sys::path::filename(it->path()));
    if (std::error_code rename = llvm::sys::fs::rename(it->path(), to)) {
      result = llvm::createFileError(to, rename);
      break;
    }
  }
  if (code && !result)
    result = llvm::createFileError(stagingPath, code);
  (void)llvm::sys::fs::remove_directories(stagingPath);
  stagingPath.clear();
  if (!result) {
    createdOutput.clear();
    outputsCommitted = true;
  }
  return result;
}

llvm::Expected<CompileOptions> makeOptions() {
  CompileOptions options;
  options.model = modelPath;
  options.budget = budget;
  options.target = target;
  options.calibration = calibration;
  options.holdout = holdout;
  options.tokenizer = tokenizer;
  options.maxSequences = maxSequences;
  options.objective = objective;
  options.sensitivity = sensitivity;
  options.threads = threads;
  options.promptTokens = promptTokens;
  options.cpu = cpuName;
  options.cpuNumerics =
      cpuFastNumerics ? mixtile::cpu::CpuNumerics::Fast : cpuNumerics;
  options.cpuCacheDir = cpuCacheDir;
  if (promptTokens == 0)
    return llvm::createStringError("--prompt-tokens must be at least 1");
  llvm::Expected<CompileStage> stage = parseCompileStage(compileTo);
  if (!stage)
    return llvm::createStringError("--compile-to: " +
                                   llvm::toString(stage.takeError()));
  options.stage = *stage;
  if (sweep.getNumOccurrences()) {
    options.sweepFactors.clear();
    for (double factor : sweep) {
      if (factor < 0)
        return llvm::createStringError(
            llvm::formatv("--sweep: factors must be positive, got {0}", factor)
                .str());
      if (factor > 0)
        options.sweepFactors.push_back(factor);
    }
  }
  return options;
}

llvm::Error run() {
  llvm::Expected<CompileOptions> options = makeOptions();
  if (!options)
    return options.takeError();
  if (llvm::Error err = prepareDirectories())
    return err;
  auto start = std::chrono::steady_clock::now();
  auto stepStart = start;
  auto elapsed = [](auto from) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         from)
        .count();
  };
  CompileProgress progress = [&](llvm::StringRef step, unsigned index,
                                 unsigned steps) {
    if (index > 1)
      llvm::errs() << llvm::formatv(" ({0:f1} s)\n", elapsed(stepStart));
    stepStart = std::chrono::steady_clock::now();
    llvm::errs() << llvm::formatv("[{0}/{1}] {2}", index, steps, step);
    // Steps that report their own progress start it on a fresh line.
    if (llvm::sys::Process::StandardErrIsDisplayed())
      llvm::errs() << "\n";
    llvm::errs().flush();
  };
  llvm::Expected<llvm::json::Object> summary =
      compileModel(*options, stagingPath, progress);
  llvm::errs() << llvm::formatv(" ({0:f1} s)\n", elapsed(stepStart));
  if (!summary)
    return summary.takeError();
  if (llvm::Error err = commitOutputs())
    return err;
  printCompileSummary(*summary, llvm::outs());
  llvm::outs() << llvm::formatv("wrote {0}/ (report.html, plan.json, ...) in "
                                "{1:f1} s\n",
                                outputDir, elapsed(start));
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Compile a transformer with per-layer formats chosen under an accuracy "
      "budget, for the simulated Maia target and the CPU, with a report\n");
  handleInterruptsOnAThread();
  if (llvm::Error error = run()) {
    std::lock_guard<std::mutex> lock(outputsMutex);
    discardOutputs();
    llvm::WithColor::error(llvm::errs(), "mixtile-compile")
        << llvm::toString(std::move(error)) << "\n";
    return 1;
  }
  return 0;
}
