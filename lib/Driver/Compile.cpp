//===- Compile.cpp - the whole Mixtile flow in one call -------------------===//
//
// Each step writes its files into the output directory and adds what it
// measured to the summary. The steps call the same libraries the
// individual tools do (mixtile-translate, mixtile-opt, mixtile-run,
// mixtile-sim), so a compile is reproducible step by step with them.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Driver/Compile.h"
#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h"
#include "mixtile/Driver/Report.h"
#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Evaluator/PrecisionSchemes.h"
#include "mixtile/Import/ModelFormats.h"
#include "mixtile/Import/ModelLoader.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/TensorFile.h"
#include "mixtile/Import/Tokenizer.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Precision/Passes.h"
#include "mixtile/Runtime/CpuLibrary.h"
#include "mixtile/Target/Maia/Simulator.h"
#include "mixtile/Target/UnitTiming.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

using namespace mixtile;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

Expected<CompileStage> mixtile::parseCompileStage(StringRef name) {
  if (name == "annotated")
    return CompileStage::Annotated;
  if (name == "maia")
    return CompileStage::Maia;
  if (name == "cpu")
    return CompileStage::Cpu;
  if (name == "all")
    return CompileStage::All;
  return llvm::createStringError("unknown compile stage '" + name +
                                 "' (expected annotated, maia, cpu or all)");
}

