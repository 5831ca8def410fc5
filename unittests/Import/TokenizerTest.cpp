//===- TokenizerTest.cpp - llama2.c BPE tokenizer -------------------------===//
//
// The merge order on a hand-made vocabulary (expected ids derived by hand),
// byte fallback, decoding, the real tok512.bin when ../shared is present, and
// malformed files.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdlib>

using namespace mixtile;

namespace {

/// <unk> <s> </s>, the 256 byte tokens, then ids 259.. for `extra`.
Tokenizer makeVocab(std::vector<std::pair<std::string, float>> extra) {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    snprintf(name, sizeof(name), "<0x%02X>", b);
    pieces.push_back(name);
    scores.push_back(0);
  }
  for (auto &[piece, score] : extra) {
    pieces.push_back(piece);
    scores.push_back(score);
  }
  return std::move(*Tokenizer::fromPieces(pieces, scores));
}

TEST(TokenizerTest, MergesHighestScoreFirst) {
  // ids: " "=259 "a"=260 "b"=261 "ab"=262 (score 1) " a"=263 (score 2)
  //      " ab"=264 (score 3).
  Tokenizer t = makeVocab({{" ", 0}, {"a", 0}, {"b", 0}, {"ab", 1},
                           {" a", 2}, {" ab", 3}});
  // "ab" -> [" ", "a", "b"]; the best pair is " a" (2) over "ab" (1) giving
  // [" a", "b"], then " ab" (3).
  EXPECT_EQ(t.encode("ab", true, false), (std::vector<int>{1, 264}));
  EXPECT_EQ(t.encode("ab", false, true), (std::vector<int>{264, 2}));
}

TEST(TokenizerTest, TiesMergeTheLeftmostPair) {
  // "aa"=262 has score 1; " a"=263 also 1. Text "aa" -> [" ", "a", "a"]:
  // pairs " a" (score 1, position 0) and "aa" (score 1, position 1) tie, so
  // " a" merges first -> [" a", "a"]; " aa" is not in the vocabulary.
  Tokenizer t = makeVocab({{" ", 0}, {"a", 0}, {"b", 0}, {"aa", 1},
                           {" a", 1}});
  EXPECT_EQ(t.encode("aa", false, false), (std::vector<int>{263, 260}));
}

TEST(TokenizerTest, MergedTokensMergeAgain) {
  // "ab"=262 (3), "abab"=263 (2), "b"=261. Text "abab" -> " " a b a b;
  // "ab" merges twice (leftmost first), then "abab".
  Tokenizer t = makeVocab({{" ", 0}, {"a", 0}, {"b", 0}, {"ab", 3},
                           {"abab", 2}});
  EXPECT_EQ(t.encode("abab", false, false), (std::vector<int>{259, 263}));
}

TEST(TokenizerTest, UnknownCodepointsFallBackToBytes) {
  Tokenizer t = makeVocab({{" ", 0}, {"a", 0}});
  // U+00E9 is C3 A9 in UTF-8; byte tokens are byte + 3.
  EXPECT_EQ(t.encode("\xC3\xA9", false, false),
            (std::vector<int>{259, 0xC3 + 3, 0xA9 + 3}));
  EXPECT_EQ(t.decode({1, 259, 0xC3 + 3, 0xA9 + 3}), "\xC3\xA9");
}

TEST(TokenizerTest, DecodingDropsTheDummyPrefixAfterBos) {
  Tokenizer t = makeVocab({{" ", 0}, {"a", 0}, {" a", 1}});
  EXPECT_EQ(t.decodePiece(1, 261), "a");
  EXPECT_EQ(t.decodePiece(260, 261), " a");
  EXPECT_EQ(t.decode(t.encode("a a", true, false)), "a a");
  EXPECT_TRUE(t.encode("", false, false).empty());
}

std::string sharedDir() {
  const char *dir = std::getenv("MIXTILE_SHARED_DIR");
  return dir ? dir : "../shared";
}

TEST(TokenizerTest, RealTokenizerRoundTripsStories) {
  std::string path = sharedDir() + "/models/tok512.bin";
  if (!llvm::sys::fs::exists(path))
    GTEST_SKIP() << "no " << path;
  auto t = Tokenizer::loadLlama2C(path, 512);
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  std::vector<int> ids = t->encode("Once upon a time", true, false);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(t->decode(ids), "Once upon a time");
  auto text = llvm::MemoryBuffer::getFile(sharedDir() +
                                          "/data/tinystories_holdout.txt");
  ASSERT_TRUE(bool(text));
  llvm::StringRef story =
      (*text)->getBuffer().split("<|endoftext|>").first.trim();
  EXPECT_EQ(t->decode(t->encode(story, true, true)), story);
}

/// Writes `bytes` to a temporary file and returns its path.
std::string writeTemp(llvm::StringRef bytes) {
  llvm::SmallString<128> path;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("tok", "bin", path));
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  os << bytes;
  return std::string(path);
}

std::string loadError(llvm::StringRef bytes, int64_t vocab) {
  std::string path = writeTemp(bytes);
  auto t = Tokenizer::loadLlama2C(path, vocab);
  llvm::sys::fs::remove(path);
  if (t)
    return "loaded";
  std::string message = llvm::toString(t.takeError());
  EXPECT_NE(message.find(path), std::string::npos) << message;
  return message;
}

TEST(TokenizerTest, RejectsMalformedFiles) {
  std::string header("\x08\0\0\0", 4);
  std::string entry = std::string("\0\0\0\0\x01\0\0\0", 8) + "a";
  EXPECT_NE(loadError("\x08", 1).find("truncated tokenizer header"),
            std::string::npos);
  EXPECT_NE(loadError(header + entry, 2).find(
                "token 1 is missing: the file holds 1 of the model's 2"),
            std::string::npos);
  std::string longEntry = std::string("\0\0\0\0\x09\0\0\0", 8) + "abc";
  EXPECT_NE(loadError(header + longEntry, 1).find(
                "token 0 has length 9, past the end of the file"),
            std::string::npos);
  EXPECT_NE(loadError(header + entry, 0).find(
                "vocabulary size must be positive"),
            std::string::npos);
  EXPECT_EQ(loadError(header + entry, 1), "loaded");
}

} // namespace
