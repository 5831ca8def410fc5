//===- TokenizerFuzzer.cpp - fuzz the llama2.c tokenizer loader -----------===//
//
// The input is a 2-byte little-endian vocabulary size (the file does not
// store it; the model supplies it), then a tokenizer.bin. The file is
// loaded from a scratch file; a vocabulary that loads must encode text
// (part of the input itself, so that pieces of the vocabulary occur) into
// ids inside the vocabulary and decode them again.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Import/Tokenizer.h"

using namespace mixtile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  int64_t vocabSize = data[0] | (int64_t(data[1]) << 8);
  llvm::StringRef file = fuzz::asText(data + 2, size - 2);
  static fuzz::ScratchFile scratch("bin");
  scratch.write(file);
  llvm::Expected<Tokenizer> tokenizer =
      Tokenizer::loadLlama2C(scratch.path(), vocabSize);
  if (!tokenizer) {
    fuzz::ignore(tokenizer.takeError());
    return 0;
  }
  if (tokenizer->vocabSize() != vocabSize)
    fuzz::fail("the tokenizer loaded a different vocabulary size");
  // The tail of the file holds the last pieces, which makes useful text.
  llvm::StringRef text = file.take_back(64);
  for (bool bos : {false, true}) {
    std::vector<int> tokens = tokenizer->encode(text, bos, /*addEos=*/bos);
    for (int token : tokens)
      if (token < 0 || token >= tokenizer->vocabSize())
        fuzz::fail("the tokenizer encoded an id outside its vocabulary");
    (void)tokenizer->decode(tokens);
    for (size_t i = 1; i < tokens.size(); ++i)
      (void)tokenizer->decodePiece(tokens[i - 1], tokens[i]);
  }
  // Out-of-range ids decode to "" rather than reading past the table.
  (void)tokenizer->decode({-1, int(vocabSize), INT32_MAX});
  return 0;
}
