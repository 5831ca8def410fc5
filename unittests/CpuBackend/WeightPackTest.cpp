//===- WeightPackTest.cpp - the weight pack's fp4 and bf16 layouts --------===//
//
// Reads every fp4 code of a quantized weight back from packWeightCodes'
// bytes by the layout WeightPack.h documents: K-major linear weights in
// nibble lanes (with and without panels, N a multiple of 128 or not), and
// row-major ones (embeddings) in Packing.h's order. Likewise every bf16
// code of K-major weights: in pairs along an even K (with and without
// panels), one per k along an odd one. The arrays must also be exactly the
// size getWeightEncoding plans for them.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

nx::QuantizedMatrix quantizeRandom(int64_t rows, int64_t cols,
                                   const char *scheme = "mxfp4") {
  std::mt19937 rng(static_cast<unsigned>(rows * 1000 + cols));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (float &v : values)
    v = normal(rng);
  return nx::quantize(values.data(), rows, cols, *nx::parseQuantScheme(scheme));
}

/// The byte of a K-major pack holding the code of weight (n, k) of an
/// [N, K] matrix, and its shift, written out from WeightPack.h's
/// description (not with its helpers, which the writer uses): within each
/// 128 columns (64 bytes), column c at bit 4 (c / 16) of little-endian
/// 32-bit word c mod 16; rows of 64 * ceil(N / 128) bytes; panels of 128
/// columns when 128 divides a larger N.
std::pair<size_t, int64_t> kMajorPlace(int64_t n, int64_t k, int64_t rows,
                                       int64_t cols) {
  // Bit of column c within its 128-column group of 64 bytes.
  auto bitOf = [](int64_t c) { return 32 * (c % 16) + 4 * (c / 16 % 8); };
  int64_t bit;
  if (rows > 128 && rows % 128 == 0)
    bit = 8 * (n / 128 * (cols * 64) + k * 64) + bitOf(n % 128);
  else
    bit = 8 * (k * 64 * ((rows + 127) / 128) + n / 128 * 64) + bitOf(n % 128);
  return {size_t(bit / 8), bit % 8};
}

class KMajorNibbleLanes : public ::testing::TestWithParam<int64_t> {};

TEST_P(KMajorNibbleLanes, EveryCodeReadsBack) {
  const int64_t rows = GetParam(), cols = 64;
  nx::QuantizedMatrix q = quantizeRandom(rows, cols);
  std::vector<uint8_t> packed = cpu::packWeightCodes(q, /*kMajor=*/true);
  mlir::MLIRContext ctx;
  cpu::WeightEncoding encoding =
      cpu::getWeightEncoding(&ctx, {rows, cols}, q.scheme, /*kMajor=*/true);
  ASSERT_EQ(packed.size(), encoding.data.getByteSize());
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) {
      auto [byte, shift] = kMajorPlace(n, k, rows, cols);
      ASSERT_LT(byte, packed.size());
      EXPECT_EQ((packed[byte] >> shift) & 15, q.codes[n * cols + k])
          << "weight (" << n << ", " << k << ") of N = " << rows;
    }
}

// 4, 48, 172: fewer than 16 outputs, a partial group, the stories260K FFN;
// 64, 128, 192: part of a group, one group, a group and a half, without
// panels; 256, 384: panels of 128.
INSTANTIATE_TEST_SUITE_P(Outputs, KMajorNibbleLanes,
                         ::testing::Values(4, 48, 64, 128, 172, 192, 256, 384));

TEST(RowMajorFP4, KeepsPackingOrder) {
  const int64_t rows = 5, cols = 37;
  nx::QuantizedMatrix q = quantizeRandom(rows, cols);
  std::vector<uint8_t> packed = cpu::packWeightCodes(q, /*kMajor=*/false);
  const int64_t rowBytes = (cols + 1) / 2;
  ASSERT_EQ(packed.size(), static_cast<size_t>(rows * rowBytes));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      EXPECT_EQ((packed[r * rowBytes + c / 2] >> (c % 2 * 4)) & 15,
                q.codes[r * cols + c]);
}

/// The byte offset in a K-major bf16 pack of the code of weight (n, k) of
/// an [N, K] matrix, from WeightPack.h's description: for an even K, 32-bit
/// little-endian words [K / 2, N], the code of k = 2i in the high half
/// (bytes 2-3) and that of 2i + 1 in the low half; for an odd K, codes
/// [K, N]; panels of 64 columns when 64 divides a larger N.
size_t kMajorBF16Offset(int64_t n, int64_t k, int64_t rows, int64_t cols) {
  bool pairs = cols % 2 == 0;
  int64_t columnBytes = pairs ? 4 : 2, kRows = pairs ? cols / 2 : cols;
  int64_t kRow = pairs ? k / 2 : k;
  int64_t inWord = pairs ? (k % 2 ? 0 : 2) : 0;
  if (rows > 64 && rows % 64 == 0)
    return (n / 64 * kRows * 64 + kRow * 64 + n % 64) * columnBytes + inWord;
  return (kRow * rows + n) * columnBytes + inWord;
}

struct BF16Shape {
  int64_t rows, cols;
};
class KMajorBF16 : public ::testing::TestWithParam<BF16Shape> {};

TEST_P(KMajorBF16, EveryCodeReadsBack) {
  auto [rows, cols] = GetParam();
  nx::QuantizedMatrix q = quantizeRandom(rows, cols, "bf16");
  std::vector<uint8_t> packed = cpu::packWeightCodes(q, /*kMajor=*/true);
  mlir::MLIRContext ctx;
  cpu::WeightEncoding encoding =
      cpu::getWeightEncoding(&ctx, {rows, cols}, q.scheme, /*kMajor=*/true);
  ASSERT_EQ(packed.size(), encoding.data.getByteSize());
  EXPECT_EQ(encoding.data.elementType.getIntOrFloatBitWidth(),
            cols % 2 ? 16u : 32u);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) {
      size_t offset = kMajorBF16Offset(n, k, rows, cols);
      ASSERT_LT(offset + 1, packed.size());
      uint16_t code = uint16_t(packed[offset] | packed[offset + 1] << 8);
      uint16_t expected = uint16_t(q.codes[(n * cols + k) * 2] |
                                   q.codes[(n * cols + k) * 2 + 1] << 8);
      EXPECT_EQ(code, expected) << "weight (" << n << ", " << k << ") of ["
                                << rows << ", " << cols << "]";
    }
}

// Pairs without and with panels (N = 48, 128), and an odd K.
INSTANTIATE_TEST_SUITE_P(Shapes, KMajorBF16,
                         ::testing::Values(BF16Shape{48, 64}, BF16Shape{128, 6},
                                           BF16Shape{128, 7}));

} // namespace
