//===- mixtile-translate.cpp - Mixtile's translation driver ---------------===//
//
// mlirTranslateMain with Mixtile's importers (model files -> xfmr IR), the
// Maia program translations (maia dialect <-> assembly and binary) and the
// CPU back end (xfmr IR -> a native model library).
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Maia/IR/MaiaProgram.h"
#include "mixtile/Import/Llama2C.h"
#include "mixtile/Import/ModelFormats.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/Tokenizer.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

/// Reports an import error on the input file and returns a null op, which
/// makes mlir-translate exit nonzero without writing output.
static OwningOpRef<Operation *> reportImportError(MLIRContext *ctx,
                                                  llvm::Error error) {
  emitError(UnknownLoc::get(ctx)) << llvm::toString(std::move(error));
  return nullptr;
}

static llvm::cl::opt<std::string> ggufTokenizer(
    "gguf-tokenizer",
    llvm::cl::desc("llama2.c tokenizer whose vocabulary --export-gguf embeds"),
    llvm::cl::init(""));

static llvm::cl::opt<bool> inlineWeightsFlag(
    "inline-weights",
    llvm::cl::desc("Importers: put weight data into the IR as constants "
                   "(small models only)"),
    llvm::cl::init(false));

using ImportFn = llvm::Expected<OwningOpRef<ModuleOp>> (*)(
    MLIRContext *, llvm::StringRef, ArrayRef<char>);

/// Registers `--<flag>`, importing the input file with `import`.
static void registerImporter(llvm::StringRef flag, llvm::StringRef summary,
                             ImportFn import) {
  TranslateToMLIRRegistration(
      flag, summary,
      [import](llvm::SourceMgr &sourceMgr,
               MLIRContext *ctx) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        ArrayRef<char> bytes(buffer->getBufferStart(), buffer->getBufferSize());
        auto module = import(ctx, buffer->getBufferIdentifier(), bytes);
        if (!module)
          return reportImportError(ctx, module.takeError());
        if (inlineWeightsFlag) {
          mixtile::WeightStore store;
          if (llvm::Error error = mixtile::inlineWeights(**module, store))
            return reportImportError(ctx, std::move(error));
        }
        return OwningOpRef<Operation *>(module->release());
      },
      [](DialectRegistry &registry) {
        mixtile::registerAllDialects(registry);
      });
}

using ExportFn = llvm::Error (*)(ModuleOp, mixtile::WeightStore &,
                                 llvm::raw_ostream &);

/// Registers `--<flag>`, writing the model's weights with `exportFn`.
static void registerExporter(llvm::StringRef flag, llvm::StringRef summary,
                             ExportFn exportFn) {
  TranslateFromMLIRRegistration(
      flag, summary,
      [exportFn](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expected a builtin.module");
        mixtile::WeightStore store;
        if (llvm::Error error = exportFn(module, store, os))
          return op->emitError(llvm::toString(std::move(error)));
        return success();
      },
      [](DialectRegistry &registry) {
        mixtile::registerAllDialects(registry);
      });
}

static llvm::Expected<OwningOpRef<ModuleOp>>
synthesize(MLIRContext *ctx, llvm::StringRef source, ArrayRef<char> bytes) {
  auto request = mixtile::parseSynthesisRequest(
      llvm::StringRef(bytes.data(), bytes.size()), source);
  if (!request)
    return request.takeError();
  return mixtile::buildSyntheticModel(ctx, *request);
}

//===----------------------------------------------------------------------===//
// Maia programs
//===----------------------------------------------------------------------===//

static llvm::cl::opt<std::string> maiaDataDir(
    "maia-data-dir",
    llvm::cl::desc("--maia-to-asm/--maia-to-bin: directory of the relative "
                   "files of maia.data (default: the input's directory)"),
    llvm::cl::init(""));

/// The maia.program `op` is or holds at its top level.
static FailureOr<mixtile::maia::ProgramOp> getMaiaProgram(Operation *op) {
  if (auto program = dyn_cast<mixtile::maia::ProgramOp>(op))
    return program;
  SmallVector<mixtile::maia::ProgramOp> programs;
  for (Region &region : op->getRegions())
    llvm::append_range(programs, region.getOps<mixtile::maia::ProgramOp>());
  if (programs.size() != 1)
    return op->emitError("expected one maia.program, found ")
           << programs.size();
  return programs.front();
}

