//===- CpuLibrary.cpp - build and load CPU model libraries ----------------===//
//
// The library is linked by clang because a shared object needs a linker;
// everything before that (the pipeline and the translation to LLVM IR) runs
// in-process.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Runtime/CpuLibrary.h"
#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Pipelines/CpuPipeline.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

using namespace mlir;
using namespace mixtile;
using namespace mixtile::cpu;
using llvm::Error;
using llvm::Expected;

namespace {

/// The sources of the C runtime, embedded at build time (CpuRuntimeSource.inc
/// defines kRuntimeSource and kRuntimeHeader).
#include "CpuRuntimeSource.inc"

Error fileError(const llvm::Twine &path, std::error_code code) {
  return llvm::createFileError(path, code);
}

/// Writes `contents` to `path`.
Error writeFile(llvm::StringRef path, llvm::StringRef contents) {
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << contents;
    return Error::success();
  });
}

std::string join(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, file);
  return std::string(path);
}

/// The clang to compile with: the option, the clang next to the LLVM tools
/// Mixtile was built with, or one on PATH.
Expected<std::string> findClang(const CpuLibraryOptions &options) {
  if (!options.clang.empty())
    return options.clang;
  if (llvm::sys::fs::can_execute(MIXTILE_CLANG_PATH))
    return std::string(MIXTILE_CLANG_PATH);
  for (llvm::StringRef name : {"clang-22", "clang"})
    if (llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name))
      return *path;
  return llvm::createStringError(
      "cpu backend: no clang found to link the model library (tried " +
      llvm::Twine(MIXTILE_CLANG_PATH) + ", clang-22 and clang on PATH)");
}

/// Lowers a copy of `module` with mixtile-cpu-pipeline (from xfmr IR with
/// `convertXfmr`, else from linalg on tensors) and translates it to LLVM IR.
/// With `hideDefinitions` only the runtime's C interface will be exported.
Expected<std::unique_ptr<llvm::Module>>
lowerToLLVMIR(ModuleOp module, llvm::LLVMContext &llvmContext,
              const CpuLibraryOptions &options, bool convertXfmr,
              bool hideDefinitions) {
  MLIRContext *ctx = module.getContext();
  OwningOpRef<ModuleOp> copy(cast<ModuleOp>(module->clone()));
  PassManager pm(ctx);
  CpuPipelineOptions pipeline;
  pipeline.convertXfmr = convertXfmr;
  pipeline.cpu = options.cpu;
  pipeline.features = options.features;
  pipeline.numerics = options.numerics;
  pipeline.bf16Dot = options.bf16Dot;
  buildCpuPipeline(pm, pipeline);
  std::string diagnostics;
  {
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diagnostic) {
      Location loc = diagnostic.getLocation();
      if (auto file = loc->findInstanceOf<FileLineColLoc>())
        os << file.getFilename().getValue() << ":" << file.getLine() << ":"
           << file.getColumn();
      else
        os << loc;
      os << ": " << diagnostic << "\n";
      return success();
    });
    if (failed(pm.run(*copy)))
      return llvm::createStringError("cpu backend: compilation failed:\n" +
                                     llvm::StringRef(diagnostics).rtrim());
  }
  registerBuiltinDialectTranslation(*ctx);
  registerLLVMDialectTranslation(*ctx);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*copy, llvmContext, options.name);
  if (!llvmModule)
    return llvm::createStringError(
        "cpu backend: translation to LLVM IR failed");
  // The generated functions are internal to a model library; the runtime
  // exports the C interface.
  if (hideDefinitions)
    for (llvm::GlobalValue &value : llvmModule->global_values())
      if (!value.isDeclaration() && !value.hasLocalLinkage())
        value.setVisibility(llvm::GlobalValue::HiddenVisibility);
  return std::move(llvmModule);
}

Error writeLLVMIR(const llvm::Module &llvmModule, llvm::StringRef path) {
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    llvmModule.print(os, nullptr);
    return Error::success();
  });
}

/// Writes the kernels' thread pool (CpuParallel.c) next to the library.
Expected<std::string> writeParallelSource(const CpuLibraryOptions &options) {
  std::string path = join(options.outputDir, "mixtile_cpu_parallel.c");
  if (Error error = writeFile(path, kParallelSource))
    return std::move(error);
  return path;
}

/// Runs clang to compile `llvmIR` and the thread pool (and the C runtime
/// `runtime`, if not empty) into `library`.
Error link(const CpuLibraryOptions &options, llvm::StringRef llvmIR,
           llvm::StringRef runtime, llvm::StringRef library) {
  Expected<std::string> parallel = writeParallelSource(options);
  if (!parallel)
    return parallel.takeError();
  Expected<std::string> clang = findClang(options);
  if (!clang)
    return clang.takeError();
  std::string optLevel = "-O" + std::to_string(options.optLevel);
  std::string log = join(options.outputDir, options.name + ".link.log");
  // -ffp-contract=off: the IR's separate fmul and fadd must stay separate.
  llvm::SmallVector<llvm::StringRef> args = {
      *clang,   optLevel,  "-ffp-contract=off",
      "-fPIC",  "-shared", "-fvisibility=hidden",
      "-o",     library,   llvmIR,
      *parallel};
  if (!runtime.empty())
    args.push_back(runtime);
  args.append({"-lm", "-lpthread"});
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*clang, args, std::nullopt, redirects,
                                         0, 0, &message);
  if (status == 0)
    return Error::success();
  std::string output;
  if (auto buffer = llvm::MemoryBuffer::getFile(log))
    output = (*buffer)->getBuffer().rtrim().str();
  return llvm::createStringError("cpu backend: linking " + library + " failed" +
                                 (message.empty() ? "" : ": " + message) +
                                 (output.empty() ? "" : ":\n" + output));
}

} // namespace

