//===- Tokenizer.cpp - llama2.c BPE tokenizer -----------------------------===//
//
// Loading, encoding and decoding for the llama2.c tokenizer. llama2.c rescans
// every adjacent pair after each merge (O(n^2)); here the merges come from a
// priority queue of candidate pairs ordered by (score, leftmost position) over
// a linked list of token positions. Candidates made stale by a neighbouring
// merge are dropped when popped. Every current pair always has a queued
// candidate, so each pop that passes the staleness check is exactly the merge
// llama2.c would pick: O(n log n) overall.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Tokenizer.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MemoryBuffer.h"

#include <climits>
#include <cmath>
#include <queue>

using namespace mixtile;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

/// Merges scoring at or below this are never applied: llama2.c starts its
/// search for the best pair from this score.
static constexpr float kMinMergeScore = -1e10f;

/// Byte-fallback tokens start after <unk>, <s> and </s>.
static constexpr int kFirstByteToken = 3;

//===----------------------------------------------------------------------===//
// Construction and loading
//===----------------------------------------------------------------------===//

Expected<Tokenizer> Tokenizer::fromPieces(std::vector<std::string> pieces,
                                          std::vector<float> scores, int bos,
                                          int eos) {
  if (pieces.empty())
    return llvm::createStringError("the vocabulary is empty");
  if (pieces.size() != scores.size())
    return llvm::createStringError(Twine(pieces.size()) + " pieces but " +
                                   Twine(scores.size()) + " scores");
  if (pieces.size() > static_cast<size_t>(INT_MAX))
    return llvm::createStringError("more than INT_MAX pieces");
  for (auto [id, score] : llvm::enumerate(scores))
    if (!std::isfinite(score))
      return llvm::createStringError("piece " + Twine(id) +
                                     " has a non-finite score");
  int size = static_cast<int>(pieces.size());
  for (auto [name, id] : {std::pair<StringRef, int>{"BOS", bos}, {"EOS", eos}})
    if (id < 0 || id >= size)
      return llvm::createStringError(name + " id " + Twine(id) +
                                     " is outside the vocabulary of " +
                                     Twine(size) + " pieces");
  Tokenizer t;
  t.pieces = std::move(pieces);
  t.scores = std::move(scores);
  t.bosId = bos;
  t.eosId = eos;
  // try_emplace keeps the first (lowest) id of a duplicated piece.
  for (int id = 0; id < size; ++id)
    t.ids.try_emplace(t.pieces[id], id);
  return t;
}

/// The little-endian 32-bit word at byte `pos` of `data`.
static uint32_t readWord(StringRef data, size_t pos) {
  return llvm::support::endian::read32le(data.data() + pos);
}

/// Checks the int32 max_token_length header.
static Error checkHeader(StringRef data) {
  if (data.size() < 4)
    return llvm::createStringError("truncated header: " + Twine(data.size()) +
                                   " bytes, need 4 for max_token_length");
  int32_t maxTokenLength = static_cast<int32_t>(readWord(data, 0));
  if (maxTokenLength < 0)
    return llvm::createStringError("negative max_token_length " +
                                   Twine(maxTokenLength));
  return Error::success();
}

/// Reads entry `id` (score, length, bytes) at `pos` and advances `pos`.
static Error readEntry(StringRef data, int64_t id, int64_t vocabSize,
                       size_t &pos, std::vector<std::string> &pieces,
                       std::vector<float> &scores) {
  size_t left = data.size() - pos;
  if (left == 0)
    return llvm::createStringError("the file has only " + Twine(id) +
                                   " entries, fewer than the " +
                                   "vocabulary size " + Twine(vocabSize));
  if (left < 8)
    return llvm::createStringError(
        "truncated entry " + Twine(id) + ": " + Twine(left) +
        " bytes left, need 8 for its score and length");
  float score = llvm::bit_cast<float>(readWord(data, pos));
  int32_t length = static_cast<int32_t>(readWord(data, pos + 4));
  pos += 8;
  if (length < 0)
    return llvm::createStringError("entry " + Twine(id) +
                                   " has negative length " + Twine(length));
  if (static_cast<size_t>(length) > data.size() - pos)
    return llvm::createStringError("truncated entry " + Twine(id) +
                                   ": length " + Twine(length) +
                                   " runs past the end of the file (" +
                                   Twine(data.size() - pos) + " bytes left)");
  if (!std::isfinite(score))
    return llvm::createStringError("entry " + Twine(id) +
                                   " has a non-finite score");
  pieces.emplace_back(data.substr(pos, length));
  scores.push_back(score);
  pos += length;
  return Error::success();
}