/// Exports the program of `op`; relative data files are looked up in
/// --maia-data-dir, or else next to the input file.
static FailureOr<mixtile::maia::Program> exportMaiaProgram(Operation *op) {
  FailureOr<mixtile::maia::ProgramOp> programOp = getMaiaProgram(op);
  if (failed(programOp))
    return failure();
  mixtile::maia::ExportOptions options;
  options.baseDir = maiaDataDir;
  if (options.baseDir.empty())
    if (auto file = (*programOp)->getLoc()->findInstanceOf<FileLineColLoc>())
      options.baseDir = llvm::sys::path::parent_path(file.getFilename());
  auto program = mixtile::maia::exportProgram(*programOp, options);
  if (!program)
    return mixtile::maia::emitExportError(program.takeError(), *programOp);
  // Verified IR always passes; encodeBinary requires it.
  if (llvm::Error error = mixtile::maia::verifyStructure(*program))
    return programOp->emitOpError(llvm::toString(std::move(error)));
  return std::move(*program);
}

/// Registers `--<flag>`, writing the program of the input with `write`.
static void registerMaiaExporter(llvm::StringRef flag, llvm::StringRef summary,
                                 void (*write)(const mixtile::maia::Program &,
                                               llvm::raw_ostream &)) {
  TranslateFromMLIRRegistration(
      flag, summary,
      [write](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        FailureOr<mixtile::maia::Program> program = exportMaiaProgram(op);
        if (failed(program))
          return failure();
        write(*program, os);
        return success();
      },
      [](DialectRegistry &registry) {
        mixtile::registerAllDialects(registry);
      });
}

using MaiaReadFn = llvm::Expected<mixtile::maia::Program> (*)(
    const llvm::MemoryBuffer &buffer);

/// Registers `--<flag>`, reading the input with `read` into a module that
/// holds its maia.program.
static void registerMaiaImporter(llvm::StringRef flag, llvm::StringRef summary,
                                 MaiaReadFn read) {
  TranslateToMLIRRegistration(
      flag, summary,
      [read](llvm::SourceMgr &sourceMgr,
             MLIRContext *ctx) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        llvm::Expected<mixtile::maia::Program> program = read(*buffer);
        if (!program)
          return reportImportError(ctx, program.takeError());
        Location loc =
            FileLineColLoc::get(ctx, buffer->getBufferIdentifier(), 0, 0);
        OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
        OpBuilder builder = OpBuilder::atBlockEnd(module->getBody());
        mixtile::maia::importProgram(builder, loc, *program);
        return OwningOpRef<Operation *>(module.release());
      },
      [](DialectRegistry &registry) {
        mixtile::registerAllDialects(registry);
      });
}

static void registerMaiaTranslations() {
  registerMaiaExporter(
      "maia-to-asm", "Print a maia.program as Maia assembly (.masm)",
      [](const mixtile::maia::Program &program, llvm::raw_ostream &os) {
        mixtile::maia::printAssembly(program, os);
      });
  registerMaiaExporter(
      "maia-to-bin", "Encode a maia.program as a Maia binary (.mbin)",
      [](const mixtile::maia::Program &program, llvm::raw_ostream &os) {
        std::vector<uint8_t> bytes = mixtile::maia::encodeBinary(program);
        os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
      });
  registerMaiaImporter("import-maia-asm",
                       "Import Maia assembly (.masm) as a maia.program",
                       [](const llvm::MemoryBuffer &buffer) {
                         return mixtile::maia::parseAssembly(
                             buffer.getBuffer(), buffer.getBufferIdentifier());
                       });
  registerMaiaImporter(
      "import-maia-bin", "Import a Maia binary (.mbin) as a maia.program",
      [](const llvm::MemoryBuffer &buffer) {
        ArrayRef<uint8_t> bytes(
            reinterpret_cast<const uint8_t *>(buffer.getBufferStart()),
            buffer.getBufferSize());
        return mixtile::maia::decodeBinary(bytes, buffer.getBufferIdentifier());
      });
}

//===----------------------------------------------------------------------===//
// CPU back end
//===----------------------------------------------------------------------===//

static llvm::cl::opt<std::string> cpuWeights(
    "cpu-weights",
    llvm::cl::desc("--xfmr-to-cpu-library: where to write the library's "
                   "weight pack (required)"),
    llvm::cl::init(""));
static llvm::cl::opt<std::string> cpuCacheDir(
    "cpu-cache-dir",
    llvm::cl::desc("--xfmr-to-cpu-library: reuse the libraries clang built "
                   "before from this directory, and add new ones (default: "
                   "$MIXTILE_CACHE_DIR; none if that is unset or empty)"),
    llvm::cl::init(mixtile::cpu::getDefaultCacheDir()));

