//===- Tokenizer.cpp - llama2.c BPE tokenizer -----------------------------===//
//
// Loading, encoding and decoding. Merges use a priority queue over adjacent
// pairs (highest score, then leftmost), which gives llama2.c's result in
// O(n log n) instead of its O(n^2) rescans.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Tokenizer.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>
#include <queue>

using namespace mixtile;
using llvm::Expected;
using llvm::StringRef;

static llvm::Error fileError(StringRef path, const llvm::Twine &message) {
  return llvm::createFileError(path, llvm::createStringError(message));
}

Expected<Tokenizer> Tokenizer::fromPieces(std::vector<std::string> pieces,
                                          std::vector<float> scores, int bos,
                                          int eos) {
  if (pieces.empty() || pieces.size() != scores.size())
    return llvm::createStringError("a vocabulary needs one score per piece");
  Tokenizer t;
  t.pieces = std::move(pieces);
  t.scores = std::move(scores);
  t.bosId = bos;
  t.eosId = eos;
  // The first occurrence of a duplicated piece wins, as in llama2.c's
  // sorted-vocabulary search.
  for (int id = 0, e = t.pieces.size(); id < e; ++id)
    t.ids.try_emplace(t.pieces[id], id);
  return t;
}

Expected<Tokenizer> Tokenizer::loadLlama2C(StringRef path, int64_t vocabSize) {
  if (vocabSize <= 0)
    return fileError(path, "vocabulary size must be positive, got " +
                               llvm::Twine(vocabSize));
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  StringRef data = (*buffer)->getBuffer();
  size_t pos = 4; // Skip max_token_length.
  if (data.size() < pos)
    return fileError(path, "truncated tokenizer header");
  std::vector<std::string> pieces;
  std::vector<float> scores;
  for (int64_t id = 0; id < vocabSize; ++id) {
    float score;
    int32_t length;
    if (data.size() - pos < 8)
      return fileError(path, "token " + llvm::Twine(id) +
                                 " is missing: the file holds " +
                                 llvm::Twine(id) + " of the model's " +
                                 llvm::Twine(vocabSize) + " tokens");
    std::memcpy(&score, data.data() + pos, 4);
    std::memcpy(&length, data.data() + pos + 4, 4);
    pos += 8;
    if (length < 0 || static_cast<size_t>(length) > data.size() - pos)
      return fileError(path, "token " + llvm::Twine(id) + " has length " +
                                 llvm::Twine(length) +
                                 ", past the end of the file");
    if (!std::isfinite(score))
      return fileError(path, "token " + llvm::Twine(id) +
                                 " has a non-finite score");
    pieces.emplace_back(data.data() + pos, length);
    scores.push_back(score);
    pos += length;
  }
  return fromPieces(std::move(pieces), std::move(scores));
}

int Tokenizer::lookup(StringRef piece) const {
  auto it = ids.find(piece);
  return it == ids.end() ? -1 : it->second;
}

/// Length of the UTF-8 sequence starting with `lead` (1 for stray bytes).
static size_t utf8Length(unsigned char lead) {
  if (lead >= 0xF0 && lead < 0xF8)
    return 4;
  if (lead >= 0xE0)
    return lead < 0xF0 ? 3 : 1;
  if (lead >= 0xC0)
    return 2;
  return 1;
}

namespace {
/// A candidate merge of the pair starting at `left`.
struct Candidate {
  float score;
  int left;
  int merged;
  int rightToken; // To detect stale entries after neighbours changed.
  int leftToken;
  bool operator<(const Candidate &o) const {
    // std::priority_queue pops the largest: higher score first, then the
    // leftmost pair.
    if (score != o.score)
      return score < o.score;
    return left > o.left;
  }
};
} // namespace

std::vector<int> Tokenizer::encode(StringRef text, bool addBos,
                                   bool addEos) const {
  std::vector<int> tokens;
  if (!text.empty()) {
    if (int space = lookup(" "); space >= 0)
      tokens.push_back(space);
    for (size_t i = 0; i < text.size();) {
      size_t n = std::min(utf8Length(text[i]), text.size() - i);
      int id = lookup(text.substr(i, n));
      if (id >= 0) {
        tokens.push_back(id);
      } else {
        // Byte fallback: the first 3 ids are <unk>, <s>, </s>.
        for (size_t b = 0; b < n; ++b)
          tokens.push_back(static_cast<unsigned char>(text[i + b]) + 3);
      }
      i += n;
    }
  }
  // A doubly linked list over `tokens`; `alive` marks unmerged positions.
  int n = tokens.size();
  std::vector<int> next(n), prev(n);
  for (int i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  std::priority_queue<Candidate> queue;
  auto consider = [&](int left) {
    if (left < 0 || next[left] >= n)
      return;
    int right = next[left];
    int merged = lookup(pieces[tokens[left]] + pieces[tokens[right]]);
    if (merged >= 0)
      queue.push({scores[merged], left, merged, tokens[right], tokens[left]});
  };
  for (int i = 0; i + 1 < n; ++i)
    consider(i);
  std::vector<bool> alive(n, true);
  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    int right = c.left < n ? next[c.left] : n;
    if (!alive[c.left] || right >= n || tokens[c.left] != c.leftToken ||
        tokens[right] != c.rightToken)
      continue; // Stale: one side was merged since this entry was queued.
    tokens[c.left] = c.merged;
    alive[right] = false;
    next[c.left] = next[right];
    if (next[right] < n)
      prev[next[right]] = c.left;
    consider(prev[c.left]);
    consider(c.left);
  }
  std::vector<int> result;
  if (addBos)
    result.push_back(bosId);
  for (int i = 0; i < n; ++i)
    if (alive[i])
      result.push_back(tokens[i]);
  if (addEos)
    result.push_back(eosId);
  return result;
}

std::string Tokenizer::decodePiece(int prev, int token) const {
  if (token < 0 || token >= vocabSize())
    return "";
  StringRef piece = pieces[token];
  if (prev == bosId && piece.starts_with(" "))
    piece = piece.drop_front();
  unsigned byte;
  if (piece.size() == 6 && piece.starts_with("<0x") && piece.ends_with(">") &&
      !piece.substr(3, 2).getAsInteger(16, byte))
    return std::string(1, static_cast<char>(byte));
  return piece.str();
}

std::string Tokenizer::decode(llvm::ArrayRef<int> tokens) const {
  std::string text;
  int prev = bosId;
  for (int token : tokens) {
    if (token == bosId || token == eosId) {
      prev = token;
      continue;
    }
    text += decodePiece(prev, token);
    prev = token;
  }
  return text;
}