/// Parses the header and the first `vocabSize` entries of `data`.
static Error parseLlama2C(StringRef data, int64_t vocabSize,
                          std::vector<std::string> &pieces,
                          std::vector<float> &scores) {
  if (Error err = checkHeader(data))
    return err;
  // Every entry takes at least 8 bytes; do not trust vocabSize for reserve().
  size_t expected = std::min<uint64_t>(vocabSize, data.size() / 8);
  pieces.reserve(expected);
  scores.reserve(expected);
  size_t pos = 4;
  for (int64_t id = 0; id < vocabSize; ++id)
    if (Error err = readEntry(data, id, vocabSize, pos, pieces, scores))
      return err;
  return Error::success();
}

Expected<Tokenizer> Tokenizer::loadLlama2C(StringRef path, int64_t vocabSize) {
  if (vocabSize <= 0 || vocabSize > INT_MAX)
    return llvm::createFileError(
        path, llvm::createStringError(
                  "vocabulary size must be in [1, INT_MAX], got " +
                  Twine(vocabSize)));
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  std::vector<std::string> pieces;
  std::vector<float> scores;
  if (Error err =
          parseLlama2C((*buffer)->getBuffer(), vocabSize, pieces, scores))
    return llvm::createFileError(path, std::move(err));
  Expected<Tokenizer> tokenizer =
      fromPieces(std::move(pieces), std::move(scores));
  if (!tokenizer)
    return llvm::createFileError(path, tokenizer.takeError());
  return tokenizer;
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

int Tokenizer::lookup(StringRef text) const {
  auto it = ids.find(text);
  return it == ids.end() ? -1 : it->second;
}

int Tokenizer::byteToken(unsigned char byte) const {
  int id = kFirstByteToken + byte;
  return id < vocabSize() ? id : 0;
}

/// Whether `c` is a UTF-8 continuation byte (10xxxxxx).
static bool isContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

/// The length of the unit llama2.c looks up at `pos`: the byte there and up
/// to three following continuation bytes. Stray continuation bytes therefore
/// form units of their own.
static size_t unitLength(StringRef text, size_t pos) {
  size_t length = 1;
  while (length < 4 && pos + length < text.size() &&
         isContinuation(text[pos + length]))
    ++length;
  return length;
}

void Tokenizer::appendUnits(StringRef text, std::vector<int> &tokens) const {
  if (text.empty())
    return;
  if (int space = lookup(" "); space >= 0)
    tokens.push_back(space);
  for (size_t pos = 0; pos < text.size();) {
    StringRef unit = text.substr(pos, unitLength(text, pos));
    if (int id = lookup(unit); id >= 0)
      tokens.push_back(id);
    else
      for (char byte : unit)
        tokens.push_back(byteToken(static_cast<unsigned char>(byte)));
    pos += unit.size();
  }
}

namespace {
/// A possible merge of the token at position `left` with its right
/// neighbour, with the ids both held when it was queued.
struct Candidate {
  float score;
  int left;
  int leftId;
  int rightId;
  int mergedId;
};

/// Puts the highest score, then the leftmost position, at the queue's top.
struct LowerPriority {
  bool operator()(const Candidate &a, const Candidate &b) const {
    if (a.score != b.score)
      return a.score < b.score;
    return a.left > b.left;
  }
};

/// The merge loop over `tokens`, kept as a doubly linked list of positions.
/// A merged-away position holds id -1.
class MergeQueue {
public:
  MergeQueue(const Tokenizer &tokenizer, std::vector<int> &tokens);
  /// Applies merges until none is possible, then compacts `tokens`.
  void run();

private:
  /// Queues the merge of the token at `left` with its right neighbour, if
  /// that pair's concatenation is a piece scoring above kMinMergeScore.
  void consider(int left);
  /// Whether `c` still describes the pair at `c.left` and its neighbour.
  bool isCurrent(const Candidate &c) const;
  /// Merges the pair of `c` and queues the two pairs that changed.
  void apply(const Candidate &c);

  const Tokenizer &tokenizer;
  std::vector<int> &tokens;
  int size;
  std::vector<int> next, prev;
  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
  llvm::SmallString<64> buffer;
};
} // namespace

MergeQueue::MergeQueue(const Tokenizer &tokenizer, std::vector<int> &tokens)
    : tokenizer(tokenizer), tokens(tokens), size(tokens.size()), next(size),
      prev(size) {
  for (int i = 0; i < size; ++i) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
}

void MergeQueue::consider(int left) {
  if (left < 0 || next[left] >= size)
    return;
  int right = next[left];
  buffer = tokenizer.piece(tokens[left]);
  buffer += tokenizer.piece(tokens[right]);
  int merged = tokenizer.lookup(buffer);
  if (merged < 0 || !(tokenizer.score(merged) > kMinMergeScore))
    return;
  queue.push(
      {tokenizer.score(merged), left, tokens[left], tokens[right], merged});
}

bool MergeQueue::isCurrent(const Candidate &c) const {
  int right = next[c.left];
  return tokens[c.left] == c.leftId && right < size &&
         tokens[right] == c.rightId;
}

void MergeQueue::apply(const Candidate &c) {
  int right = next[c.left];
  tokens[c.left] = c.mergedId;
  tokens[right] = -1;
  next[c.left] = next[right];
  if (next[right] < size)
    prev[next[right]] = c.left;
  consider(prev[c.left]);
  consider(c.left);
}

void MergeQueue::run() {
  for (int i = 0; i + 1 < size; ++i)
    consider(i);
  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    if (isCurrent(c))
      apply(c);
  }
  llvm::erase(tokens, -1);
}

