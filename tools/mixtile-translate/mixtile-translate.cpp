//===- mixtile-translate.cpp - Mixtile's translation driver ---------------===//
//
// mlirTranslateMain with Mixtile's importers (model files -> xfmr IR).
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Llama2C.h"
#include "mixtile/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

/// Reports an import error on the input file and returns a null op, which
/// makes mlir-translate exit nonzero without writing output.
static OwningOpRef<Operation *> reportImportError(MLIRContext *ctx,
                                                  llvm::Error error) {
  emitError(UnknownLoc::get(ctx)) << llvm::toString(std::move(error));
  return nullptr;
}

static void registerImporters() {
  TranslateToMLIRRegistration importLlama2C(
      "import-llama2c", "Import a llama2.c legacy checkpoint as xfmr IR",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *ctx) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        ArrayRef<char> bytes(buffer->getBufferStart(), buffer->getBufferSize());
        auto module = mixtile::importLlama2C(
            ctx, buffer->getBufferIdentifier(), bytes);
        if (!module)
          return reportImportError(ctx, module.takeError());
        return OwningOpRef<Operation *>(module->release());
      },
      [](DialectRegistry &registry) {
        mixtile::registerAllDialects(registry);
      });
}

int main(int argc, char **argv) {
  registerImporters();
  return failed(mlirTranslateMain(argc, argv, "Mixtile translation driver"));
}
