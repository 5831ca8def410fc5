//===- TokenizerTest.cpp - llama2.c BPE tokenizer -------------------------===//
//
// Merge order on hand-made vocabularies (expected ids derived by hand in the
// comments), a randomized comparison with a literal transcription of
// llama2.c's O(n^2) merge loop, UTF-8 units and byte fallback, decoding,
// vocabulary validation, the real tok512.bin when the shared directory is
// present (MIXTILE_SHARED_DIR, default ../shared), and malformed files.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>

using namespace mixtile;

namespace {

using Ids = std::vector<int>;

//===----------------------------------------------------------------------===//
// Hand-made vocabularies
//===----------------------------------------------------------------------===//

/// Pieces and scores: <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF>
/// (ids 3..258), then `extra` from id 259 on.
struct Vocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
};

Vocab makeVocab(const std::vector<std::pair<std::string, float>> &extra) {
  Vocab v;
  v.pieces = {"<unk>", "<s>", "</s>"};
  v.scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    v.pieces.push_back(name);
    v.scores.push_back(0);
  }
  for (const auto &[piece, score] : extra) {
    v.pieces.push_back(piece);
    v.scores.push_back(score);
  }
  return v;
}

Tokenizer
makeTokenizer(const std::vector<std::pair<std::string, float>> &extra) {
  Vocab v = makeVocab(extra);
  llvm::Expected<Tokenizer> t = Tokenizer::fromPieces(v.pieces, v.scores);
  if (!t) {
    ADD_FAILURE() << llvm::toString(t.takeError());
    std::abort();
  }
  return std::move(*t);
}

TEST(TokenizerTest, MergesTheHighestScoringPairFirst) {
  // 259 " ", 260 "a", 261 "b", 262 "ab" (1), 263 " a" (2), 264 " ab" (3),
  // 265 "bb" (4), 266 "abb" (5).
  Tokenizer t = makeTokenizer({{" ", 0},
                               {"a", 0},
                               {"b", 0},
                               {"ab", 1},
                               {" a", 2},
                               {" ab", 3},
                               {"bb", 4},
                               {"abb", 5}});
  // "ab": [" " a b]; pairs " a" (2) and "ab" (1): " a" -> [" a" b]; then
  // " ab" (3) -> [" ab"] = 264.
  EXPECT_EQ(t.encode("ab", true, false), (Ids{1, 264}));
  EXPECT_EQ(t.encode("ab", false, true), (Ids{264, 2}));
  EXPECT_EQ(t.encode("ab", true, true), (Ids{1, 264, 2}));
  // "abb": [" " a b b]; pairs " a" (2), "ab" (1), "bb" (4): "bb" first ->
  // [" " a "bb"]; pairs " a" (2), "abb" (5): "abb" -> [" " "abb"]; " abb" is
  // no piece. A left-to-right greedy merge would give [" ab" b] instead.
  EXPECT_EQ(t.encode("abb", false, false), (Ids{259, 266}));
}

TEST(TokenizerTest, TiesMergeTheLeftmostPair) {
  // No " " piece, so no dummy prefix. 259 "a", 260 "b", 261 "ab" (1),
  // 262 "ba" (1). "aba" -> [a b a]; "ab" (position 0) and "ba" (position 1)
  // tie, the leftmost wins -> ["ab" a]; "aba" is no piece. (Rightmost would
  // give [a "ba"] = {259, 262}.)
  Tokenizer t = makeTokenizer({{"a", 0}, {"b", 0}, {"ab", 1}, {"ba", 1}});
  EXPECT_EQ(t.encode("aba", false, false), (Ids{261, 259}));
  // "baba" -> [b a b a]; "ba" (0), "ab" (1), "ba" (2) all score 1: "ba" at 0
  // -> ["ba" b a]; then "ba" at 2 ("ab" no longer exists) -> ["ba" "ba"].
  EXPECT_EQ(t.encode("baba", false, false), (Ids{262, 262}));
}

