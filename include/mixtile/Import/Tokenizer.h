//===- Tokenizer.h - llama2.c BPE tokenizer ---------------------*- C++ -*-===//
//
// The sentencepiece-style BPE tokenizer of llama2.c (run.c): a vocabulary of
// pieces with merge scores, byte-fallback pieces <0xXX> at ids 3..258,
// BOS = 1, EOS = 2 and a dummy-prefix space.
//
// Choices where llama2.c is silent, undefined or lenient:
//  - Loading reads exactly `vocabSize` entries; bytes after them are ignored
//    (llama2.c does the same), so a file with more entries than the model's
//    vocabulary loads. Everything else that is malformed is an error naming
//    the file: a short header, a negative max_token_length, a truncated entry,
//    a negative length or one that runs past the end of the file, fewer
//    entries than `vocabSize`, a non-finite score, a vocabulary size <= 0 or
//    above INT_MAX, or BOS/EOS ids outside the vocabulary.
//    max_token_length is otherwise unused.
//  - Text is a byte string: a NUL byte is encoded like any other byte
//    (llama2.c stops at it). Pieces compare as whole byte strings.
//  - Duplicated pieces: lookups return the lowest id (llama2.c's binary search
//    returns an unspecified one).
//  - No dummy-prefix token is added when " " is not a piece (llama2.c would
//    emit id -1). A fallback byte whose id (byte + 3) is not in the
//    vocabulary becomes id 0 (<unk>) (llama2.c reads out of bounds).
//  - As in llama2.c, a merge is only applied when its score is above -1e10.
//    Unlike llama2.c, BOS never takes part in a merge (llama2.c would merge it
//    with the first piece if their concatenation were a piece; no real
//    vocabulary has such a piece).
//  - decodePiece() returns the BOS and EOS pieces like any other; decode()
//    skips them. Out-of-range ids decode to "". <0x00> decodes to a NUL byte.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_TOKENIZER_H
#define MIXTILE_IMPORT_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mixtile {

/// A llama2.c BPE tokenizer. Immutable once built; encode() and decode() are
/// safe to call concurrently.
class Tokenizer {
public:
  /// Loads a llama2.c tokenizer file: int32 max_token_length, then for each of
  /// the model's `vocabSize` tokens a float32 score, an int32 length and
  /// `length` bytes (all little-endian). The vocabulary size is not stored in
  /// the file. Errors name the file and the problem; trailing bytes after the
  /// last entry are accepted.
  static llvm::Expected<Tokenizer> loadLlama2C(llvm::StringRef path,
                                               int64_t vocabSize);

  /// Builds a tokenizer from in-memory pieces and their merge scores (e.g. a
  /// GGUF vocabulary). Requires a non-empty vocabulary, one finite score per
  /// piece and BOS/EOS ids inside the vocabulary.
  static llvm::Expected<Tokenizer> fromPieces(std::vector<std::string> pieces,
                                              std::vector<float> scores,
                                              int bos = 1, int eos = 2);

  /// Encodes `text` like llama2.c's encode(): optional BOS; for non-empty
  /// text the " " piece (dummy prefix); each UTF-8 unit (a byte followed by up
  /// to three continuation bytes) as its piece, or as byte tokens (byte + 3)
  /// when it is not a piece; then merges of the adjacent pair whose
  /// concatenation is the highest-scoring piece (the leftmost pair on ties)
  /// until none applies; optional EOS. O(n log n) in the text length.
  std::vector<int> encode(llvm::StringRef text, bool addBos, bool addEos) const;

  /// The text of `token` when it follows `prevToken` (llama2.c's decode()):
  /// right after BOS a leading space is dropped, and a piece "<0xXX>" becomes
  /// that raw byte.
  std::string decodePiece(int prevToken, int token) const;

  /// The text of a whole token sequence, decoded as if it followed BOS. BOS
  /// and EOS tokens produce no text (a BOS inside the sequence again strips
  /// the leading space of the next piece).
  std::string decode(llvm::ArrayRef<int> tokens) const;

  int vocabSize() const { return static_cast<int>(pieces.size()); }
  int bos() const { return bosId; }
  int eos() const { return eosId; }

  /// The piece of `id`, which must be in [0, vocabSize()).
  llvm::StringRef piece(int id) const { return pieces[id]; }
  /// The merge score of `id`, which must be in [0, vocabSize()).
  float score(int id) const { return scores[id]; }
  /// The id of the piece equal to `text` (the lowest one if duplicated), or
  /// -1.
  int lookup(llvm::StringRef text) const;

private:
  Tokenizer() = default;

  /// Appends the initial tokens of `text`: the dummy prefix, then one token
  /// per UTF-8 unit or one byte token per byte of an unknown unit.
  void appendUnits(llvm::StringRef text, std::vector<int> &tokens) const;
  /// Applies the BPE merges to `tokens` in place.
  void mergePairs(std::vector<int> &tokens) const;
  /// The byte-fallback id of `byte`: byte + 3, or 0 when out of range.
  int byteToken(unsigned char byte) const;

  std::vector<std::string> pieces;
  std::vector<float> scores;
  llvm::StringMap<int> ids;
  int bosId = 1;
  int eosId = 2;
};

/// Token sequences, each starting with BOS.
using TokenSequences = std::vector<std::vector<int32_t>>;

/// Reads token sequences from a file of token ids, one per line; a new
/// sequence starts at each BOS (1). Errors name the file and line.
llvm::Expected<TokenSequences> readTokenSequences(llvm::StringRef path);

/// Reads stories separated by `<|endoftext|>` lines from a text file and
/// encodes each with BOS.
llvm::Expected<TokenSequences> readTextSequences(llvm::StringRef path,
                                                 const Tokenizer &tokenizer);

/// Writes `sequences` in the format readTokenSequences reads.
void writeTokenSequences(const TokenSequences &sequences,
                         llvm::raw_ostream &os);

} // namespace mixtile

#endif // MIXTILE_IMPORT_TOKENIZER_H
