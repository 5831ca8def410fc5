//===- Tokenizer.h - llama2.c BPE tokenizer ---------------------*- C++ -*-===//
//
// The sentencepiece-style BPE of llama2.c: pieces with merge scores, byte
// fallback tokens <0xXX>, BOS = 1, EOS = 2, and a dummy-prefix space.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_TOKENIZER_H
#define MIXTILE_IMPORT_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mixtile {

class Tokenizer {
public:
  /// Loads a llama2.c tokenizer file holding (at least) `vocabSize` entries:
  /// int32 max_token_length, then per token float32 score, int32 length and
  /// the bytes. Errors name the file and the entry.
  static llvm::Expected<Tokenizer> loadLlama2C(llvm::StringRef path,
                                               int64_t vocabSize);

  /// Builds a tokenizer from pieces and scores (e.g. a GGUF vocabulary).
  static llvm::Expected<Tokenizer> fromPieces(std::vector<std::string> pieces,
                                              std::vector<float> scores,
                                              int bos = 1, int eos = 2);

  /// Encodes like llama2.c: optional BOS, a dummy-prefix space for non-empty
  /// text, codepoints (or their bytes as <0xXX> tokens), then repeated merges
  /// of the adjacent pair whose concatenation scores highest (leftmost on
  /// ties), optional EOS.
  std::vector<int> encode(llvm::StringRef text, bool addBos,
                          bool addEos) const;

  /// The text of `token` following `prev`: a piece right after BOS loses its
  /// leading space, and <0xXX> pieces become the raw byte.
  std::string decodePiece(int prev, int token) const;

  /// The text of a token sequence (BOS and EOS produce nothing).
  std::string decode(llvm::ArrayRef<int> tokens) const;

  int vocabSize() const { return pieces.size(); }
  int bos() const { return bosId; }
  int eos() const { return eosId; }
  llvm::StringRef piece(int id) const { return pieces[id]; }

private:
  Tokenizer() = default;
  int lookup(llvm::StringRef piece) const;

  std::vector<std::string> pieces;
  std::vector<float> scores;
  llvm::StringMap<int> ids;
  int bosId = 1, eosId = 2;
};

} // namespace mixtile

#endif // MIXTILE_IMPORT_TOKENIZER_H