TEST(TokenizerTest, MergedTokensMergeAgain) {
  // 259 " ", 260 "a", 261 "b", 262 "ab" (3), 263 "abab" (2). "abab" ->
  // [" " a b a b]; "ab" at 1 and at 3 tie (3): position 1 first, then 3 ->
  // [" " "ab" "ab"]; then "abab" (2) -> [" " "abab"].
  Tokenizer t =
      makeTokenizer({{" ", 0}, {"a", 0}, {"b", 0}, {"ab", 3}, {"abab", 2}});
  EXPECT_EQ(t.encode("abab", false, false), (Ids{259, 263}));
}

TEST(TokenizerTest, MergesAtOrBelowMinusTenBillionAreSkipped) {
  // llama2.c only merges a pair scoring above its initial best, -1e10.
  // 259 " ", 260 "a", 261 " a" (-2e10), 262 "aa" (-1e9). "aa" -> [" " a a];
  // " a" is never merged, "aa" is -> [" " "aa"].
  Tokenizer t =
      makeTokenizer({{" ", 0}, {"a", 0}, {" a", -2e10f}, {"aa", -1e9f}});
  EXPECT_EQ(t.encode("a", false, false), (Ids{259, 260}));
  EXPECT_EQ(t.encode("aa", false, false), (Ids{259, 262}));
}

TEST(TokenizerTest, EmptyTextHasNoDummyPrefix) {
  Tokenizer t = makeTokenizer({{" ", 0}, {"a", 0}});
  EXPECT_EQ(t.encode("", false, false), Ids{});
  EXPECT_EQ(t.encode("", true, true), (Ids{1, 2}));
  // A space alone is the dummy prefix plus the space: 259 259.
  EXPECT_EQ(t.encode(" ", false, false), (Ids{259, 259}));
}

TEST(TokenizerTest, CodepointsInTheVocabularyAreOneToken) {
  // 259 " ", 260 "\xC3\xA9" (U+00E9).
  Tokenizer t = makeTokenizer({{" ", 0}, {"\xC3\xA9", 0}});
  EXPECT_EQ(t.encode("\xC3\xA9", false, false), (Ids{259, 260}));
}

TEST(TokenizerTest, UnknownCodepointsFallBackToBytes) {
  Tokenizer t = makeTokenizer({{" ", 0}, {"a", 0}});
  // U+00FC is C3 BC; byte tokens are byte + 3.
  EXPECT_EQ(t.encode("\xC3\xBC", false, false), (Ids{259, 0xC3 + 3, 0xBC + 3}));
  // U+1F600 is F0 9F 98 80.
  EXPECT_EQ(t.encode("a\xF0\x9F\x98\x80", true, false),
            (Ids{1, 259, 260, 0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3}));
  EXPECT_EQ(t.decode({1, 259, 260, 0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3}),
            "a\xF0\x9F\x98\x80");
}

TEST(TokenizerTest, Utf8UnitsFollowLlama2C) {
  // A unit is one byte plus up to three continuation bytes, whatever the
  // lead byte says. 259 " ", 260 "a", 261 "\x80\x80".
  Tokenizer t = makeTokenizer({{" ", 0}, {"a", 0}, {"\x80\x80", 0}});
  // A truncated sequence: C3 then 'a' -> units [C3] [a].
  EXPECT_EQ(t.encode(std::string("\xC3") + "a", false, false),
            (Ids{259, 0xC3 + 3, 260}));
  // Stray continuation bytes form their own unit: [80 80] [a].
  EXPECT_EQ(t.encode(std::string("\x80\x80") + "a", false, false),
            (Ids{259, 261, 260}));
  // E2 and five continuation bytes: [E2 80 80 80] (unknown, 4 bytes), then
  // [80 80] (a piece).
  EXPECT_EQ(t.encode("\xE2\x80\x80\x80\x80\x80", false, false),
            (Ids{259, 0xE2 + 3, 0x80 + 3, 0x80 + 3, 0x80 + 3, 261}));
}

