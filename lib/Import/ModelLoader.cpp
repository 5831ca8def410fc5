//===- ModelLoader.cpp - open any supported model file --------------------===//
//
// Dispatches on the file's kind: MLIR text/bytecode or a model checkpoint.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/ModelLoader.h"
#include "mixtile/Import/Llama2C.h"
#include "mixtile/Import/ModelFormats.h"
#include "mixtile/Import/TensorFile.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

static bool isMLIRFile(llvm::StringRef path) {
  return path.ends_with(".mlir") || path.ends_with(".mlirbc");
}

/// Parses an MLIR file, turning diagnostics into the returned error.
static llvm::Expected<OwningOpRef<ModuleOp>> parseMLIR(MLIRContext *ctx,
                                                       llvm::StringRef path) {
  std::string messages;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
    llvm::raw_string_ostream os(messages);
    os << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  ParserConfig config(ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, config);
  if (!module)
    return llvm::createFileError(
        path, llvm::createStringError(messages.empty()
                                          ? std::string("cannot parse")
                                          : messages));
  return module;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mixtile::loadModel(MLIRContext *ctx, llvm::StringRef path) {
  if (isMLIRFile(path))
    return parseMLIR(ctx, path);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  llvm::ArrayRef<char> bytes((*buffer)->getBufferStart(),
                             (*buffer)->getBufferSize());
  if (looksLikeGGUF(bytes))
    return importGGUF(ctx, path, bytes);
  if (looksLikeSafetensors(bytes) || path.ends_with(".safetensors.index.json"))
    return importSafetensors(ctx, path, bytes);
  return importLlama2C(ctx, path, bytes);
}
