//===- SyntheticTest.cpp - statistics of synthetic weights ----------------===//
//
// Synthetic weights should look like trained ones where precision choices
// care: scale 1/sqrt(fan_in), heavier tails than a Gaussian, and a few outlier
// input channels.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Synthetic.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>

using namespace mixtile;

namespace {

TEST(SyntheticTest, LinearWeightsAreHeavyTailedWithOutlierChannels) {
  int64_t rows = 512, cols = 1024;
  std::vector<float> w(rows * cols);
  generateSyntheticTensor(7, "layers.0.attention.wq", {rows, cols}, w);
  // Column RMS: most columns near 1/sqrt(cols), a few 8x larger.
  int outliers = 0;
  double sumSquares = 0, sumFourth = 0;
  int64_t regular = 0;
  for (int64_t c = 0; c < cols; ++c) {
    double ss = 0;
    for (int64_t r = 0; r < rows; ++r)
      ss += double(w[r * cols + c]) * w[r * cols + c];
    double rms = std::sqrt(ss / rows) * std::sqrt(double(cols));
    if (rms > 4.0) {
      ++outliers;
      continue;
    }
    // 512 Laplace samples: the RMS has a standard deviation of about 0.05.
    EXPECT_NEAR(rms, 1.0, 0.3) << "column " << c;
    for (int64_t r = 0; r < rows; ++r) {
      double x = w[r * cols + c] * std::sqrt(double(cols));
      sumSquares += x * x;
      sumFourth += x * x * x * x;
      ++regular;
    }
  }
  EXPECT_GE(outliers, 1);
  EXPECT_LE(outliers, 4); // 1024 / 256, fewer if two draws coincide.
  double variance = sumSquares / regular;
  double kurtosis = (sumFourth / regular) / (variance * variance);
  EXPECT_GT(kurtosis, 4.5); // Gaussian: 3; Laplace: 6.
}

TEST(SyntheticTest, SameSeedAndKeyGiveSameData) {
  std::vector<float> a(64 * 32), b(64 * 32), c(64 * 32), d(64 * 32);
  generateSyntheticTensor(1, "layers.0.attention.wq", {64, 32}, a);
  generateSyntheticTensor(1, "layers.0.attention.wq", {64, 32}, b);
  generateSyntheticTensor(2, "layers.0.attention.wq", {64, 32}, c);
  generateSyntheticTensor(1, "layers.0.attention.wk", {64, 32}, d);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
}

TEST(SyntheticTest, RowsMatchTheWholeTensor) {
  const int64_t rows = 50, cols = 300;
  for (const char *key : {"layers.1.feed_forward.w2", "tok_embeddings"}) {
    std::vector<float> whole(rows * cols);
    generateSyntheticTensor(5, key, {rows, cols}, whole);
    std::vector<int64_t> picked = {49, 0, 17, 17, 3};
    std::vector<float> sampled(picked.size() * cols);
    generateSyntheticRows(5, key, {rows, cols}, picked, sampled);
    for (size_t i = 0; i < picked.size(); ++i)
      EXPECT_TRUE(std::equal(sampled.begin() + i * cols,
                             sampled.begin() + (i + 1) * cols,
                             whole.begin() + picked[i] * cols))
          << key << " row " << picked[i];
  }
}

TEST(SyntheticTest, MaxAbsIsTheTensorsLargestMagnitude) {
  struct Case {
    const char *key;
    std::vector<int64_t> shape;
  } cases[] = {{"layers.0.feed_forward.w1", {96, 1024}},
               {"tok_embeddings", {64, 40}},
               {"layers.0.ffn_norm", {300}}};
  for (const Case &c : cases) {
    std::vector<float> values(c.shape.size() == 1 ? c.shape[0]
                                                  : c.shape[0] * c.shape[1]);
    generateSyntheticTensor(8, c.key, c.shape, values);
    float largest = 0;
    for (float v : values)
      largest = std::max(largest, std::fabs(v));
    EXPECT_EQ(syntheticMaxAbs(8, c.key, c.shape), largest) << c.key;
  }
}

TEST(SyntheticTest, NormWeightsAreNearOne) {
  std::vector<float> g(4096);
  generateSyntheticTensor(3, "layers.0.ffn_norm", {4096}, g);
  double mean = 0;
  for (float v : g)
    mean += v;
  EXPECT_NEAR(mean / g.size(), 1.0, 0.02);
}

} // namespace