TEST(TokenizerTest, BytesOutsideTheVocabularyBecomeUnk) {
  // A vocabulary without byte tokens: 0 <unk>, 1 <s>, 2 </s>, 3 " ".
  llvm::Expected<Tokenizer> t =
      Tokenizer::fromPieces({"<unk>", "<s>", "</s>", " "}, {0, 0, 0, 0});
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  // 'z' would be byte token 0x7A + 3 = 125, past the vocabulary.
  EXPECT_EQ(t->encode("z", false, false), (Ids{3, 0}));
  // '\0' is byte token 3, which exists (here it is " ").
  EXPECT_EQ(t->encode(llvm::StringRef("\0", 1), false, false), (Ids{3, 3}));
}

TEST(TokenizerTest, Decoding) {
  // 259 " ", 260 "a", 261 " a", 262 "<0xZZ>" (not a byte piece).
  Tokenizer t = makeTokenizer({{" ", 0}, {"a", 0}, {" a", 1}, {"<0xZZ>", 0}});
  EXPECT_EQ(t.decodePiece(1, 261), "a");
  EXPECT_EQ(t.decodePiece(260, 261), " a");
  EXPECT_EQ(t.decodePiece(260, 0x41 + 3), "A");
  EXPECT_EQ(t.decodePiece(260, 3), std::string(1, '\0'));
  EXPECT_EQ(t.decodePiece(260, 262), "<0xZZ>");
  EXPECT_EQ(t.decodePiece(260, 1), "<s>");
  EXPECT_EQ(t.decodePiece(260, -1), "");
  EXPECT_EQ(t.decodePiece(260, 263), "");
  // decode() starts as if after BOS and skips BOS and EOS; the piece after
  // EOS keeps its space, the one after a second BOS loses it:
  // "a" + " a" + "a".
  EXPECT_EQ(t.decode({261, 261}), "a a");
  EXPECT_EQ(t.decode({1, 261, 2, 261, 1, 261, 2}), "a aa");
  // " a a" encodes to [" a" " a"] after the dummy prefix merges.
  EXPECT_EQ(t.encode("a a", true, false), (Ids{1, 261, 261}));
  EXPECT_EQ(t.decode(t.encode("a a", true, true)), "a a");
}

TEST(TokenizerTest, FromPiecesValidates) {
  auto error = [](std::vector<std::string> pieces, std::vector<float> scores,
                  int bos = 1, int eos = 2) {
    llvm::Expected<Tokenizer> t =
        Tokenizer::fromPieces(std::move(pieces), std::move(scores), bos, eos);
    return t ? std::string("ok") : llvm::toString(t.takeError());
  };
  EXPECT_EQ(error({}, {}), "the vocabulary is empty");
  EXPECT_EQ(error({"a", "b", "c"}, {0, 0}), "3 pieces but 2 scores");
  EXPECT_EQ(error({"a", "b", "c"}, {0, NAN, 0}),
            "piece 1 has a non-finite score");
  EXPECT_EQ(error({"a", "b", "c"}, {0, 0, -INFINITY}),
            "piece 2 has a non-finite score");
  EXPECT_EQ(error({"a", "b"}, {0, 0}),
            "EOS id 2 is outside the vocabulary of 2 pieces");
  EXPECT_EQ(error({"a", "b", "c"}, {0, 0, 0}, -1, 2),
            "BOS id -1 is outside the vocabulary of 3 pieces");
  EXPECT_EQ(error({"a", "b", "c"}, {0, 0, 0}, 2, 0), "ok");
}

