//===- PackingTest.cpp - FP4/FP6/FP8 code packing tests -------------------===//
//
// Hand-computed packed bytes for the documented bit order, round trips over
// all lengths up to a few groups, and a bit-by-bit reference packer.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/Packing.h"

#include "gtest/gtest.h"

#include <random>
#include <string>
#include <vector>

using namespace mixtile::numerics;

namespace {

using Bytes = std::vector<uint8_t>;

/// Straightforward LSB-first bit-stream packer, the layout's definition.
Bytes referencePack(const Bytes &codes, unsigned width) {
  Bytes packed((codes.size() * width + 7) / 8, 0);
  for (size_t i = 0; i < codes.size(); ++i)
    for (unsigned bit = 0; bit < width; ++bit)
      if ((codes[i] >> bit) & 1)
        packed[(i * width + bit) / 8] |= uint8_t(1u << ((i * width + bit) % 8));
  return packed;
}

Bytes randomCodes(size_t n, unsigned width, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes codes(n);
  for (uint8_t &code : codes)
    code = uint8_t(rng() & ((1u << width) - 1));
  return codes;
}

TEST(PackingTest, FP4TwoPerByteLowNibbleFirst) {
  // Codes 1..5: byte 0 = 2 << 4 | 1, byte 1 = 4 << 4 | 3, byte 2 = 5 with a
  // zero high nibble.
  EXPECT_EQ(packCodes(Bytes{1, 2, 3, 4, 5}, 4), (Bytes{0x21, 0x43, 0x05}));
  EXPECT_EQ(packCodes(Bytes{0xf, 0x0}, 4), (Bytes{0x0f}));
  EXPECT_EQ(packCodes(Bytes{0x0, 0xf}, 4), (Bytes{0xf0}));
  // Bits above the width are ignored.
  EXPECT_EQ(packCodes(Bytes{0x1a, 0xf3}, 4), (Bytes{0x3a}));
  EXPECT_EQ(unpackCodes(Bytes{0x21, 0x43, 0x05}, 5, 4), (Bytes{1, 2, 3, 4, 5}));
}

TEST(PackingTest, FP6FourPerThreeBytes) {
  // a = 0x3F, b = 0x00, c = 0x2A, d = 0x15: the 24-bit word a | b << 6 |
  // c << 12 | d << 18 = 0x3F + 0x2A000 + 0x540000 = 0x56A03F, stored
  // little-endian.
  EXPECT_EQ(packCodes(Bytes{0x3f, 0x00, 0x2a, 0x15}, 6),
            (Bytes{0x3f, 0xa0, 0x56}));
  // b = 0x3F alone straddles bytes 0 and 1: 0x3F << 6 = 0xFC0.
  EXPECT_EQ(packCodes(Bytes{0, 0x3f, 0, 0}, 6), (Bytes{0xc0, 0x0f, 0x00}));
  // d = 0x3F alone fills the top six bits of byte 2.
  EXPECT_EQ(packCodes(Bytes{0, 0, 0, 0x3f}, 6), (Bytes{0x00, 0x00, 0xfc}));
  // A fifth code starts a new group in byte 3, low bits first.
  EXPECT_EQ(packCodes(Bytes{0, 0, 0, 0, 0x3f}, 6),
            (Bytes{0x00, 0x00, 0x00, 0x3f}));
  // c = 0x3F alone: bits 12..17 -> high nibble of byte 1, low two bits of
  // byte 2.
  EXPECT_EQ(packCodes(Bytes{0, 0, 0x3f}, 6), (Bytes{0x00, 0xf0, 0x03}));
  EXPECT_EQ(unpackCodes(Bytes{0x3f, 0xa0, 0x56}, 4, 6),
            (Bytes{0x3f, 0x00, 0x2a, 0x15}));
}

TEST(PackingTest, FP8IsIdentity) {
  Bytes codes = {0x00, 0x7f, 0x80, 0xff, 0x12};
  EXPECT_EQ(packCodes(codes, 8), codes);
  EXPECT_EQ(unpackCodes(codes, 5, 8), codes);
}

TEST(PackingTest, PackedSizes) {
  EXPECT_EQ(getPackedSize(0, 4), 0u);
  EXPECT_EQ(getPackedSize(1, 4), 1u);
  EXPECT_EQ(getPackedSize(5, 4), 3u);
  EXPECT_EQ(getPackedSize(0, 6), 0u);
  EXPECT_EQ(getPackedSize(1, 6), 1u); // 6 bits
  EXPECT_EQ(getPackedSize(2, 6), 2u); // 12 bits
  EXPECT_EQ(getPackedSize(3, 6), 3u); // 18 bits
  EXPECT_EQ(getPackedSize(4, 6), 3u); // 24 bits
  EXPECT_EQ(getPackedSize(5, 6), 4u); // 30 bits
  EXPECT_EQ(getPackedSize(172, 6), 129u);
  EXPECT_EQ(getPackedSize(7, 8), 7u);
  EXPECT_TRUE(isPackableWidth(4));
  EXPECT_TRUE(isPackableWidth(6));
  EXPECT_TRUE(isPackableWidth(8));
  EXPECT_FALSE(isPackableWidth(5));
  EXPECT_FALSE(isPackableWidth(16));
}

TEST(PackingTest, MatchesReferenceAndRoundTripsForEveryLength) {
  for (unsigned width : {4u, 6u, 8u}) {
    for (size_t n = 0; n <= 67; ++n) {
      SCOPED_TRACE("width " + std::to_string(width) + " n " +
                   std::to_string(n));
      Bytes codes = randomCodes(n, width, uint32_t(n * 31 + width));
      Bytes packed = packCodes(codes, width);
      EXPECT_EQ(packed.size(), getPackedSize(n, width));
      EXPECT_EQ(packed, referencePack(codes, width));
      EXPECT_EQ(unpackCodes(packed, n, width), codes);
    }
  }
}

TEST(PackingTest, PackIntoDirtyBufferClearsUnusedBits) {
  // The last byte's unused bits must be 0 even if the buffer was not.
  Bytes codes = {0x3f, 0x01, 0x3f, 0x2a, 0x15};
  Bytes packed(getPackedSize(codes.size(), 6), 0xff);
  packCodes(codes.data(), codes.size(), 6, packed.data());
  EXPECT_EQ(packed, referencePack(codes, 6));
  Bytes nibbles = {0x7, 0x8, 0x9};
  Bytes packedNibbles(2, 0xff);
  packCodes(nibbles.data(), nibbles.size(), 4, packedNibbles.data());
  EXPECT_EQ(packedNibbles, (Bytes{0x87, 0x09}));
}

TEST(PackingTest, LargeRoundTrip) {
  for (unsigned width : {4u, 6u}) {
    Bytes codes = randomCodes(4096 * 3 + 1, width, width);
    EXPECT_EQ(unpackCodes(packCodes(codes, width), codes.size(), width), codes);
  }
}

} // namespace
