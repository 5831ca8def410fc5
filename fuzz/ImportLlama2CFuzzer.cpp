//===- ImportLlama2CFuzzer.cpp - fuzz the llama2.c checkpoint importer ----===//
//
// The input is a checkpoint file. It is written to a scratch file (the
// imported IR references its weights by path and offset), imported, and the
// result checked and its weights inlined from the file.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Import/Llama2C.h"

using namespace mixtile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fuzz::ScratchFile file("bin");
  file.write(fuzz::asText(data, size));
  std::unique_ptr<mlir::MLIRContext> ctx = fuzz::makeContext();
  auto module =
      importLlama2C(ctx.get(), file.path(), fuzz::asChars(data, size));
  if (!module) {
    fuzz::ignore(module.takeError());
    return 0;
  }
  fuzz::checkImportedModel(**module, "importLlama2C");
  return 0;
}
