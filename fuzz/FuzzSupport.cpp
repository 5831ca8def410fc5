//===- FuzzSupport.cpp - shared pieces of Mixtile's fuzz targets ----------===//
//
// Contexts, scratch files, size budgets and pipeline runs for fuzz/.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Dialect/Maia/IR/MaiaOps.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Import/ModelBuilder.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;
using namespace mixtile::fuzz;

OwningOpRef<ModuleOp> mixtile::fuzz::buildSmallModel(MLIRContext *ctx,
                                                     int64_t layers) {
  SynthesisRequest request;
  request.config.dim = 32;
  request.config.hiddenDim = 64;
  request.config.nLayers = layers;
  request.config.nHeads = 4;
  request.config.nKVHeads = 2;
  request.config.vocabSize = 64;
  request.config.maxSeqLen = 16;
  request.withWeights = false;
  return buildSyntheticModel(ctx, request);
}

std::unique_ptr<MLIRContext> mixtile::fuzz::makeContext() {
  DialectRegistry registry;
  mixtile::registerAllDialects(registry);
  auto ctx =
      std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  // What importers and builders create directly; the parser and passes
  // load the rest on demand (loading every dialect per input would cost
  // more than most inputs).
  ctx->loadDialect<xfmr::XfmrDialect, maia::MaiaDialect, func::FuncDialect,
                   arith::ArithDialect, tensor::TensorDialect>();
  ctx->getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
  return ctx;
}

void mixtile::fuzz::fail(llvm::StringRef what, llvm::StringRef detail) {
  llvm::errs() << "mixtile-fuzz: " << what << "\n";
  if (!detail.empty())
    llvm::errs() << detail << "\n";
  llvm::errs().flush();
  std::abort();
}

static void writeOrDie(llvm::StringRef path, llvm::StringRef bytes) {
  std::error_code code;
  llvm::raw_fd_ostream os(path, code, llvm::sys::fs::OF_None);
  if (code)
    fail("cannot write scratch file " + path.str(), code.message());
  os << bytes;
  os.close();
  if (os.has_error())
    fail("cannot write scratch file " + path.str(), os.error().message());
}

ScratchFile::ScratchFile(llvm::StringRef suffix) {
  llvm::SmallString<128> path;
  if (std::error_code code =
          llvm::sys::fs::createTemporaryFile("mixtile-fuzz", suffix, path))
    fail("cannot create a scratch file", code.message());
  filePath = std::string(path);
}

ScratchFile::~ScratchFile() { llvm::sys::fs::remove(filePath); }

void ScratchFile::write(llvm::StringRef bytes) { writeOrDie(filePath, bytes); }

ScratchDir::ScratchDir() {
  llvm::SmallString<128> path;
  if (std::error_code code =
          llvm::sys::fs::createUniqueDirectory("mixtile-fuzz", path))
    fail("cannot create a scratch directory", code.message());
  dirPath = std::string(path);
}

ScratchDir::~ScratchDir() { llvm::sys::fs::remove_directories(dirPath); }

std::string ScratchDir::filePath(llvm::StringRef name) const {
  llvm::SmallString<128> path(dirPath);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

void ScratchDir::writeFile(llvm::StringRef name, llvm::StringRef bytes) {
  writeOrDie(filePath(name), bytes);
}

void ScratchDir::removeFile(llvm::StringRef name) {
  llvm::sys::fs::remove(filePath(name));
}

static std::string printed(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os, OpPrintingFlags().assumeVerified());
  return text;
}

std::optional<std::string> mixtile::fuzz::verifyErrors(Operation *op) {
  std::string messages;
  ScopedDiagnosticHandler handler(op->getContext(), [&](Diagnostic &diag) {
    llvm::raw_string_ostream os(messages);
    os << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  if (succeeded(verify(op)))
    return std::nullopt;
  return messages;
}

static bool isSmall(Type type, int64_t maxElements) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasRank())
    return true;
  int64_t elements = 1;
  for (int64_t dim : shaped.getShape()) {
    if (ShapedType::isDynamic(dim))
      continue;
    if (dim < 0 || (dim != 0 && elements > maxElements / dim))
      return false;
    elements *= dim;
  }
  return elements <= maxElements;
}

bool mixtile::fuzz::tensorsAreSmall(Operation *module, int64_t maxElements) {
  WalkResult result = module->walk([&](Operation *op) {
    auto small = [&](Type type) { return isSmall(type, maxElements); };
    if (!llvm::all_of(op->getOperandTypes(), small) ||
        !llvm::all_of(op->getResultTypes(), small))
      return WalkResult::interrupt();
    for (Region &region : op->getRegions())
      for (Block &block : region)
        if (!llvm::all_of(block.getArgumentTypes(), small))
          return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

bool mixtile::fuzz::weightsNeedNoFiles(Operation *module) {
  WalkResult result = module->walk([](xfmr::WeightOp op) {
    llvm::StringRef file = op.getFile();
    if (file.starts_with(kSyntheticFilePrefix) || file == kShapesOnlyFile)
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return !result.wasInterrupted();
}

bool mixtile::fuzz::runPipelineAndVerify(ModuleOp module,
                                         llvm::StringRef pipeline) {
  static const bool registered = [] {
    mixtile::registerAllPasses();
    return true;
  }();
  (void)registered;
  PassManager pm(module->getContext());
  // The pass manager's verifier would turn a pass that breaks the IR into a
  // plain failure; verifying by hand tells the two apart.
  pm.enableVerifier(false);
  std::string parseErrors;
  llvm::raw_string_ostream errorStream(parseErrors);
  if (failed(parsePassPipeline(pipeline, pm, errorStream)))
    fail("bad pass pipeline '" + pipeline.str() + "'", parseErrors);
  if (failed(pm.run(module)))
    return false;
  if (std::optional<std::string> errors = verifyErrors(module))
    fail("'" + pipeline.str() + "' succeeded but left IR that does not verify",
         *errors + "\n" + printed(module));
  return true;
}

void mixtile::fuzz::checkImportedModel(ModuleOp module,
                                       llvm::StringRef importer) {
  if (std::optional<std::string> errors = verifyErrors(module))
    fail(importer.str() + " returned IR that does not verify",
         *errors + "\n" + printed(module));
  llvm::Expected<ModelConfig> config = ModelConfig::fromModule(module);
  if (!config)
    fail(importer.str() + " returned a module without a valid config",
         llvm::toString(config.takeError()));
  WeightStore store;
  if (llvm::Error error = inlineWeights(module, store)) {
    ignore(std::move(error));
    return;
  }
  if (std::optional<std::string> errors = verifyErrors(module))
    fail(importer.str() + ": inlining the weights broke the IR",
         *errors + "\n" + printed(module));
}