/// Builds the library in a temporary directory, writes it to `os` and moves
/// its weight pack to --cpu-weights. Relative weight files are looked up
/// next to the input.
static LogicalResult writeCpuLibrary(Operation *op, llvm::raw_ostream &os) {
  auto module = dyn_cast<ModuleOp>(op);
  if (!module)
    return op->emitError("expected a builtin.module");
  if (cpuWeights.empty())
    return op->emitError("--xfmr-to-cpu-library needs --cpu-weights=PATH "
                         "for the weight pack");
  std::string baseDir;
  if (auto file = op->getLoc()->findInstanceOf<FileLineColLoc>())
    baseDir = llvm::sys::path::parent_path(file.getFilename()).str();
  mixtile::WeightStore store(baseDir);
  llvm::SmallString<128> directory;
  if (std::error_code code =
          llvm::sys::fs::createUniqueDirectory("mixtile-cpu", directory))
    return op->emitError("cannot create a temporary directory: ")
           << code.message();
  mixtile::cpu::CpuLibraryOptions options;
  options.outputDir = std::string(directory);
  options.cacheDir = cpuCacheDir;
  auto fail = [&](llvm::Error error) {
    llvm::sys::fs::remove_directories(directory);
    return op->emitError(llvm::toString(std::move(error)));
  };
  llvm::Expected<mixtile::cpu::CpuLibraryFiles> files =
      mixtile::cpu::buildCpuLibrary(module, store, options);
  if (!files)
    return fail(files.takeError());
  auto library = llvm::MemoryBuffer::getFile(files->library, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
  if (!library)
    return fail(llvm::createFileError(files->library, library.getError()));
  // A rename fails across file systems; copy then.
  if (llvm::sys::fs::rename(files->weights, cpuWeights))
    if (std::error_code code =
            llvm::sys::fs::copy_file(files->weights, cpuWeights))
      return fail(llvm::createFileError(cpuWeights, code));
  os << (*library)->getBuffer();
  llvm::sys::fs::remove_directories(directory);
  return success();
}

static void registerTranslations() {
  registerImporter("import-llama2c",
                   "Import a llama2.c legacy checkpoint as xfmr IR",
                   mixtile::importLlama2C);
  registerImporter("import-safetensors",
                   "Import a safetensors model (config.json beside it, or a "
                   "Mixtile export) as xfmr IR",
                   mixtile::importSafetensors);
  registerImporter("import-gguf", "Import a GGUF v3 llama model as xfmr IR",
                   mixtile::importGGUF);
  registerImporter("synthesize",
                   "Make a seeded synthetic model from a JSON request "
                   "({\"preset\": \"100m\"}, or arch (llama, gpt2), dim, hidden_dim, n_layers, "
                   "n_heads, n_kv_heads, vocab_size, max_seq_len; seed; "
                   "weights: seeded|none)",
                   synthesize);
  registerExporter("export-safetensors",
                   "Write an imported model's weights as f32 safetensors",
                   mixtile::exportSafetensors);
  registerExporter(
      "export-gguf",
      "Write an imported model's weights as a f32 GGUF v3 file (with "
      "--gguf-tokenizer, its vocabulary too)",
      [](ModuleOp module, mixtile::WeightStore &store,
         llvm::raw_ostream &os) -> llvm::Error {
        if (ggufTokenizer.empty())
          return mixtile::exportGGUF(module, store, os);
        auto config = mixtile::ModelConfig::fromModule(module);
        if (!config)
          return config.takeError();
        auto tokenizer =
            mixtile::Tokenizer::loadLlama2C(ggufTokenizer, config->vocabSize);
        if (!tokenizer)
          return tokenizer.takeError();
        return mixtile::exportGGUF(module, store, os, &*tokenizer);
      });
  registerMaiaTranslations();
  TranslateFromMLIRRegistration(
      "xfmr-to-cpu-library",
      "Compile xfmr IR into a native shared library with the C interface of "
      "mixtile_cpu.h (the CPU back end; the weight pack goes to "
      "--cpu-weights)",
      writeCpuLibrary, [](DialectRegistry &registry) {
        mixtile::registerAllDialects(registry);
      });
}

int main(int argc, char **argv) {
  registerTranslations();
  return failed(mlirTranslateMain(argc, argv, "Mixtile translation driver"));
}
