//===- WeightPackTest.cpp - the weight pack's fp4 layouts -----------------===//
//
// Reads every fp4 code of a quantized weight back from packWeightCodes'
// bytes by the layout WeightPack.h documents: K-major linear weights in
// nibble planes (with and without panels, N a multiple of 32 or not), and
// row-major ones (embeddings) in Packing.h's order. The arrays must also be
// exactly the size getWeightEncoding plans for them.
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

nx::QuantizedMatrix quantizeRandom(int64_t rows, int64_t cols) {
  std::mt19937 rng(static_cast<unsigned>(rows * 1000 + cols));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (float &v : values)
    v = normal(rng);
  return nx::quantize(values.data(), rows, cols,
                      *nx::parseQuantScheme("mxfp4"));
}

/// The byte of a K-major pack holding the code of weight (n, k) of an
/// [N, K] matrix, and its shift, by WeightPack.h's description.
std::pair<size_t, int64_t> kMajorPlace(int64_t n, int64_t k, int64_t rows,
                                       int64_t cols) {
  if (int64_t panel = cpu::getPanelColumns(rows)) {
    int64_t panelBytes = cols * (panel / 2);
    return {n / panel * panelBytes + k * (panel / 2) +
                cpu::getNibbleByte(n % panel),
            cpu::getNibbleShift(n % panel)};
  }
  return {k * cpu::getNibbleRowBytes(rows) + cpu::getNibbleByte(n),
          cpu::getNibbleShift(n)};
}

class KMajorNibblePlanes : public ::testing::TestWithParam<int64_t> {};

TEST_P(KMajorNibblePlanes, EveryCodeReadsBack) {
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

// 4, 48, 172: fewer than 32 outputs, a partial group, the stories260K FFN;
// 64: one group pair without panels; 128, 192: panels of 64.
INSTANTIATE_TEST_SUITE_P(Outputs, KMajorNibblePlanes,
                         ::testing::Values(4, 48, 64, 128, 172, 192));

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

} // namespace