Expected<CpuLibraryFiles>
mixtile::cpu::buildCpuLibrary(ModuleOp module, WeightStore &store,
                              const CpuLibraryOptions &options) {
  if (std::error_code code =
          llvm::sys::fs::create_directories(options.outputDir))
    return fileError(options.outputDir, code);
  CpuLibraryFiles files;
  files.weights = join(options.outputDir, options.name + ".weights");
  files.llvmIR = join(options.outputDir, options.name + ".ll");
  files.library = join(options.outputDir, options.name + ".so");

  llvm::LLVMContext llvmContext;
  Expected<std::unique_ptr<llvm::Module>> llvmModule =
      lowerToLLVMIR(module, llvmContext, options, /*convertXfmr=*/true,
                    /*hideDefinitions=*/true);
  if (!llvmModule)
    return llvmModule.takeError();
  if (Error error = writeWeightPack(module, store, files.weights))
    return std::move(error);
  if (Error error = writeLLVMIR(**llvmModule, files.llvmIR))
    return std::move(error);
  // The runtime includes mixtile_cpu.h from its own directory.
  std::string runtime = join(options.outputDir, "mixtile_cpu_runtime.c");
  if (Error error = writeFile(runtime, kRuntimeSource))
    return std::move(error);
  if (Error error =
          writeFile(join(options.outputDir, "mixtile_cpu.h"), kRuntimeHeader))
    return std::move(error);
  if (Error error = link(options, files.llvmIR, runtime, files.library))
    return std::move(error);
  return files;
}

Expected<std::string>
mixtile::cpu::compileKernelLibrary(ModuleOp module,
                                   const CpuLibraryOptions &options) {
  if (std::error_code code =
          llvm::sys::fs::create_directories(options.outputDir))
    return fileError(options.outputDir, code);
  std::string llvmIR = join(options.outputDir, options.name + ".ll");
  std::string library = join(options.outputDir, options.name + ".so");
  llvm::LLVMContext llvmContext;
  Expected<std::unique_ptr<llvm::Module>> llvmModule =
      lowerToLLVMIR(module, llvmContext, options, /*convertXfmr=*/false,
                    /*hideDefinitions=*/false);
  if (!llvmModule)
    return llvmModule.takeError();
  if (Error error = writeLLVMIR(**llvmModule, llvmIR))
    return std::move(error);
  if (Error error = link(options, llvmIR, /*runtime=*/"", library))
    return std::move(error);
  return library;
}

//===----------------------------------------------------------------------===//
// CpuModel
//===----------------------------------------------------------------------===//

Error CpuModel::resolve(llvm::StringRef library) {
  auto symbol = [&](auto &function, const char *name) -> Error {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(
        dlsym(handle, name));
    if (!function)
      return llvm::createStringError(library + ": no symbol " + name +
                                     " (not a Mixtile model library?)");
    return Error::success();
  };
  return llvm::joinErrors(
      llvm::joinErrors(
          llvm::joinErrors(symbol(create, "mixtile_model_create"),
                           symbol(freeFn, "mixtile_model_free")),
          llvm::joinErrors(symbol(prefill, "mixtile_model_prefill"),
                           symbol(resetFn, "mixtile_model_reset"))),
      llvm::joinErrors(
          llvm::joinErrors(symbol(positionFn, "mixtile_model_position"),
                           symbol(vocabFn, "mixtile_model_vocab_size")),
          llvm::joinErrors(symbol(maxSeqFn, "mixtile_model_max_seq_len"),
                           symbol(lastError, "mixtile_last_error"))));
}

Expected<std::unique_ptr<CpuModel>> CpuModel::load(llvm::StringRef library,
                                                   llvm::StringRef weights) {
  std::unique_ptr<CpuModel> result(new CpuModel());
  // RTLD_LOCAL: every model library defines the same C interface.
  result->handle = dlopen(library.str().c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!result->handle)
    return llvm::createStringError("cpu backend: cannot load " + library +
                                   ": " + dlerror());
  if (Error error = result->resolve(library))
    return std::move(error);
  result->model = result->create(weights.str().c_str());
  if (!result->model)
    return llvm::createStringError("cpu backend: " +
                                   llvm::Twine(result->lastError()));
  return std::move(result);
}

CpuModel::~CpuModel() {
  if (model)
    freeFn(model);
  if (handle)
    dlclose(handle);
}

Expected<std::vector<float>> CpuModel::forward(llvm::ArrayRef<int32_t> tokens) {
  std::vector<float> logits(tokens.size() * vocabSize());
  if (prefill(model, tokens.data(), tokens.size(), logits.data()) != 0)
    return llvm::createStringError("cpu backend: " + llvm::Twine(lastError()));
  return logits;
}

int64_t CpuModel::position() const { return positionFn(model); }
void CpuModel::reset() { resetFn(model); }
int64_t CpuModel::vocabSize() const { return vocabFn(model); }
int64_t CpuModel::maxSeqLen() const { return maxSeqFn(model); }
