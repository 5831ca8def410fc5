//===- MetricsTest.cpp - accuracy metrics ---------------------------------===//
//
// Hand-computed values of KL, top-1 agreement, relative L2 and NLL.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/Metrics.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mixtile;

namespace {

TEST(MetricsTest, IdenticalRunsHaveNoDivergence) {
  std::vector<float> a = {1, 2, 3, -1, 0, 5};
  LogitComparison c = compareLogits(a.data(), a.data(), 2, 3);
  EXPECT_EQ(c.meanKL(), 0);
  EXPECT_EQ(c.top1Agreement(), 1);
  EXPECT_EQ(c.relativeL2(), 0);
  EXPECT_EQ(c.maxAbsDifference, 0);
}

TEST(MetricsTest, KLOfTwoKnownDistributions) {
  // p = softmax(log 0.5, log 0.5) = (0.5, 0.5); q = (0.25, 0.75).
  // KL(p || q) = 0.5 ln(0.5 / 0.25) + 0.5 ln(0.5 / 0.75) = 0.143841...
  std::vector<float> p = {std::log(0.5f), std::log(0.5f)};
  std::vector<float> q = {std::log(0.25f), std::log(0.75f)};
  LogitComparison c = compareLogits(p.data(), q.data(), 1, 2);
  EXPECT_NEAR(c.meanKL(), 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0),
              1e-6);
  // The reference's arg-max is index 0 (a tie resolves to the first); the
  // candidate's is 1.
  EXPECT_EQ(c.top1Agreement(), 0);
}

TEST(MetricsTest, RelativeL2AndAccumulation) {
  std::vector<float> ref = {3, 4}, got = {3, 5};
  LogitComparison c = compareLogits(ref.data(), got.data(), 1, 2);
  EXPECT_DOUBLE_EQ(c.relativeL2(), 1.0 / 5.0);
  LogitComparison total = c;
  total.add(compareLogits(ref.data(), ref.data(), 1, 2));
  EXPECT_EQ(total.positions, 2);
  EXPECT_DOUBLE_EQ(total.meanKL(), c.klSum / 2);
  EXPECT_DOUBLE_EQ(total.maxAbsDifference, 1);
}

TEST(MetricsTest, NextTokenNLL) {
  // Two positions over a vocabulary of 2; tokens {0, 1, 0}: predict 1 under
  // row 0 (p = 0.75) and 0 under row 1 (p = 0.5).
  std::vector<float> logits = {0, std::log(3.0f), 0, 0};
  std::vector<int32_t> tokens = {0, 1, 0};
  NLLSum nll = nextTokenNLL(logits.data(), tokens.data(), 3, 2);
  EXPECT_EQ(nll.count, 2);
  EXPECT_NEAR(nll.sum, -std::log(0.75) - std::log(0.5), 1e-6);
}

TEST(MetricsTest, PerplexityRatioOnActualTokens) {
  // Positions 0 and 1 predict tokens 1 and 0. Reference: p(1) = 0.75 at
  // position 0, p(0) = 0.5 at position 1; candidate: 0.5 and 0.25. The last
  // position predicts nothing.
  std::vector<float> ref = {0, std::log(3.0f), 0, 0, 7, 1};
  std::vector<float> got = {0, 0, 0, std::log(3.0f), 1, 7};
  std::vector<int32_t> tokens = {0, 1, 0};
  LogitComparison c =
      compareLogits(ref.data(), got.data(), 3, 2, tokens.data());
  EXPECT_EQ(c.predictions, 2);
  double refNLL = -std::log(0.75) - std::log(0.5);
  double gotNLL = -std::log(0.5) - std::log(0.25);
  EXPECT_NEAR(c.perplexityRatio(), std::exp((gotNLL - refNLL) / 2), 1e-6);
  LogitComparison same =
      compareLogits(ref.data(), ref.data(), 3, 2, tokens.data());
  EXPECT_DOUBLE_EQ(same.perplexityRatio(), 1);
  // Without tokens there is nothing to compare.
  EXPECT_EQ(compareLogits(ref.data(), got.data(), 3, 2).perplexityRatio(), 1);
}

} // namespace