TEST(TokenizerTest, AccessorsAndDuplicates) {
  llvm::Expected<Tokenizer> t = Tokenizer::fromPieces(
      {"x", "y", "z", "a", "a"}, {0, 0.5f, 0, 1, 2}, /*bos=*/2, /*eos=*/0);
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->vocabSize(), 5);
  EXPECT_EQ(t->bos(), 2);
  EXPECT_EQ(t->eos(), 0);
  EXPECT_EQ(t->piece(1), "y");
  EXPECT_EQ(t->score(1), 0.5f);
  EXPECT_EQ(t->lookup("a"), 3); // The lowest id of a duplicated piece.
  EXPECT_EQ(t->lookup("q"), -1);
  EXPECT_EQ(t->encode("a", true, true), (Ids{2, 3, 0}));
}

//===----------------------------------------------------------------------===//
// Comparison with llama2.c's merge loop
//===----------------------------------------------------------------------===//

/// llama2.c's encode() transcribed literally, with its own lookup table: UTF-8
/// units with byte fallback, then rescanning all pairs for the best
/// (strictly higher score, hence leftmost) merge until none is left.
Ids naiveEncode(const Vocab &v, const std::string &text, bool bos) {
  std::map<std::string, int> index;
  for (int id = v.pieces.size() - 1; id >= 0; --id)
    index[v.pieces[id]] = id; // Lowest id wins for duplicates.
  auto lookup = [&](const std::string &s) {
    auto it = index.find(s);
    return it == index.end() ? -1 : it->second;
  };
  Ids tokens;
  if (bos)
    tokens.push_back(1);
  if (!text.empty() && lookup(" ") >= 0)
    tokens.push_back(lookup(" "));
  std::string unit;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((text[i] & 0xC0) != 0x80)
      unit.clear();
    unit += text[i];
    if (i + 1 < text.size() && (text[i + 1] & 0xC0) == 0x80 && unit.size() < 4)
      continue;
    if (int id = lookup(unit); id != -1)
      tokens.push_back(id);
    else
      for (unsigned char byte : unit)
        tokens.push_back(byte + 3);
    unit.clear();
  }
  for (;;) {
    float bestScore = -1e10f;
    int bestId = -1, bestIndex = -1;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      int id = lookup(v.pieces[tokens[i]] + v.pieces[tokens[i + 1]]);
      if (id != -1 && v.scores[id] > bestScore) {
        bestScore = v.scores[id];
        bestId = id;
        bestIndex = i;
      }
    }
    if (bestIndex == -1)
      break;
    tokens[bestIndex] = bestId;
    tokens.erase(tokens.begin() + bestIndex + 1);
  }
  return tokens;
}

TEST(TokenizerTest, MatchesLlama2CMergeLoopOnRandomText) {
  // Every string of length 1..3 over {' ', a, b} is a piece, scored from
  // {0, 1, 2} so that ties are frequent; 'c' and U+00E9 are unknown.
  std::mt19937 rng(1234);
  std::vector<std::pair<std::string, float>> extra;
  std::vector<std::string> layer = {""};
  for (int length = 1; length <= 3; ++length) {
    std::vector<std::string> longer;
    for (const std::string &prefix : layer)
      for (char c : {' ', 'a', 'b'}) {
        longer.push_back(prefix + c);
        extra.push_back({prefix + c, static_cast<float>(rng() % 3)});
      }
    layer = longer;
  }
  Vocab v = makeVocab(extra);
  llvm::Expected<Tokenizer> t = Tokenizer::fromPieces(v.pieces, v.scores);
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  const std::vector<std::string> letters = {" ", "a", "b", "c", "\xC3\xA9"};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string text;
    for (int i = 0, n = rng() % 24; i < n; ++i)
      text += letters[rng() % (i % 7 ? 3 : letters.size())];
    ASSERT_EQ(t->encode(text, true, false), naiveEncode(v, text, true))
        << "text: '" << text << "'";
    ASSERT_EQ(t->decode(t->encode(text, true, false)), text);
  }
}

