//===- MultipleChoiceKnapsack.h - exact precision-plan solver ---*- C++ -*-===//
//
// Picks one candidate per group (one number format per layer group) so that
// the summed cost (modeled latency, bytes, ...) is minimal while the summed
// predicted error stays within a budget: the multiple-choice knapsack
// problem, solved exactly by branch and bound with linear-relaxation bounds.
// Plain C++17.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_ANALYSIS_MULTIPLECHOICEKNAPSACK_H
#define MIXTILE_ANALYSIS_MULTIPLECHOICEKNAPSACK_H

#include <cstdint>
#include <optional>
#include <vector>

namespace mixtile {

/// One option of a group: what it costs and how much error it adds.
struct KnapsackCandidate {
  double cost;
  double error;
};

struct KnapsackSolution {
  /// The chosen candidate index of every group.
  std::vector<int> choice;
  double cost = 0;
  double error = 0;
  /// Branch-and-bound nodes visited (for benchmarks).
  int64_t nodes = 0;
};

/// Returns a plan of minimal total cost whose total error is <= `budget`, or
/// nullopt when even the least-error plan exceeds it. Exact: the optimum is
/// proven by linear-relaxation bounds (pruning tolerates a relative 1e-12 of
/// floating-point slack). Ties between equal-cost plans are broken the same
/// way every run (lowest candidate indices in group order). Every group must
/// have at least one candidate; errors may be any finite numbers.
std::optional<KnapsackSolution>
solveMultipleChoiceKnapsack(const std::vector<std::vector<KnapsackCandidate>> &groups,
                            double budget);

/// The least total cost over every plan within `budget` by enumeration
/// (nullopt if none): the reference the solver is tested and benchmarked
/// against. Only for instances whose plan count is small.
std::optional<double> enumerateMultipleChoiceKnapsack(
    const std::vector<std::vector<KnapsackCandidate>> &groups, double budget);

} // namespace mixtile

#endif // MIXTILE_ANALYSIS_MULTIPLECHOICEKNAPSACK_H
