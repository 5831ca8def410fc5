//===- mixtile-run.cpp - run a model --------------------------------------===//
//
//   mixtile-run MODEL [--tokenizer T] --prompt "Once upon a time" -n 64
//   mixtile-run MODEL --eval stories.txt
//   mixtile-run MODEL --tokens ids.txt [--dump-logits out.f32]
//   mixtile-run MODEL --backend=maia [--target=maia200] ...
//   mixtile-run MODEL --backend=cpu [--cpu-library-dir=DIR] ...
//
// MODEL is an xfmr .mlir file or a model file the importers read. The
// reference evaluator runs it by default; --backend=maia compiles every
// call for the Maia target and runs it in the simulator; --backend=cpu
// compiles the model into a native shared library and runs that.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/Metrics.h"
#include "mixtile/Conversion/XfmrToMaia/MaiaRunner.h"
#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/ModelFormats.h"
#include "mixtile/Import/ModelLoader.h"
#include "mixtile/Import/Tokenizer.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace mixtile;
using llvm::Error;
using llvm::Expected;
namespace cl = llvm::cl;

static cl::OptionCategory category("mixtile-run options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model>"), cl::cat(category));
static cl::opt<std::string>
    tokenizerPath("tokenizer",
                  cl::desc("llama2.c tokenizer (default: tok<VOCAB>.bin or "
                           "tokenizer.bin next to the model)"),
                  cl::cat(category));
static cl::opt<std::string> prompt("prompt", cl::desc("Text to continue"),
                                   cl::cat(category));
static cl::opt<std::string>
    promptFile("prompt-file", cl::desc("Read the prompt text from a file"),
               cl::cat(category));
static cl::opt<bool>
    encodeOnly("encode-only",
               cl::desc("Print the prompt's token ids (BOS first), one per "
                        "line, and exit: the input format of --tokens"),
               cl::cat(category));
static cl::opt<int> steps("n", cl::desc("Tokens to generate (default 64)"),
                          cl::init(64), cl::cat(category));
static cl::opt<float>
    temperature("temperature",
                cl::desc("Sampling temperature; 0 is greedy (default)"),
                cl::init(0.0f), cl::cat(category));
static cl::opt<unsigned> seed("seed", cl::desc("Sampling seed"), cl::init(1),
                              cl::cat(category));
static cl::opt<std::string>
    evalPath("eval",
             cl::desc("Text file of stories separated by <|endoftext|> "
                      "lines: print tokens, mean NLL and perplexity"),
             cl::cat(category));
static cl::opt<std::string>
    tokensPath("tokens",
               cl::desc("Token ids, one per line (the first is BOS), instead "
                        "of text"),
               cl::cat(category));
static cl::opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write the logits of every position of --tokens as "
                        "raw little-endian f32 [positions x vocab]"),
               cl::cat(category));
static cl::opt<std::string> referenceLogits(
    "reference-logits",
    cl::desc("With --tokens: compare against logits dumped by another run "
             "(e.g. FP32): mean KL divergence, top-1 agreement"),
    cl::cat(category));
static cl::opt<unsigned> threads("num-threads",
                                 cl::desc("Worker threads (0: all cores)"),
                                 cl::init(0), cl::cat(category));
static cl::opt<std::string>
    backendName("backend",
                cl::desc("reference (the evaluator, default), maia (compile "
                         "each call for the Maia target and simulate it) or "
                         "cpu (compile a native library and run it)"),
                cl::init("reference"), cl::cat(category));
static cl::opt<std::string>
    targetName("target",
               cl::desc("--backend=maia: a built-in target or a target "
                        "description file (default maia200)"),
               cl::init("maia200"), cl::cat(category));
static cl::opt<unsigned>
    maiaTiles("maia-tiles",
              cl::desc("--backend=maia: tiles to spread each layer over "
                       "(0: all)"),
              cl::init(0), cl::cat(category));

static cl::opt<std::string> cpuLibraryDir(
    "cpu-library-dir",
    cl::desc("--backend=cpu: keep the model library, its weight pack and "
             "LLVM IR in this directory (default: a temporary one, removed)"),
    cl::cat(category));

static cl::opt<std::string> cpuCacheDir(
    "cpu-cache-dir",
    cl::desc("--backend=cpu: reuse the libraries clang built before from "
             "this directory, and add new ones (default: $MIXTILE_CACHE_DIR; "
             "none if that is unset or empty)"),
    cl::init(cpu::getDefaultCacheDir()), cl::cat(category));

