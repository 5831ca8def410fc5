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
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
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

/// The name in CpuLibraryOptions::cacheDir of the library clang builds
/// with `args` from the files `inputs` (the sources it names and the
/// headers they include): the paths of the output and the inputs are left
/// out, the inputs' contents taken instead, so that builds in different
/// directories share it.
Expected<std::string> cacheKey(llvm::ArrayRef<llvm::StringRef> args,
                               llvm::StringRef output,
                               llvm::ArrayRef<std::string> inputs) {
  llvm::SHA256 hash;
  auto add = [&](llvm::StringRef bytes) {
    // Each part's length first: no two lists of parts hash alike.
    hash.update(std::to_string(bytes.size()) + ":");
    hash.update(bytes);
  };
  llvm::sys::fs::file_status clang;
  if (std::error_code code = llvm::sys::fs::status(args.front(), clang))
    return fileError(args.front(), code);
  add(std::to_string(clang.getSize()));
  add(std::to_string(
      clang.getLastModificationTime().time_since_epoch().count()));
  for (llvm::StringRef arg : args)
    add(arg == output                     ? "<output>"
        : llvm::is_contained(inputs, arg) ? "<input>"
                                          : arg);
  for (llvm::StringRef input : inputs) {
    auto buffer = llvm::MemoryBuffer::getFile(input);
    if (!buffer)
      return fileError(input, buffer.getError());
    add((*buffer)->getBuffer());
  }
  return llvm::toHex(hash.final(), /*LowerCase=*/true) + ".so";
}

/// The SHA-256 of `bytes` in hex.
std::string digestOf(llvm::StringRef bytes) {
  return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(bytes)),
                     /*LowerCase=*/true);
}

/// Writes the cached library `cached` to `library` if it still has the
/// digest stored next to it (`cached`.sha256): a damaged entry (a
/// truncated library would crash dlopen) is removed instead. writeFile
/// renames a complete temporary file into place, here as in addToCache.
bool copyFromCache(llvm::StringRef cached, llvm::StringRef library) {
  std::string digestFile = (cached + ".sha256").str();
  auto entry = llvm::MemoryBuffer::getFile(cached);
  auto stored = llvm::MemoryBuffer::getFile(digestFile);
  if (!entry || !stored)
    return false;
  if ((*stored)->getBuffer().trim() != digestOf((*entry)->getBuffer())) {
    llvm::sys::fs::remove(cached);
    llvm::sys::fs::remove(digestFile);
    return false;
  }
  if (Error error = writeFile(library, (*entry)->getBuffer())) {
    llvm::consumeError(std::move(error));
    return false;
  }
  return true;
}

/// Adds `library` to the cache as `cached`, its digest first: a reader
/// that finds the library finds the digest too.
void addToCache(llvm::StringRef library, llvm::StringRef cached,
                llvm::StringRef cacheDir) {
  auto built = llvm::MemoryBuffer::getFile(library);
  if (!built || llvm::sys::fs::create_directories(cacheDir))
    return;
  llvm::StringRef bytes = (*built)->getBuffer();
  if (Error error =
          writeFile((cached + ".sha256").str(), digestOf(bytes) + "\n")) {
    llvm::consumeError(std::move(error));
    return;
  }
  llvm::consumeError(writeFile(cached, bytes));
}

/// Runs clang to compile `llvmIR` and the thread pool (and the C runtime
/// `runtime`, if not empty) into `library`, or copies the library it built
/// from the same inputs before out of options.cacheDir. Returns whether it
/// did the latter.
Expected<bool> link(const CpuLibraryOptions &options, llvm::StringRef llvmIR,
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
  llvm::SmallVector<std::string, 4> inputs = {llvmIR.str(), *parallel};
  if (!runtime.empty()) {
    args.push_back(runtime);
    inputs.push_back(runtime.str());
    // The runtime includes mixtile_cpu.h from its own directory.
    inputs.push_back(
        join(llvm::sys::path::parent_path(runtime), "mixtile_cpu.h"));
  }
  args.append({"-lm", "-lpthread"});

  std::string cached;
  if (!options.cacheDir.empty()) {
    // Without a key (clang's file cannot be read) the cache is skipped.
    Expected<std::string> key = cacheKey(args, library, inputs);
    if (key)
      cached = join(options.cacheDir, *key);
    else
      llvm::consumeError(key.takeError());
    if (!cached.empty() && llvm::sys::fs::exists(cached) &&
        copyFromCache(cached, library))
      return true;
  }

  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*clang, args, std::nullopt, redirects,
                                         0, 0, &message);
  if (status != 0) {
    std::string output;
    if (auto buffer = llvm::MemoryBuffer::getFile(log))
      output = (*buffer)->getBuffer().rtrim().str();
    return llvm::createStringError("cpu backend: linking " + library +
                                   " failed" +
                                   (message.empty() ? "" : ": " + message) +
                                   (output.empty() ? "" : ":\n" + output));
  }
  // The library is built; a cache that cannot take it is only skipped.
  if (!cached.empty())
    addToCache(library, cached, options.cacheDir);
  return false;
}

} // namespace

std::string mixtile::cpu::getDefaultCacheDir() {
  const char *dir = std::getenv("MIXTILE_CACHE_DIR");
  return dir ? dir : "";
}

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
  Expected<bool> fromCache =
      link(options, files.llvmIR, runtime, files.library);
  if (!fromCache)
    return fromCache.takeError();
  files.fromCache = *fromCache;
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
  if (Expected<bool> linked = link(options, llvmIR, /*runtime=*/"", library);
      !linked)
    return linked.takeError();
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