namespace {

/// The built-in default model: a seeded synthetic Llama of stories260K's
/// shape, so a first compile needs no download.
constexpr StringRef kDefaultModel = R"({"preset": "tiny", "seed": 1})";

std::string joinPath(StringRef dir, StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

/// Writes `dir`/`name` with `write`; errors name the file.
Error writeFile(StringRef dir, StringRef name,
                llvm::function_ref<void(llvm::raw_ostream &)> write,
                bool binary = false) {
  std::string path = joinPath(dir, name);
  std::error_code code;
  llvm::raw_fd_ostream os(
      path, code, binary ? llvm::sys::fs::OF_None : llvm::sys::fs::OF_Text);
  if (code)
    return llvm::createFileError(path, code);
  write(os);
  os.close();
  if (os.has_error())
    return llvm::createFileError(path, os.error());
  return Error::success();
}

Expected<json::Value> readJSONFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  Expected<json::Value> value = json::parse((*buffer)->getBuffer());
  if (!value)
    return llvm::createFileError(path, value.takeError());
  return value;
}

//===----------------------------------------------------------------------===//
// Import
//===----------------------------------------------------------------------===//

Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadInputModel(mlir::MLIRContext *ctx, StringRef path) {
  if (!path.empty())
    return loadModel(ctx, path);
  Expected<SynthesisRequest> request =
      parseSynthesisRequest(kDefaultModel, "<default model>");
  if (!request)
    return request.takeError();
  return buildSyntheticModel(ctx, *request);
}

/// Weight references relative to the model's directory become absolute, so
/// the annotated IR in the output directory still finds its weights.
void makeWeightPathsAbsolute(mlir::ModuleOp module, const WeightStore &store) {
  module.walk([&](xfmr::WeightOp op) {
    StringRef file = op.getFile();
    if (file.starts_with(kSyntheticFilePrefix) || file == kShapesOnlyFile)
      return;
    llvm::SmallString<256> path(store.resolve(file));
    if (!llvm::sys::fs::make_absolute(path))
      op.setFile(path);
  });
}

bool hasWeightData(mlir::ModuleOp module) {
  bool shapesOnly = false;
  module.walk([&](xfmr::WeightOp op) {
    shapesOnly |= op.getFile() == kShapesOnlyFile;
  });
  return !shapesOnly;
}

int64_t countParameters(mlir::ModuleOp module) {
  int64_t count = 0;
  module.walk([&](xfmr::WeightOp op) {
    count += llvm::cast<mlir::RankedTensorType>(op.getType()).getNumElements();
  });
  return count;
}

//===----------------------------------------------------------------------===//
// Calibration and held-out sequences
//===----------------------------------------------------------------------===//

bool isGGUFFile(StringRef path) {
  if (path.empty())
    return false;
  auto head = llvm::MemoryBuffer::getFileSlice(path, 8, 0);
  if (!head)
    return false;
  llvm::ArrayRef<char> bytes((*head)->getBufferStart(),
                             (*head)->getBufferSize());
  return looksLikeGGUF(bytes);
}

/// A token file, or text when there is a tokenizer (--tokenizer, or a GGUF
/// model's own vocabulary).
Expected<TokenSequences>
readSequenceFile(StringRef path, const CompileOptions &options, int64_t vocab) {
  if (!options.tokenizer.empty()) {
    Expected<Tokenizer> tokenizer =
        Tokenizer::loadLlama2C(options.tokenizer, vocab);
    if (!tokenizer)
      return tokenizer.takeError();
    return readTextSequences(path, *tokenizer);
  }
  if (isGGUFFile(options.model)) {
    Expected<Tokenizer> tokenizer = loadGGUFTokenizer(options.model);
    if (!tokenizer)
      return tokenizer.takeError();
    return readTextSequences(path, *tokenizer);
  }
  return readTokenSequences(path);
}

/// Checks ids against the vocabulary and trims to the limits.
Error fitSequences(TokenSequences &sequences, StringRef what, int64_t vocab,
                   int64_t context, unsigned maxSequences) {
  if (maxSequences && sequences.size() > maxSequences)
    sequences.resize(maxSequences);
  for (std::vector<int32_t> &sequence : sequences) {
    if (context && int64_t(sequence.size()) > context)
      sequence.resize(context);
    for (int32_t id : sequence)
      if (id >= vocab)
        return llvm::createStringError(
            llvm::formatv("{0}: token id {1} is outside the model's "
                          "vocabulary of {2}",
                          what, id, vocab)
                .str());
  }
  return Error::success();
}

/// A portable uniform draw in [0, 1) (std::uniform_real_distribution is not
/// the same across standard libraries).
double uniform01(std::mt19937_64 &rng) {
  return double(rng() >> 11) * 0x1.0p-53;
}

int32_t sampleToken(llvm::ArrayRef<float> logits, std::mt19937_64 &rng) {
  float top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> weights(logits.size());
  double total = 0;
  for (auto [w, l] : llvm::zip_equal(weights, logits))
    total += w = std::exp(double(l) - top);
  double target = uniform01(rng) * total;
  for (auto [id, w] : llvm::enumerate(weights)) {
    target -= w;
    if (target < 0)
      return int32_t(id);
  }
  return int32_t(logits.size() - 1);
}

/// Sequences the FP32 model writes itself from BOS at temperature 1: data
/// from the model's own distribution, for models that come without any.
Expected<TokenSequences> sampleSequences(Evaluator &model, unsigned count,
                                         unsigned length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int64_t limit = std::min<int64_t>(length, model.maxSeqLen());
  TokenSequences sequences(count);
  for (std::vector<int32_t> &sequence : sequences) {
    model.reset();
    sequence.push_back(1);
    while (int64_t(sequence.size()) < limit) {
      Expected<std::vector<float>> logits = model.forward(sequence.back());
      if (!logits)
        return logits.takeError();
      sequence.push_back(sampleToken(*logits, rng));
    }
  }
  model.reset();
  return sequences;
}

Expected<TokenSequences> gatherSequences(StringRef path, StringRef what,
                                         unsigned generated, uint64_t seed,
                                         const CompileOptions &options,
                                         Evaluator &fp32) {
  Expected<TokenSequences> sequences =
      path.empty()
          ? sampleSequences(fp32, generated, options.generatedLength, seed)
          : readSequenceFile(path, options, fp32.vocabSize());
  if (!sequences)
    return sequences.takeError();
  int64_t context = fp32.maxSeqLen() == INT64_MAX ? 0 : fp32.maxSeqLen();
  if (Error err = fitSequences(*sequences, path.empty() ? what : path,
                               fp32.vocabSize(), context, options.maxSequences))
    return std::move(err);
  return sequences;
}

int64_t countTokens(const TokenSequences &sequences) {
  int64_t n = 0;
  for (const std::vector<int32_t> &s : sequences)
    n += s.size();
  return n;
}

//===----------------------------------------------------------------------===//
// Precision search
//===----------------------------------------------------------------------===//

/// "kl=0.01" -> ("kl", 0.01).
Expected<std::pair<std::string, double>> splitBudget(StringRef budget) {
  auto [metric, value] = budget.split('=');
  double bound;
  if (value.empty() || value.trim().getAsDouble(bound) || !(bound > 0))
    return llvm::createStringError(
        "--budget: expected METRIC=VALUE with a positive value (e.g. "
        "kl=0.01), got '" +
        budget + "'");
  return std::make_pair(metric.trim().str(), bound);
}

/// Runs `pm` on `module`; an error carries the diagnostics it emitted.
Error runPasses(mlir::PassManager &pm, mlir::ModuleOp module) {
  std::string messages;
  mlir::ScopedDiagnosticHandler handler(
      module.getContext(), [&](mlir::Diagnostic &diag) {
        if (diag.getSeverity() != mlir::DiagnosticSeverity::Error)
          return mlir::failure(); // Leave warnings to the default handler.
        if (!messages.empty())
          messages += "\n";
        messages += diag.str();
        return mlir::success();
      });
  if (mlir::failed(pm.run(module)))
    return llvm::createStringError(messages.empty() ? "pass pipeline failed"
                                                    : messages);
  return Error::success();
}

Error assignPrecision(mlir::ModuleOp module, const CompileOptions &options,
                      StringRef dir) {
  Expected<std::pair<std::string, double>> budget = splitBudget(options.budget);
  if (!budget)
    return budget.takeError();
  precision::XfmrAssignPrecisionOptions assign;
  assign.budget = options.budget;
  assign.objective = options.objective;
  assign.sensitivity = options.sensitivity;
  assign.threads = options.threads;
  assign.calibration = joinPath(dir, "calibration.tokens");
  assign.holdout = joinPath(dir, "holdout.tokens");
  assign.plan = joinPath(dir, "plan.json");
  assign.sensitivitiesOut = joinPath(dir, "sensitivities.json");
  if (!options.sweepFactors.empty()) {
    std::vector<double> factors = options.sweepFactors;
    factors.push_back(1.0);
    llvm::sort(factors);
    factors.erase(std::unique(factors.begin(), factors.end()), factors.end());
    for (double f : factors) {
      char value[32];
      std::snprintf(value, sizeof(value), "%.6g", f * budget->second);
      assign.sweep.push_back(value);
    }
    assign.sweepOut = joinPath(dir, "sweep.json");
  }
  xfmr::XfmrAttachTargetOptions attach;
  attach.target = options.target;
  mlir::PassManager pm(module.getContext());
  pm.addPass(xfmr::createXfmrAttachTarget(attach));
  pm.addPass(precision::createXfmrAssignPrecision(assign));
  return runPasses(pm, module);
}

//===----------------------------------------------------------------------===//
// Back ends
//===----------------------------------------------------------------------===//

/// The largest |a - b| over two logit arrays of the same size.
double maxAbsDifference(llvm::ArrayRef<float> a, llvm::ArrayRef<float> b) {
  double worst = 0;
  for (auto [x, y] : llvm::zip_equal(a, b))
    worst = std::max(worst, std::fabs(double(x) - double(y)));
  return worst;
}

/// How `logits` ([rows, vocab]) compare with the evaluator's `reference`:
/// bit for bit, by the largest difference (absolute, and relative to the
/// largest reference magnitude), and by the rows whose arg-max agrees.
json::Object parity(llvm::ArrayRef<float> reference,
                    llvm::ArrayRef<float> logits, size_t rows) {
  bool identical = reference.size() == logits.size() &&
                   std::memcmp(reference.data(), logits.data(),
                               reference.size() * sizeof(float)) == 0;
  if (reference.size() != logits.size() || rows == 0)
    return json::Object{{"bit_identical", false},
                        {"max_abs_difference", INFINITY}};
  double largest = 0;
  for (float v : reference)
    largest = std::max(largest, double(std::fabs(v)));
  double difference = identical ? 0.0 : maxAbsDifference(reference, logits);
  size_t vocab = reference.size() / rows, sameArgmax = 0;
  for (size_t r = 0; r < rows; ++r) {
    auto row = [&](llvm::ArrayRef<float> a) {
      return a.slice(r * vocab, vocab);
    };
    sameArgmax += llvm::max_element(row(reference)) - row(reference).begin() ==
                  llvm::max_element(row(logits)) - row(logits).begin();
  }
  return json::Object{
      {"bit_identical", identical},
      {"max_abs_difference", difference},
      {"max_relative_difference", largest > 0 ? difference / largest : 0.0},
      {"same_argmax_rows", int64_t(sameArgmax)},
      {"rows", int64_t(rows)}};
}

json::Object timingJSON(const maia::SimReport &report) {
  json::Object utilization;
  for (const maia::UnitKindUsage &kind : report.kinds)
    if (kind.count)
      utilization[maia::getUnitKindName(kind.kind)] =
          report.getUtilization(kind.busyCycles) / double(kind.count);
  return json::Object{{"seconds", report.seconds},
                      {"cycles", int64_t(report.cycles)},
                      {"hbm_read_bytes", int64_t(report.bytes.hbmRead)},
                      {"hbm_write_bytes", int64_t(report.bytes.hbmWrite)},
                      {"mean_utilization", std::move(utilization)}};
}

Expected<json::Object> compileForMaia(mlir::ModuleOp module, WeightStore &store,
                                      const TargetModel &target,
                                      llvm::ArrayRef<int32_t> prompt,
                                      llvm::ArrayRef<float> reference,
                                      StringRef dir) {
  MaiaLoweringOptions options;
  options.tokens.assign(prompt.begin(), prompt.end());
  Expected<MaiaLoweredProgram> lowered =
      lowerToMaia(module, store, target, options);
  if (!lowered)
    return lowered.takeError();
  if (Error err = writeFile(dir, "model.masm", [&](llvm::raw_ostream &os) {
        maia::printAssembly(lowered->program, os);
      }))
    return std::move(err);
  std::vector<uint8_t> binary = maia::encodeBinary(lowered->program);
  if (Error err = writeFile(
          dir, "model.mbin",
          [&](llvm::raw_ostream &os) {
            os.write(reinterpret_cast<const char *>(binary.data()),
                     binary.size());
          },
          /*binary=*/true))
    return std::move(err);

  Expected<maia::SimResult> run = maia::simulate(lowered->program, target);
  if (!run)
    return run.takeError();
  Expected<std::vector<uint8_t>> bytes = run->readBuffer(lowered->logits);
  if (!bytes)
    return bytes.takeError();
  std::vector<float> logits(bytes->size() / sizeof(float));
  std::memcpy(logits.data(), bytes->data(), logits.size() * sizeof(float));

  // The next token's step, timed only (no data).
  MaiaLoweringOptions step;
  step.numTokens = 1;
  step.start = int64_t(prompt.size());
  step.withWeights = false;
  Expected<MaiaLoweredProgram> decode =
      lowerToMaia(module, store, target, step);
  if (!decode)
    return decode.takeError();
  maia::SimOptions timingOnly;
  timingOnly.functional = false;
  Expected<maia::SimResult> decodeRun =
      maia::simulate(decode->program, target, timingOnly);
  if (!decodeRun)
    return decodeRun.takeError();

  json::Object prefill = timingJSON(run->report);
  prefill["tokens"] = int64_t(prompt.size());
  json::Object decodeStep = timingJSON(decodeRun->report);
  decodeStep["position"] = int64_t(prompt.size());
  return json::Object{{"target", target.name},
                      {"prefill", std::move(prefill)},
                      {"decode_step", std::move(decodeStep)},
                      {"parity", parity(reference, logits, prompt.size())},
                      {"program_bytes", int64_t(binary.size())}};
}

/// Builds the CPU library in `dir`/cpu-build, keeps its library, weight
/// pack and LLVM IR in `dir`, and checks its logits.
Expected<json::Object> compileForCpu(mlir::ModuleOp module, WeightStore &store,
                                     const CompileOptions &options,
                                     llvm::ArrayRef<int32_t> prompt,
                                     llvm::ArrayRef<float> reference,
                                     StringRef dir) {
  cpu::CpuLibraryOptions library;
  library.outputDir = joinPath(dir, "cpu-build");
  library.name = "model";
  library.cpu = options.cpu;
  library.numerics = options.cpuNumerics;
  library.cacheDir = options.cpuCacheDir;
  Expected<cpu::CpuLibraryFiles> files =
      cpu::buildCpuLibrary(module, store, library);
  if (!files)
    return files.takeError();
  std::string kept[3] = {files->library, files->weights, files->llvmIR};
  for (std::string &file : kept) {
    std::string to = joinPath(dir, llvm::sys::path::filename(file));
    if (std::error_code code = llvm::sys::fs::rename(file, to))
      return llvm::createFileError(to, code);
    file = to;
  }
  if (std::error_code code =
          llvm::sys::fs::remove_directories(library.outputDir))
    return llvm::createFileError(library.outputDir, code);
  Expected<std::unique_ptr<cpu::CpuModel>> model =
      cpu::CpuModel::load(kept[0], kept[1]);
  if (!model)
    return model.takeError();
  Expected<std::vector<float>> logits = (*model)->forward(prompt);
  if (!logits)
    return logits.takeError();
  // json::Value keeps a StringRef as it is: the name must be copied.
  return json::Object{
      {"library", llvm::sys::path::filename(kept[0]).str()},
      {"cpu", options.cpu},
      {"numerics", cpu::stringifyCpuNumerics(library.numerics).str()},
      {"from_cache", files->fromCache},
      {"prompt_tokens", int64_t(prompt.size())},
      {"parity", parity(reference, *logits, prompt.size())}};
}

//===----------------------------------------------------------------------===//
// Simulated kernels for the roofline
//===----------------------------------------------------------------------===//

MaiaOperandFormat operandFormat(const std::optional<numerics::QuantScheme> &s,
                                bool perRow) {
  MaiaOperandFormat format;
  if (s) {
    format.format = s->element;
    format.mode = getMaiaScaleMode(*s, perRow);
    format.block = s->blockSize;
  }
  return format;
}

unsigned formatBits(const MaiaOperandFormat &f) {
  return numerics::getFormatInfo(f.format).bits;
}

/// The candidate each layer got, by layer name, from the plan's groups.
std::map<std::string, std::string> candidatesByLayer(const json::Object &plan) {
  std::map<std::string, std::string> byLayer;
  if (const json::Array *layers = plan.getArray("layers"))
    for (const json::Value &entry : *layers) {
      const json::Object *layer = entry.getAsObject();
      if (!layer)
        continue;
      std::optional<StringRef> group = layer->getString("group");
      std::optional<StringRef> candidate = layer->getString("candidate");
      if (!group || !candidate)
        continue;
      llvm::SmallVector<StringRef> names;
      group->split(names, ',');
      for (StringRef name : names)
        byLayer[name.str()] = candidate->str();
    }
  return byLayer;
}

/// Every distinct product of the model (shape and formats), simulated
/// alone in timing mode at one decode row and at `prefillRows` rows.
Expected<std::vector<RooflineKernel>>
simulateProducts(mlir::ModuleOp module, const TargetModel &target,
                 const json::Object &plan, int64_t prefillRows) {
  std::map<std::string, std::string> candidates = candidatesByLayer(plan);
  std::map<std::string, bool> seen;
  std::vector<RooflineKernel> kernels;
  maia::SimOptions timingOnly;
  timingOnly.functional = false;
  mlir::WalkResult walk = module.walk([&](xfmr::LinearOp op) {
    auto type = llvm::cast<mlir::RankedTensorType>(op.getWeight().getType());
    int64_t n = type.getDimSize(0), k = type.getDimSize(1);
    Expected<OperandSchemes> schemes =
        getOperandSchemes(op.getPrecisionRecord());
    if (!schemes) {
      llvm::consumeError(schemes.takeError());
      return mlir::WalkResult::advance();
    }
    std::string layer = xfmr::getLayerName(op);
    std::string format =
        candidates.count(layer) ? candidates[layer] : std::string("f32");
    std::string key = llvm::formatv("{0}x{1} {2}", n, k, format).str();
    if (seen[key])
      return mlir::WalkResult::advance();
    seen[key] = true;
    MaiaOperandFormat x = operandFormat(schemes->activations, true);
    MaiaOperandFormat w = operandFormat(schemes->weights, false);
    for (int64_t m : {int64_t(1), prefillRows}) {
      MaiaKernelOptions kernelOptions;
      Expected<maia::Program> program =
          buildMatmulProgram(target, m, n, k, x, w, kernelOptions);
      if (!program) {
        // Shapes the kernels cannot place are left out of the chart.
        llvm::consumeError(program.takeError());
        continue;
      }
      Expected<maia::SimResult> run =
          maia::simulate(*program, target, timingOnly);
      if (!run) {
        llvm::consumeError(run.takeError());
        continue;
      }
      RooflineKernel kernel;
      kernel.label = llvm::formatv("{0} m={1} n={2} k={3}", layer, m, n, k);
      kernel.format = format;
      kernel.computeClass = computeClassOf(formatBits(x), formatBits(w));
      kernel.flops = 2.0 * double(m) * double(n) * double(k);
      kernel.hbmBytes =
          double(run->report.bytes.hbmRead + run->report.bytes.hbmWrite);
      kernel.seconds = run->report.seconds;
      kernels.push_back(std::move(kernel));
    }
    return mlir::WalkResult::advance();
  });
  (void)walk;
  return kernels;
}

//===----------------------------------------------------------------------===//
// The flow
//===----------------------------------------------------------------------===//

class CompileFlow {
public:
  CompileFlow(const CompileOptions &options, StringRef dir,
              const CompileProgress &progress)
      : options(options), dir(dir), progress(progress) {}

