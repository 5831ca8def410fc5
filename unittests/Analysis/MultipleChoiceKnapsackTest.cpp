//===- MultipleChoiceKnapsackTest.cpp - solver against brute force --------===//
//
// The solver must return the optimum that exhaustive enumeration finds, on
// many random instances (including dominated candidates, ties and
// infeasible budgets).
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/MultipleChoiceKnapsack.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace mixtile;

namespace {

using Groups = std::vector<std::vector<KnapsackCandidate>>;

/// Random instance; `integral` draws small integers so that ties and exact
/// budget hits are common.
Groups randomInstance(std::mt19937 &rng, int maxGroups, int maxCandidates,
                      bool integral) {
  std::uniform_int_distribution<int> groupsDist(1, maxGroups);
  std::uniform_int_distribution<int> candDist(1, maxCandidates);
  std::uniform_real_distribution<double> real(0.0, 10.0);
  std::uniform_int_distribution<int> small(0, 5);
  Groups groups(groupsDist(rng));
  for (auto &group : groups) {
    int n = candDist(rng);
    for (int c = 0; c < n; ++c)
      group.push_back(integral ? KnapsackCandidate{double(small(rng)),
                                                   double(small(rng))}
                               : KnapsackCandidate{real(rng), real(rng)});
  }
  return groups;
}

void checkAgainstBruteForce(const Groups &groups, double budget) {
  std::optional<double> expected =
      enumerateMultipleChoiceKnapsack(groups, budget);
  std::optional<KnapsackSolution> got =
      solveMultipleChoiceKnapsack(groups, budget);
  ASSERT_EQ(expected.has_value(), got.has_value());
  if (!expected)
    return;
  ASSERT_EQ(got->choice.size(), groups.size());
  double cost = 0, error = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    cost += groups[g][got->choice[g]].cost;
    error += groups[g][got->choice[g]].error;
  }
  EXPECT_NEAR(cost, *expected, 1e-9);
  EXPECT_NEAR(cost, got->cost, 1e-9);
  EXPECT_NEAR(error, got->error, 1e-9);
  EXPECT_LE(error, budget + 1e-9);
}

TEST(MultipleChoiceKnapsackTest, MatchesBruteForceOnRandomInstances) {
  std::mt19937 rng(2026);
  std::uniform_real_distribution<double> budgetDist(0.0, 40.0);
  for (int i = 0; i < 3000; ++i) {
    Groups groups = randomInstance(rng, 6, 5, /*integral=*/false);
    checkAgainstBruteForce(groups, budgetDist(rng));
  }
}

TEST(MultipleChoiceKnapsackTest, MatchesBruteForceWithTiesAndExactBudgets) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> budgetDist(0, 20);
  for (int i = 0; i < 3000; ++i) {
    Groups groups = randomInstance(rng, 7, 4, /*integral=*/true);
    checkAgainstBruteForce(groups, budgetDist(rng));
  }
}

TEST(MultipleChoiceKnapsackTest, NegativeErrorsAndInfeasibleBudgets) {
  Groups groups = {{{5, 0}, {3, 1}, {1, 4}}, {{4, -0.5}, {2, 2}}};
  checkAgainstBruteForce(groups, -1.0); // Infeasible: least error is -0.5.
  EXPECT_FALSE(solveMultipleChoiceKnapsack(groups, -1.0));
  checkAgainstBruteForce(groups, -0.5);
  checkAgainstBruteForce(groups, 1.5);
  checkAgainstBruteForce(groups, 100);
}

TEST(MultipleChoiceKnapsackTest, HandPickedOptimumNeedsMixing) {
  // Two layers, formats (bf16, fp8, fp4) with costs 4, 2, 1. Layer 0 is
  // sensitive (fp4 costs 0.05), layer 1 is not (0.01). Budget 0.02: the
  // optimum is fp8 + fp4 (cost 3, error 0.01 + 0.01); uniform fp8 costs 4.
  Groups groups = {{{4, 0}, {2, 0.01}, {1, 0.05}},
                   {{4, 0}, {2, 0.001}, {1, 0.01}}};
  auto plan = solveMultipleChoiceKnapsack(groups, 0.02);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->choice, (std::vector<int>{1, 2}));
  EXPECT_DOUBLE_EQ(plan->cost, 3);
}

TEST(MultipleChoiceKnapsackTest, SameInputSamePlan) {
  std::mt19937 rng(99);
  Groups groups = randomInstance(rng, 40, 8, /*integral=*/true);
  auto a = solveMultipleChoiceKnapsack(groups, 30);
  auto b = solveMultipleChoiceKnapsack(groups, 30);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->choice, b->choice);
}

} // namespace