namespace {

/// What runs the model: the evaluator or the simulated Maia target, behind
/// the evaluator's interface.
class Backend {
public:
  virtual ~Backend() = default;
  virtual Expected<std::vector<float>>
  forward(llvm::ArrayRef<int32_t> tokens) = 0;
  virtual int64_t position() const = 0;
  virtual void reset() = 0;
  virtual int64_t vocabSize() const = 0;
  virtual int64_t maxSeqLen() const = 0;
  /// Called once the work is done (the simulator reports its time).
  virtual void finish() {}
};

template <typename Impl> class BackendOf : public Backend {
public:
  explicit BackendOf(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
  Expected<std::vector<float>>
  forward(llvm::ArrayRef<int32_t> tokens) override {
    return impl->forward(tokens);
  }
  int64_t position() const override { return impl->position(); }
  void reset() override { impl->reset(); }
  int64_t vocabSize() const override { return impl->vocabSize(); }
  int64_t maxSeqLen() const override { return impl->maxSeqLen(); }
  void finish() override;

private:
  std::unique_ptr<Impl> impl;
};

template <typename Impl> void BackendOf<Impl>::finish() {}

template <> void BackendOf<MaiaRunner>::finish() {
  llvm::errs() << llvm::formatv("maia: {0} runs, {1} cycles, {2:F3} us "
                                "simulated\n",
                                impl->runs(), impl->simulatedCycles(),
                                impl->simulatedSeconds() * 1e6);
}

/// Accumulates negative log-likelihood over predicted tokens.
struct NLL {
  NLLSum total;

  /// Adds the predictions of `logits` rows [0, n-1) for tokens [1, n).
  void add(llvm::ArrayRef<float> logits, llvm::ArrayRef<int32_t> tokens,
           int64_t vocab) {
    NLLSum part =
        nextTokenNLL(logits.data(), tokens.data(), tokens.size(), vocab);
    total.sum += part.sum;
    total.count += part.count;
  }
  double mean() const { return total.mean(); }
  int64_t count() const { return total.count; }
};

/// Finds the tokenizer: the flag, else tok<VOCAB>.bin or tokenizer.bin beside
/// the model.
std::string findTokenizer(int64_t vocab) {
  if (!tokenizerPath.empty())
    return tokenizerPath;
  llvm::StringRef dir = llvm::sys::path::parent_path(modelPath);
  for (std::string name :
       {"tok" + std::to_string(vocab) + ".bin", std::string("tokenizer.bin")}) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    if (llvm::sys::fs::exists(path))
      return std::string(path);
  }
  return "";
}

Expected<Tokenizer> loadTokenizer(int64_t vocab) {
  // A GGUF model may carry its vocabulary.
  if (tokenizerPath.empty() && llvm::StringRef(modelPath).ends_with(".gguf"))
    return loadGGUFTokenizer(modelPath);
  std::string path = findTokenizer(vocab);
  if (path.empty())
    return llvm::createStringError(
        "no tokenizer given and none found beside the model; use --tokenizer");
  return Tokenizer::loadLlama2C(path, vocab);
}

int32_t pickToken(llvm::ArrayRef<float> row, std::mt19937 &rng) {
  if (temperature <= 0.0f)
    return std::max_element(row.begin(), row.end()) - row.begin();
  std::vector<double> weights(row.size());
  double max = *std::max_element(row.begin(), row.end());
  for (size_t i = 0; i < row.size(); ++i)
    weights[i] = std::exp((row[i] - max) / temperature);
  std::discrete_distribution<int32_t> dist(weights.begin(), weights.end());
  return dist(rng);
}

/// The prompt text: --prompt, or the contents of --prompt-file.
Expected<std::string> promptText() {
  if (promptFile.empty())
    return prompt.getValue();
  auto buffer = llvm::MemoryBuffer::getFile(promptFile, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(promptFile, buffer.getError());
  return (*buffer)->getBuffer().str();
}

Error generate(Backend &eval) {
  Expected<Tokenizer> tok = loadTokenizer(eval.vocabSize());
  if (!tok)
    return tok.takeError();
  Expected<std::string> text = promptText();
  if (!text)
    return text.takeError();
  std::vector<int> ids = tok->encode(*text, /*addBos=*/true, /*addEos=*/false);
  if (encodeOnly) {
    for (int id : ids)
      llvm::outs() << id << "\n";
    return Error::success();
  }
  std::vector<int32_t> tokens(ids.begin(), ids.end());
  Expected<std::vector<float>> logits = eval.forward(tokens);
  std::mt19937 rng(seed);
  int32_t prev = tokens.back();
  llvm::outs() << tok->decode(ids);
  for (int step = 0; step < steps && logits; ++step) {
    llvm::ArrayRef<float> last(
        logits->data() + logits->size() - eval.vocabSize(), eval.vocabSize());
    int32_t next = pickToken(last, rng);
    if (next == tok->bos() || next == tok->eos() ||
        eval.position() >= eval.maxSeqLen())
      break;
    llvm::outs() << tok->decodePiece(prev, next);
    llvm::outs().flush();
    prev = next;
    logits = eval.forward({next});
  }
  llvm::outs() << "\n";
  return logits ? Error::success() : logits.takeError();
}

/// Splits a story file at lines reading <|endoftext|>.
std::vector<std::string> splitStories(llvm::StringRef text) {
  std::vector<std::string> stories;
  std::string current;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    if (line.trim() == "<|endoftext|>") {
      if (!llvm::StringRef(current).trim().empty())
        stories.push_back(llvm::StringRef(current).trim().str());
      current.clear();
      continue;
    }
    current += line.str() + "\n";
  }
  if (!llvm::StringRef(current).trim().empty())
    stories.push_back(llvm::StringRef(current).trim().str());
  return stories;
}

void printNLL(const NLL &nll) {
  llvm::outs() << llvm::formatv("tokens: {0}\nmean NLL: {1:F4} nats/token\n"
                                "perplexity: {2:F4}\n",
                                nll.count(), nll.mean(), std::exp(nll.mean()));
}

Error evaluateStories(Backend &eval) {
  Expected<Tokenizer> tok = loadTokenizer(eval.vocabSize());
  if (!tok)
    return tok.takeError();
  auto buffer = llvm::MemoryBuffer::getFile(evalPath, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(evalPath, buffer.getError());
  std::vector<std::string> stories = splitStories((*buffer)->getBuffer());
  if (stories.empty())
    return llvm::createFileError(evalPath,
                                 llvm::createStringError("no stories found"));
  NLL nll;
  for (auto [i, story] : llvm::enumerate(stories)) {
    std::vector<int> ids = tok->encode(story, /*addBos=*/true, false);
    if (static_cast<int64_t>(ids.size()) > eval.maxSeqLen())
      ids.resize(eval.maxSeqLen());
    std::vector<int32_t> tokens(ids.begin(), ids.end());
    eval.reset();
    Expected<std::vector<float>> logits = eval.forward(tokens);
    if (!logits)
      return logits.takeError();
    nll.add(*logits, tokens, eval.vocabSize());
    if ((i + 1) % 50 == 0 || i + 1 == stories.size())
      llvm::errs() << llvm::formatv("[{0}/{1} stories] {2:F4} nats/token\n",
                                    i + 1, stories.size(), nll.mean());
  }
  printNLL(nll);
  return Error::success();
}

Expected<std::vector<int32_t>> readTokenFile(int64_t vocab) {
  auto buffer = llvm::MemoryBuffer::getFile(tokensPath, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(tokensPath, buffer.getError());
  std::vector<int32_t> tokens;
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (auto [n, line] : llvm::enumerate(lines)) {
    int64_t id;
    if (line.trim().getAsInteger(10, id) || id < 0 || id >= vocab)
      return llvm::createFileError(
          tokensPath, n + 1,
          llvm::createStringError("expected a token id in [0, " +
                                  llvm::Twine(vocab) + "), got '" +
                                  line.trim() + "'"));
    tokens.push_back(id);
  }
  if (tokens.empty())
    return llvm::createFileError(tokensPath,
                                 llvm::createStringError("no token ids"));
  return tokens;
}

/// Mean KL(reference || logits) per position, the fraction of positions
/// whose arg-max agrees, and the largest logit difference.
Error compareWithReference(llvm::ArrayRef<float> logits, int64_t vocab) {
  auto buffer = llvm::MemoryBuffer::getFile(referenceLogits, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createFileError(referenceLogits, buffer.getError());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() != logits.size() * sizeof(float))
    return llvm::createFileError(
        referenceLogits,
        llvm::createStringError(llvm::formatv(
            "holds {0} bytes, but this run has {1} logits ({2} bytes)",
            bytes.size(), logits.size(), logits.size() * sizeof(float))));
  std::vector<float> reference(logits.size());
  std::memcpy(reference.data(), bytes.data(), bytes.size());
  int64_t positions = logits.size() / vocab;
  LogitComparison c =
      compareLogits(reference.data(), logits.data(), positions, vocab);
  llvm::outs() << llvm::formatv(
      "KL(reference || this): {0:F6} nats/token\ntop-1 agreement: {1:F2}% "
      "({2} of {3})\nmax |logit difference|: {4:e3}\n",
      c.meanKL(), 100.0 * c.top1Agreement(), c.top1Agreements, c.positions,
      c.maxAbsDifference);
  return Error::success();
}

Error runTokens(Backend &eval) {
  Expected<std::vector<int32_t>> tokens = readTokenFile(eval.vocabSize());
  if (!tokens)
    return tokens.takeError();
  if (static_cast<int64_t>(tokens->size()) > eval.maxSeqLen())
    return llvm::createFileError(
        tokensPath, llvm::createStringError(
                        llvm::formatv("{0} tokens exceed the model's maximum "
                                      "sequence length {1}",
                                      tokens->size(), eval.maxSeqLen())
                            .str()));
  Expected<std::vector<float>> logits = eval.forward(*tokens);
  if (!logits)
    return logits.takeError();
  NLL nll;
  nll.add(*logits, *tokens, eval.vocabSize());
  printNLL(nll);
  if (!referenceLogits.empty())
    if (Error error = compareWithReference(*logits, eval.vocabSize()))
      return error;
  if (dumpLogits.empty())
    return Error::success();
  return llvm::writeToOutput(dumpLogits, [&](llvm::raw_ostream &os) {
    os.write(reinterpret_cast<const char *>(logits->data()),
             logits->size() * sizeof(float));
    return Error::success();
  });
}

/// Compiles the model into a library (in --cpu-library-dir, or a temporary
/// directory removed once the library is loaded) and loads it.
Expected<std::unique_ptr<Backend>> createCpuBackend(mlir::ModuleOp module,
                                                    WeightStore &store) {
  cpu::CpuLibraryOptions options;
  options.outputDir = cpuLibraryDir;
  options.cacheDir = cpuCacheDir;
  llvm::SmallString<128> temporary;
  if (options.outputDir.empty()) {
    if (std::error_code code =
            llvm::sys::fs::createUniqueDirectory("mixtile-cpu", temporary))
      return llvm::createStringError(code, "cannot create a temporary "
                                           "directory");
    options.outputDir = std::string(temporary);
  }
  Expected<cpu::CpuLibraryFiles> files =
      cpu::buildCpuLibrary(module, store, options);
  Expected<std::unique_ptr<cpu::CpuModel>> model =
      files ? cpu::CpuModel::load(files->library, files->weights)
            : Expected<std::unique_ptr<cpu::CpuModel>>(files.takeError());
  // A loaded library and a mapped weight pack outlive their files.
  if (!temporary.empty())
    llvm::sys::fs::remove_directories(temporary);
  if (!model)
    return model.takeError();
  return std::make_unique<BackendOf<cpu::CpuModel>>(std::move(*model));
}

Expected<std::unique_ptr<Backend>> createBackend(mlir::ModuleOp module,
                                                 WeightStore &store) {
  if (backendName == "maia") {
    Expected<TargetModel> target = TargetModel::load(targetName);
    if (!target)
      return target.takeError();
    Expected<std::unique_ptr<MaiaRunner>> runner =
        MaiaRunner::create(module, store, std::move(*target), maiaTiles);
    if (!runner)
      return runner.takeError();
    return std::make_unique<BackendOf<MaiaRunner>>(std::move(*runner));
  }
  if (backendName == "cpu")
    return createCpuBackend(module, store);
  if (backendName != "reference")
    return llvm::createStringError("unknown backend '" + backendName +
                                   "' (expected reference, maia or cpu)");
  EvaluatorOptions options;
  options.threads = threads;
  Expected<std::unique_ptr<Evaluator>> eval =
      Evaluator::create(module, store, options);
  if (!eval)
    return eval.takeError();
  return std::make_unique<BackendOf<Evaluator>>(std::move(*eval));
}

Error dispatch(Backend &backend) {
  if (!evalPath.empty())
    return evaluateStories(backend);
  if (!tokensPath.empty())
    return runTokens(backend);
  if (!dumpLogits.empty() || !referenceLogits.empty())
    return llvm::createStringError(
        "--dump-logits and --reference-logits need --tokens");
  return generate(backend);
}

Error run() {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  Expected<mlir::OwningOpRef<mlir::ModuleOp>> module =
      loadModel(&ctx, modelPath);
  if (!module)
    return module.takeError();
  WeightStore store(llvm::sys::path::parent_path(modelPath).str());
  Expected<std::unique_ptr<Backend>> backend = createBackend(**module, store);
  if (!backend)
    return backend.takeError();
  Error result = dispatch(**backend);
  (*backend)->finish();
  return result;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Run a model with Mixtile's reference evaluator or on the simulated Maia "
      "target\n");
  if (Error error = run()) {
    llvm::WithColor::error(llvm::errs(), "mixtile-run")
        << llvm::toString(std::move(error)) << "\n";
    return 1;
  }
  return 0;
}