void Tokenizer::mergePairs(std::vector<int> &tokens) const {
  MergeQueue(*this, tokens).run();
}

std::vector<int> Tokenizer::encode(StringRef text, bool addBos,
                                   bool addEos) const {
  std::vector<int> units;
  units.reserve(text.size() + 1);
  appendUnits(text, units);
  mergePairs(units);
  std::vector<int> result;
  result.reserve(units.size() + 2);
  if (addBos)
    result.push_back(bosId);
  llvm::append_range(result, units);
  if (addEos)
    result.push_back(eosId);
  return result;
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

/// The byte spelled by a piece of the form "<0xXX>" (either hex case), or -1.
static int bytePieceValue(StringRef piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece[5] != '>' ||
      !llvm::isHexDigit(piece[3]) || !llvm::isHexDigit(piece[4]))
    return -1;
  return llvm::hexDigitValue(piece[3]) * 16 + llvm::hexDigitValue(piece[4]);
}

std::string Tokenizer::decodePiece(int prevToken, int token) const {
  if (token < 0 || token >= vocabSize())
    return "";
  StringRef text = pieces[token];
  if (prevToken == bosId && text.starts_with(" "))
    text = text.drop_front();
  if (int byte = bytePieceValue(text); byte >= 0)
    return std::string(1, static_cast<char>(byte));
  return text.str();
}

std::string Tokenizer::decode(llvm::ArrayRef<int> tokens) const {
  std::string text;
  int prev = bosId;
  for (int token : tokens) {
    if (token != bosId && token != eosId)
      text += decodePiece(prev, token);
    prev = token;
  }
  return text;
}

//===----------------------------------------------------------------------===//
// Token sequence files
//===----------------------------------------------------------------------===//

/// Reads token sequences: one id per line, a new sequence at each BOS (1).
Expected<TokenSequences> mixtile::readTokenSequences(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  TokenSequences sequences;
  llvm::SmallVector<StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (auto [n, line] : llvm::enumerate(lines)) {
    int32_t id;
    if (line.trim().getAsInteger(10, id) || id < 0)
      return llvm::createFileError(
          path, n + 1,
          llvm::createStringError("expected a token id, got '" + line.trim() +
                                  "'"));
    if (id == 1 || sequences.empty())
      sequences.emplace_back();
    sequences.back().push_back(id);
  }
  if (sequences.empty())
    return llvm::createFileError(path, llvm::createStringError("no tokens"));
  return sequences;
}

/// Reads stories separated by `<|endoftext|>` lines from a text file and
/// encodes each with BOS.
Expected<TokenSequences>
mixtile::readTextSequences(StringRef path, const Tokenizer &tokenizer) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  TokenSequences sequences;
  llvm::SmallVector<StringRef> stories;
  (*buffer)->getBuffer().split(stories, "<|endoftext|>");
  for (StringRef story : stories) {
    if (story.trim().empty())
      continue;
    std::vector<int> ids = tokenizer.encode(story.trim(), /*addBos=*/true,
                                            /*addEos=*/false);
    sequences.emplace_back(ids.begin(), ids.end());
  }
  if (sequences.empty())
    return llvm::createFileError(path, llvm::createStringError("no text"));
  return sequences;
}

void mixtile::writeTokenSequences(const TokenSequences &sequences,
                                  llvm::raw_ostream &os) {
  for (const std::vector<int32_t> &sequence : sequences)
    for (int32_t id : sequence)
      os << id << "\n";
}