  Expected<json::Object> run();

private:
  bool wantsMaia() const {
    return options.stage == CompileStage::Maia ||
           options.stage == CompileStage::All;
  }
  bool wantsCpu() const {
    return options.stage == CompileStage::Cpu ||
           options.stage == CompileStage::All;
  }
  unsigned numSteps() const { return 5 + wantsMaia() + wantsCpu(); }
  void step(StringRef name) {
    if (progress)
      progress(name, ++stepIndex, numSteps());
  }
  Error importModel();
  Error prepareSequences();
  Error choosePrecision();
  Error writeAnnotated();
  Error referenceLogits();
  Error writeReport();

  const CompileOptions &options;
  std::string dir;
  const CompileProgress &progress;
  unsigned stepIndex = 0;

  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<WeightStore> store;
  TargetModel target;
  TokenSequences calibration, holdout;
  std::vector<int32_t> prompt;
  std::vector<float> reference;
  json::Object summary;
  json::Value plan = nullptr;
};

Error CompileFlow::importModel() {
  step("import");
  registerAllDialects(registry);
  ctx = std::make_unique<mlir::MLIRContext>(registry);
  ctx->disableMultithreading(); // The passes run their own workers.
  Expected<mlir::OwningOpRef<mlir::ModuleOp>> loaded =
      loadInputModel(ctx.get(), options.model);
  if (!loaded)
    return loaded.takeError();
  module = std::move(*loaded);
  if (!hasWeightData(*module))
    return llvm::createStringError(
        (options.model.empty() ? std::string("the model") : options.model) +
        ": the model has no weights (shapes only); a precision search needs "
        "them");
  store = std::make_unique<WeightStore>(
      llvm::sys::path::parent_path(options.model).str());
  makeWeightPathsAbsolute(*module, *store);
  Expected<TargetModel> loadedTarget = TargetModel::load(options.target);
  if (!loadedTarget)
    return loadedTarget.takeError();
  target = std::move(*loadedTarget);
  summary["model"] =
      options.model.empty() ? "<default: synthetic tiny Llama>" : options.model;
  summary["parameters"] = countParameters(*module);
  summary["target"] = target.name;
  return writeFile(dir, "model.mlir",
                   [&](llvm::raw_ostream &os) { module->print(os); });
}

Error CompileFlow::prepareSequences() {
  step("calibration data");
  EvaluatorOptions evalOptions;
  evalOptions.threads = options.threads;
  Expected<std::unique_ptr<Evaluator>> fp32 =
      Evaluator::create(*module, *store, evalOptions);
  if (!fp32)
    return fp32.takeError();
  Expected<TokenSequences> cal = gatherSequences(
      options.calibration, "calibration", options.generatedCalibration,
      /*seed=*/1, options, **fp32);
  if (!cal)
    return cal.takeError();
  Expected<TokenSequences> held =
      gatherSequences(options.holdout, "held-out", options.generatedHoldout,
                      /*seed=*/2, options, **fp32);
  if (!held)
    return held.takeError();
  calibration = std::move(*cal);
  holdout = std::move(*held);
  const std::vector<int32_t> &first = holdout.front();
  prompt.assign(first.begin(),
                first.begin() +
                    std::min<size_t>(first.size(), options.promptTokens));
  summary["calibration"] = json::Object{
      {"source", options.calibration.empty() ? "sampled from the FP32 model"
                                             : options.calibration},
      {"sequences", int64_t(calibration.size())},
      {"tokens", countTokens(calibration)}};
  summary["holdout"] = json::Object{
      {"source", options.holdout.empty() ? "sampled from the FP32 model"
                                         : options.holdout},
      {"sequences", int64_t(holdout.size())},
      {"tokens", countTokens(holdout)}};
  for (const auto &entry : {std::pair{"calibration.tokens", &calibration},
                            std::pair{"holdout.tokens", &holdout}}) {
    const TokenSequences &set = *entry.second;
    if (Error err = writeFile(dir, entry.first, [&](llvm::raw_ostream &os) {
          writeTokenSequences(set, os);
        }))
      return err;
  }
  return Error::success();
}

Error CompileFlow::choosePrecision() {
  step("precision search");
  if (Error err = assignPrecision(*module, options, dir))
    return err;
  Expected<json::Value> read = readJSONFile(joinPath(dir, "plan.json"));
  if (!read)
    return read.takeError();
  plan = std::move(*read);
  const json::Object *p = plan.getAsObject();
  if (!p)
    return llvm::createStringError("plan.json: not an object");
  json::Object precision{{"budget", options.budget},
                         {"objective", options.objective}};
  for (StringRef key : {"total_cost", "total_modeled_seconds",
                        "total_weight_bytes", "measured_calibration_error"})
    if (const json::Value *v = p->get(key))
      precision[key] = *v;
  if (const json::Value *v = p->get("holdout"))
    precision["holdout"] = *v;
  // The cheapest uniform plan whose held-out error meets the bound.
  if (Expected<std::pair<std::string, double>> bound =
          splitBudget(options.budget)) {
    std::optional<std::pair<std::string, double>> best;
    if (const json::Object *uniform = p->getObject("uniform"))
      for (const auto &[name, entry] : *uniform) {
        const json::Object *u = entry.getAsObject();
        const json::Object *held = u ? u->getObject("holdout") : nullptr;
        std::optional<double> error =
            held ? held->getNumber(bound->first) : std::nullopt;
        std::optional<double> cost = u ? u->getNumber("cost") : std::nullopt;
        bool meets =
            error && (bound->first == "top1" ? 1.0 - *error <= bound->second
                                             : *error <= bound->second);
        if (meets && cost && (!best || *cost < best->second))
          best = std::make_pair(name.str(), *cost);
      }
    if (best)
      precision["best_uniform_within_budget"] =
          json::Object{{"candidate", best->first}, {"cost", best->second}};
  } else {
    return bound.takeError();
  }
  summary["precision"] = std::move(precision);
  return Error::success();
}

Error CompileFlow::writeAnnotated() {
  step("annotated IR");
  return writeFile(dir, "annotated.mlir",
                   [&](llvm::raw_ostream &os) { module->print(os); });
}

Error CompileFlow::referenceLogits() {
  EvaluatorOptions evaluatorOptions;
  evaluatorOptions.threads = options.threads;
  Expected<std::unique_ptr<Evaluator>> eval =
      Evaluator::create(*module, *store, evaluatorOptions);
  if (!eval)
    return eval.takeError();
  Expected<std::vector<float>> logits = (*eval)->forward(prompt);
  if (!logits)
    return logits.takeError();
  reference = std::move(*logits);
  return Error::success();
}

Error CompileFlow::writeReport() {
  step("report");
  ReportInputs inputs;
  inputs.title = options.model.empty()
                     ? std::string("default model")
                     : llvm::sys::path::filename(options.model).str();
  inputs.plan = plan.getAsObject();
  Expected<json::Value> sweep = json::Value(nullptr);
  if (!options.sweepFactors.empty())
    sweep = readJSONFile(joinPath(dir, "sweep.json"));
  if (!sweep)
    return sweep.takeError();
  inputs.sweep = sweep->getAsArray();
  Expected<json::Value> sensitivities =
      readJSONFile(joinPath(dir, "sensitivities.json"));
  if (!sensitivities)
    return sensitivities.takeError();
  inputs.sensitivities = sensitivities->getAsObject();
  Expected<std::vector<RooflineKernel>> kernels = simulateProducts(
      *module, target, *inputs.plan, std::max<int64_t>(256, prompt.size()));
  if (!kernels)
    return kernels.takeError();
  inputs.kernels = std::move(*kernels);
  inputs.target = target;
  inputs.summary = &summary;
  return writeFile(dir, "report.html", [&](llvm::raw_ostream &os) {
    mixtile::writeReport(inputs, os);
  });
}

Expected<json::Object> CompileFlow::run() {
  if (Error err = importModel())
    return std::move(err);
  if (Error err = prepareSequences())
    return std::move(err);
  if (Error err = choosePrecision())
    return std::move(err);
  if (Error err = writeAnnotated())
    return std::move(err);
  if (wantsMaia() || wantsCpu())
    if (Error err = referenceLogits())
      return std::move(err);
  if (wantsMaia()) {
    step("maia program + simulation");
    Expected<json::Object> maia =
        compileForMaia(*module, *store, target, prompt, reference, dir);
    if (!maia)
      return maia.takeError();
    summary["maia"] = std::move(*maia);
  }
  if (wantsCpu()) {
    step("cpu library");
    Expected<json::Object> cpu =
        compileForCpu(*module, *store, options, prompt, reference, dir);
    if (!cpu)
      return cpu.takeError();
    summary["cpu"] = std::move(*cpu);
  }
  if (Error err = writeReport())
    return std::move(err);
  std::error_code code;
  std::vector<std::string> files;
  for (llvm::sys::fs::directory_iterator it(dir, code), end; !code && it != end;
       it.increment(code))
    files.push_back(llvm::sys::path::filename(it->path()).str());
  llvm::sort(files);
  files.push_back("summary.json");
  summary["files"] = json::Array(files);
  json::Object result = summary;
  if (Error err = writeFile(dir, "summary.json", [&](llvm::raw_ostream &os) {
        os << llvm::formatv("{0:2}", json::Value(std::move(summary))) << "\n";
      }))
    return std::move(err);
  return result;
}

} // namespace