//===----------------------------------------------------------------------===//
// The real tok512.bin
//===----------------------------------------------------------------------===//

std::string sharedDir() {
  const char *dir = std::getenv("MIXTILE_SHARED_DIR");
  return dir && *dir ? dir : "../shared";
}

/// Loads ../shared/models/tok512.bin, or returns false when it is absent.
bool loadRealTokenizer(std::optional<Tokenizer> &result) {
  std::string path = sharedDir() + "/models/tok512.bin";
  if (!llvm::sys::fs::exists(path))
    return false;
  llvm::Expected<Tokenizer> t = Tokenizer::loadLlama2C(path, 512);
  if (!t) {
    ADD_FAILURE() << llvm::toString(t.takeError());
    return false;
  }
  result.emplace(std::move(*t));
  return true;
}

/// The pieces and scores of a llama2.c tokenizer file, read independently of
/// the code under test.
Vocab readVocabDirectly(const std::string &path, int vocabSize) {
  Vocab v;
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return v;
  const char *p = (*buffer)->getBufferStart() + 4;
  for (int i = 0; i < vocabSize; ++i) {
    float score;
    int32_t length;
    std::memcpy(&score, p, 4);
    std::memcpy(&length, p + 4, 4);
    v.scores.push_back(score);
    v.pieces.emplace_back(p + 8, length);
    p += 8 + length;
  }
  return v;
}

/// The first story of ../shared/data/tinystories_holdout.txt (the text before
/// the first <|endoftext|> line), or "" when absent.
std::string firstHoldoutStory() {
  auto buffer = llvm::MemoryBuffer::getFile(
      sharedDir() + "/data/tinystories_holdout.txt", /*IsText=*/true);
  if (!buffer)
    return "";
  return (*buffer)->getBuffer().split("\n<|endoftext|>").first.str();
}

TEST(TokenizerRealTest, KnownFacts) {
  std::optional<Tokenizer> t;
  if (!loadRealTokenizer(t))
    GTEST_SKIP() << "no tok512.bin under " << sharedDir();
  EXPECT_EQ(t->vocabSize(), 512);
  EXPECT_EQ(t->bos(), 1);
  EXPECT_EQ(t->eos(), 2);
  EXPECT_EQ(t->piece(1), "\n<s>\n");
  EXPECT_EQ(t->piece(2), "\n</s>\n");
  EXPECT_EQ(t->piece(3), "<0x00>");
  EXPECT_EQ(t->piece(258), "<0xFF>");
  EXPECT_EQ(t->piece(410), " ");
}

TEST(TokenizerRealTest, OnceUponATime) {
  std::optional<Tokenizer> t;
  if (!loadRealTokenizer(t))
    GTEST_SKIP() << "no tok512.bin under " << sharedDir();
  // Ids from llama2.c's encode() on tok512.bin: 403 " Once", 407 " upon",
  // 261 " a", 378 " time".
  Ids ids = t->encode("Once upon a time", true, false);
  EXPECT_EQ(ids, (Ids{1, 403, 407, 261, 378}));
  EXPECT_EQ(t->decode(ids), "Once upon a time");
  EXPECT_EQ(t->decodePiece(1, 403), "Once");
  EXPECT_EQ(t->decodePiece(403, 407), " upon");
}

TEST(TokenizerRealTest, ByteFallback) {
  std::optional<Tokenizer> t;
  if (!loadRealTokenizer(t))
    GTEST_SKIP() << "no tok512.bin under " << sharedDir();
  // U+00E9 is a piece (485); U+1F600 (F0 9F 98 80) is not, so it becomes
  // four byte tokens after the dummy prefix " " (410).
  EXPECT_EQ(t->encode("\xC3\xA9", true, false), (Ids{1, 410, 485}));
  Ids ids = t->encode("\xF0\x9F\x98\x80", true, false);
  ASSERT_EQ(ids, (Ids{1, 410, 0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3}));
  EXPECT_EQ(t->piece(ids[2]), "<0xF0>");
  EXPECT_EQ(t->piece(ids[5]), "<0x80>");
  EXPECT_EQ(t->decode(ids), "\xF0\x9F\x98\x80");
  std::string mixed = "caf\xC3\xA9 \xF0\x9F\x98\x80!";
  EXPECT_EQ(t->decode(t->encode(mixed, true, true)), mixed);
}

