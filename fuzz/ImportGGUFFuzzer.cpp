//===- ImportGGUFFuzzer.cpp - fuzz the GGUF importer and vocabulary -------===//
//
// The input is a GGUF file. It is written to a scratch file, imported as a
// model (checked, weights inlined from the file), and its embedded
// vocabulary loaded as a tokenizer that must encode and decode text.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Import/ModelFormats.h"
#include "mixtile/Import/Tokenizer.h"

using namespace mixtile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fuzz::ScratchFile file("gguf");
  file.write(fuzz::asText(data, size));
  std::unique_ptr<mlir::MLIRContext> ctx = fuzz::makeContext();
  auto module = importGGUF(ctx.get(), file.path(), fuzz::asChars(data, size));
  if (module)
    fuzz::checkImportedModel(**module, "importGGUF");
  else
    fuzz::ignore(module.takeError());

  llvm::Expected<Tokenizer> tokenizer = loadGGUFTokenizer(file.path());
  if (!tokenizer) {
    fuzz::ignore(tokenizer.takeError());
    return 0;
  }
  std::vector<int> tokens =
      tokenizer->encode("Once upon a time, \xE2\x96\x81 caf\xC3\xA9\xFF",
                        /*addBos=*/true, /*addEos=*/true);
  for (int token : tokens)
    if (token < 0 || token >= tokenizer->vocabSize())
      fuzz::fail("the GGUF vocabulary encoded an id outside itself");
  (void)tokenizer->decode(tokens);
  return 0;
}