Expected<json::Object> mixtile::compileModel(const CompileOptions &options,
                                             StringRef outputDir,
                                             const CompileProgress &progress) {
  if (!llvm::sys::fs::is_directory(outputDir))
    return llvm::createStringError(outputDir +
                                   ": output directory does not exist");
  // Options are checked before anything runs.
  if (Expected<std::pair<std::string, double>> budget =
          splitBudget(options.budget);
      !budget)
    return budget.takeError();
  if (Expected<TargetModel> target = TargetModel::load(options.target); !target)
    return target.takeError();
  CompileFlow flow(options, outputDir, progress);
  return flow.run();
}

//===----------------------------------------------------------------------===//
// Summary
//===----------------------------------------------------------------------===//

namespace {

std::optional<double> numberAt(const json::Object &object,
                               std::initializer_list<StringRef> path) {
  const json::Object *at = &object;
  for (auto it = path.begin(); it != path.end(); ++it) {
    if (std::next(it) == path.end())
      return at->getNumber(*it);
    at = at->getObject(*it);
    if (!at)
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<bool> boolAt(const json::Object &object, StringRef section) {
  const json::Object *s = object.getObject(section);
  const json::Object *p = s ? s->getObject("parity") : nullptr;
  return p ? p->getBoolean("bit_identical") : std::nullopt;
}

} // namespace

void mixtile::printCompileSummary(const json::Object &summary,
                                  llvm::raw_ostream &os) {
  auto text = [&](StringRef key) {
    std::optional<StringRef> s = summary.getString(key);
    return s ? s->str() : std::string("?");
  };
  os << "model: " << text("model") << " ("
     << summary.getInteger("parameters").value_or(0) << " parameters)\n";
  const json::Object *precision = summary.getObject("precision");
  if (precision) {
    std::optional<StringRef> objective = precision->getString("objective");
    bool latency = objective && *objective == "latency";
    double cost = precision->getNumber("total_cost").value_or(0);
    auto show = [&](double c) {
      return latency ? llvm::formatv("{0:f2} us", c * 1e6).str()
                     : llvm::formatv("{0:f0}", c).str();
    };
    os << "plan: " << show(cost) << " modeled "
       << (latency ? "latency" : "cost") << " on " << text("target");
    if (const json::Object *best =
            precision->getObject("best_uniform_within_budget"))
      os << " (best uniform plan within the budget: "
         << best->getString("candidate").value_or("?") << ", "
         << show(best->getNumber("cost").value_or(0)) << ")";
    os << "\n";
    if (const json::Object *held = precision->getObject("holdout"))
      os << llvm::formatv("held-out: kl {0:e3}, top-1 {1:f2}%, budget {2}\n",
                          held->getNumber("kl").value_or(NAN),
                          100 * held->getNumber("top1").value_or(NAN),
                          precision->getString("budget").value_or("?"));
  }
  if (summary.getObject("maia")) {
    os << llvm::formatv(
        "maia: prefill of {0:f0} tokens {1:f2} us, decode step {2:f2} us "
        "(simulated); logits {3} the evaluator's\n",
        numberAt(summary, {"maia", "prefill", "tokens"}).value_or(0),
        1e6 * numberAt(summary, {"maia", "prefill", "seconds"}).value_or(0),
        1e6 * numberAt(summary, {"maia", "decode_step", "seconds"}).value_or(0),
        boolAt(summary, "maia").value_or(false) ? "identical to"
                                                : "DIFFER from");
  }
  if (const json::Object *cpu = summary.getObject("cpu")) {
    std::string numerics = cpu->getString("numerics").value_or("exact").str();
    bool fast = numerics != "exact";
    std::string agreement = "identical to the evaluator's";
    if (!boolAt(summary, "cpu").value_or(false))
      agreement =
          fast ? std::string(llvm::formatv(
                     "within {0:e2} of the evaluator's (relative to the "
                     "largest), the same arg-max at {1:F0} of {2:F0} positions",
                     numberAt(summary,
                              {"cpu", "parity", "max_relative_difference"})
                         .value_or(INFINITY),
                     numberAt(summary, {"cpu", "parity", "same_argmax_rows"})
                         .value_or(0),
                     numberAt(summary, {"cpu", "parity", "rows"}).value_or(0)))
               : std::string("DIFFER from the evaluator's");
    os << llvm::formatv("cpu: model.so for {0} ({1} numerics); logits {2}\n",
                        cpu->getString("cpu").value_or("?"), numerics,
                        agreement);
  }
}