TEST(TokenizerRealTest, FirstHoldoutStoryRoundTrips) {
  std::optional<Tokenizer> t;
  if (!loadRealTokenizer(t))
    GTEST_SKIP() << "no tok512.bin under " << sharedDir();
  std::string story = firstHoldoutStory();
  if (story.empty())
    GTEST_SKIP() << "no data/tinystories_holdout.txt under " << sharedDir();
  ASSERT_TRUE(llvm::StringRef(story).starts_with("Once upon a time"));
  Ids ids = t->encode(story, true, false);
  EXPECT_EQ(t->decode(ids), story);
  // Merging shortens the text: about 2 bytes per token for this vocabulary.
  EXPECT_LT(ids.size(), story.size() * 3 / 4);
  Vocab v = readVocabDirectly(sharedDir() + "/models/tok512.bin", 512);
  EXPECT_EQ(ids, naiveEncode(v, story, true));
}

TEST(TokenizerRealTest, WholeHoldoutFileRoundTrips) {
  std::optional<Tokenizer> t;
  if (!loadRealTokenizer(t))
    GTEST_SKIP() << "no tok512.bin under " << sharedDir();
  auto buffer = llvm::MemoryBuffer::getFile(
      sharedDir() + "/data/tinystories_holdout.txt", /*IsText=*/true);
  if (!buffer)
    GTEST_SKIP() << "no data/tinystories_holdout.txt under " << sharedDir();
  std::string text = (*buffer)->getBuffer().str();
  EXPECT_EQ(t->decode(t->encode(text, true, true)), text);
}

//===----------------------------------------------------------------------===//
// Malformed files
//===----------------------------------------------------------------------===//

std::string int32le(int32_t value) {
  std::string bytes(4, '\0');
  for (int i = 0; i < 4; ++i)
    bytes[i] = static_cast<char>(static_cast<uint32_t>(value) >> (8 * i));
  return bytes;
}

std::string float32le(float value) {
  int32_t bits;
  std::memcpy(&bits, &value, 4);
  return int32le(bits);
}

/// One entry: score, length, then `piece` (whose size may differ from
/// `length` to build broken files).
std::string entry(float score, int32_t length, llvm::StringRef piece) {
  return float32le(score) + int32le(length) + piece.str();
}

std::string entry(float score, llvm::StringRef piece) {
  return entry(score, piece.size(), piece);
}

/// A valid file prefix: max_token_length 5 and the pieces <unk> <s> </s>.
std::string header3() {
  return int32le(5) + entry(0, "<unk>") + entry(0, "<s>") + entry(0, "</s>");
}

/// A temporary file removed on destruction.
class TempFile {
public:
  explicit TempFile(llvm::StringRef bytes) {
    int fd;
    EXPECT_FALSE(
        llvm::sys::fs::createTemporaryFile("mixtile-tok", "bin", fd, path));
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
  }
  ~TempFile() { llvm::sys::fs::remove(path); }
  std::string str() const { return std::string(path); }

private:
  llvm::SmallString<128> path;
};

/// Loads `bytes` as a tokenizer file and returns the error message, checking
/// that it names the file; "loaded" on success.
std::string loadError(llvm::StringRef bytes, int64_t vocabSize) {
  TempFile file(bytes);
  llvm::Expected<Tokenizer> t = Tokenizer::loadLlama2C(file.str(), vocabSize);
  if (t)
    return "loaded";
  std::string message = llvm::toString(t.takeError());
  EXPECT_NE(message.find(file.str()), std::string::npos) << message;
  return message;
}

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)             \
      << "'" << (haystack) << "' lacks '" << (needle) << "'"

TEST(TokenizerFileTest, LoadsAValidFileAndIgnoresTrailingBytes) {
  std::string bytes = header3() + entry(-1.5f, " a") + "trailing";
  TempFile file(bytes);
  llvm::Expected<Tokenizer> t = Tokenizer::loadLlama2C(file.str(), 4);
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->vocabSize(), 4);
  EXPECT_EQ(t->piece(1), "<s>");
  EXPECT_EQ(t->piece(3), " a");
  EXPECT_EQ(t->score(3), -1.5f);
  // Fewer entries than the file holds is fine too.
  EXPECT_EQ(loadError(bytes, 3), "loaded");
}

TEST(TokenizerFileTest, TruncatedHeader) {
  EXPECT_CONTAINS(loadError("", 3), "truncated header: 0 bytes");
  EXPECT_CONTAINS(loadError(llvm::StringRef("\x07\x00", 2), 3),
                  "truncated header: 2 bytes");
}

TEST(TokenizerFileTest, NegativeMaxTokenLength) {
  EXPECT_CONTAINS(loadError(int32le(-4) + entry(0, "a"), 1),
                  "negative max_token_length -4");
}

TEST(TokenizerFileTest, TruncatedEntry) {
  // Entry 3 has a score but only one byte of its length.
  EXPECT_CONTAINS(loadError(header3() + float32le(0) + "x", 4),
                  "truncated entry 3: 5 bytes left");
}

TEST(TokenizerFileTest, LengthPastTheEndOfTheFile) {
  EXPECT_CONTAINS(loadError(header3() + entry(0, 9, "abc"), 4),
                  "truncated entry 3: length 9 runs past the end of the "
                  "file (3 bytes left)");
  EXPECT_CONTAINS(loadError(header3() + entry(0, 0x7FFFFFFF, "abc"), 4),
                  "truncated entry 3: length 2147483647 runs past the end");
}

TEST(TokenizerFileTest, NegativeLength) {
  EXPECT_CONTAINS(loadError(header3() + entry(0, -2, "abc"), 4),
                  "entry 3 has negative length -2");
}

TEST(TokenizerFileTest, FewerEntriesThanTheVocabulary) {
  EXPECT_CONTAINS(loadError(header3() + entry(0, "a"), 512),
                  "the file has only 4 entries, fewer than the vocabulary "
                  "size 512");
}

TEST(TokenizerFileTest, BadVocabularySize) {
  std::string bytes = header3();
  EXPECT_CONTAINS(loadError(bytes, 0),
                  "vocabulary size must be in [1, INT_MAX], got 0");
  EXPECT_CONTAINS(loadError(bytes, -7),
                  "vocabulary size must be in [1, INT_MAX], got -7");
  EXPECT_CONTAINS(loadError(bytes, int64_t(1) << 40), "got 1099511627776");
  // BOS = 1 and EOS = 2 need at least 3 pieces.
  EXPECT_CONTAINS(loadError(bytes, 2),
                  "EOS id 2 is outside the vocabulary of 2 pieces");
}

TEST(TokenizerFileTest, NonFiniteScore) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_CONTAINS(loadError(header3() + entry(nan, "a"), 4),
                  "entry 3 has a non-finite score");
  EXPECT_CONTAINS(loadError(header3() + entry(-inf, "a"), 4),
                  "entry 3 has a non-finite score");
}

TEST(TokenizerFileTest, MissingFile) {
  std::string path;
  {
    TempFile file("");
    path = file.str();
  }
  llvm::Expected<Tokenizer> t = Tokenizer::loadLlama2C(path, 3);
  ASSERT_FALSE(bool(t));
  EXPECT_CONTAINS(llvm::toString(t.takeError()), path);
}

} // namespace
