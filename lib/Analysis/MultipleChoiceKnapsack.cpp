//===- MultipleChoiceKnapsack.cpp - exact precision-plan solver -----------===//
//
// 1. Per group, keep the Pareto front (error up, cost strictly down): no
//    optimal plan uses a dominated candidate.
// 2. Per group, the lower convex hull of the front gives "segments" (trade
//    error for cost at a constant rate). The linear relaxation of the
//    remaining groups is solved greedily: start every group at its
//    least-error point and buy segments in decreasing rate order until the
//    budget is spent (the last one fractionally). Its value bounds every
//    integer completion from below.
// 3. An incumbent from rounding the relaxation down (feasible by
//    construction), and reduced-cost fixing: with the relaxation's critical
//    rate lambda, every plan costs at least L(lambda) + the sum of its
//    candidates' reduced costs, so candidates whose reduced cost exceeds
//    incumbent - L(lambda) cannot be in a better plan and are dropped.
// 4. Depth-first branch and bound over what is left, cheapest candidates
//    first, pruning any node whose relaxation bound cannot beat the
//    incumbent.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/MultipleChoiceKnapsack.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

using namespace mixtile;

namespace {

/// A group reduced to its Pareto front, in increasing error order.
struct Front {
  std::vector<int> index; // Original candidate indices.
  std::vector<double> cost, error;
};

Front paretoFront(const std::vector<KnapsackCandidate> &candidates) {
  std::vector<int> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  // Error ascending, then cost ascending, then index: deterministic.
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (candidates[a].error != candidates[b].error)
      return candidates[a].error < candidates[b].error;
    if (candidates[a].cost != candidates[b].cost)
      return candidates[a].cost < candidates[b].cost;
    return a < b;
  });
  Front front;
  for (int i : order) {
    if (!front.cost.empty() && candidates[i].cost >= front.cost.back())
      continue; // More error and no cheaper: dominated.
    front.index.push_back(i);
    front.cost.push_back(candidates[i].cost);
    front.error.push_back(candidates[i].error);
  }
  return front;
}

/// A hull segment of one group: `errorStep` more error buys `costStep` less
/// cost.
struct Segment {
  int group;
  double errorStep, costStep;
  int to; // The front position the segment moves its group to.
  size_t position = 0;
  double rate() const { return costStep / errorStep; }
};

/// Lower convex hull segments of a front (points sorted by error).
void hullSegments(const Front &f, int group, std::vector<Segment> &out) {
  std::vector<int> hull = {0};
  for (int i = 1, e = f.cost.size(); i < e; ++i) {
    while (hull.size() >= 2) {
      int a = hull[hull.size() - 2], b = hull.back();
      // Drop b if it lies on or above the chord from a to i.
      double cross = (f.error[b] - f.error[a]) * (f.cost[i] - f.cost[a]) -
                     (f.cost[b] - f.cost[a]) * (f.error[i] - f.error[a]);
      if (cross > 0)
        break;
      hull.pop_back();
    }
    hull.push_back(i);
  }
  for (size_t k = 1; k < hull.size(); ++k) {
    int a = hull[k - 1], b = hull[k];
    // Errors strictly increase along a Pareto front, so errorStep > 0.
    out.push_back({group, f.error[b] - f.error[a], f.cost[a] - f.cost[b], b});
  }
}

class Solver {
public:
  Solver(const std::vector<std::vector<KnapsackCandidate>> &groups,
         double budget)
      : budget(budget) {
    int n = groups.size();
    for (int g = 0; g < n; ++g)
      fronts.push_back(paretoFront(groups[g]));
    prepare();
  }

  /// Reduces the fronts by reduced-cost fixing around `incumbent` (front
  /// positions per group) and re-prepares; keeps the incumbent's
  /// candidates.
  void reduce(const std::vector<int> &incumbent, double incumbentCost) {
    int n = fronts.size();
    double lambda = criticalRate();
    double lagrangian = -lambda * budget;
    std::vector<double> minValue(n);
    for (int g = 0; g < n; ++g) {
      minValue[g] = INFINITY;
      for (size_t k = 0; k < fronts[g].cost.size(); ++k)
        minValue[g] = std::min(minValue[g], fronts[g].cost[k] +
                                                 lambda * fronts[g].error[k]);
      lagrangian += minValue[g];
    }
    double gap = incumbentCost - lagrangian + slack(incumbentCost);
    for (int g = 0; g < n; ++g) {
      Front kept;
      for (size_t k = 0; k < fronts[g].cost.size(); ++k) {
        double reduced =
            fronts[g].cost[k] + lambda * fronts[g].error[k] - minValue[g];
        if (reduced > gap && static_cast<int>(k) != incumbent[g])
          continue;
        if (static_cast<int>(k) == incumbent[g])
          incumbentPosition.push_back(kept.cost.size());
        kept.index.push_back(fronts[g].index[k]);
        kept.cost.push_back(fronts[g].cost[k]);
        kept.error.push_back(fronts[g].error[k]);
      }
      fronts[g] = std::move(kept);
    }
    segments.clear();
    prepare();
    best = incumbentPosition;
    bestCost = incumbentCost;
  }

  /// A feasible plan from the relaxation: buy whole segments in rate order
  /// while they fit. Returns front positions, or empty if infeasible.
  std::vector<int> roundedRelaxation(double &cost) const {
    int n = fronts.size();
    std::vector<int> position(n, 0);
    std::vector<bool> stuck(n, false);
    double left = budget - minErrorFrom[0];
    if (left < -slack(budget))
      return {};
    for (const Segment &s : segments) {
      if (stuck[s.group])
        continue;
      if (s.errorStep > left) {
        stuck[s.group] = true; // Later segments of the group need this one.
        continue;
      }
      left -= s.errorStep;
      position[s.group] = s.to;
    }
    cost = 0;
    for (int g = 0; g < n; ++g)
      cost += fronts[g].cost[position[g]];
    return position;
  }

private:
  /// Builds branching order, hull segments and suffix sums for `fronts`.
  void prepare() {
    int n = fronts.size();
    // Branch on groups with the widest cost range first: big decisions
    // early tighten the incumbent fastest.
    order.resize(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return range(a) != range(b) ? range(a) > range(b) : a < b;
    });
    depthOf.resize(n);
    for (int d = 0; d < n; ++d)
      depthOf[order[d]] = d;
    for (int g = 0; g < n; ++g)
      hullSegments(fronts[g], g, segments);
    // Best rate first; ties by group, then hull order, so the bound is the
    // same every run.
    for (size_t i = 0; i < segments.size(); ++i)
      segments[i].position = i;
    std::sort(segments.begin(), segments.end(),
              [](const Segment &a, const Segment &b) {
                if (a.rate() != b.rate())
                  return a.rate() > b.rate();
                return a.position < b.position;
              });
    // Suffix sums over the branching order: least error and its cost.
    minErrorFrom.assign(n + 1, 0);
    maxCostFrom.assign(n + 1, 0);
    for (int d = n - 1; d >= 0; --d) {
      const Front &f = fronts[order[d]];
      minErrorFrom[d] = minErrorFrom[d + 1] + f.error.front();
      maxCostFrom[d] = maxCostFrom[d + 1] + f.cost.front();
    }
    chosen.assign(n, 0);
  }

  /// The rate of the segment the relaxation buys fractionally (0 when the
  /// budget covers every segment): the optimal Lagrange multiplier.
  double criticalRate() const {
    double left = budget - minErrorFrom[0];
    for (const Segment &s : segments) {
      if (s.errorStep > left)
        return s.rate();
      left -= s.errorStep;
    }
    return 0;
  }

public:
  std::optional<KnapsackSolution> solve() {
    if (minErrorFrom[0] > budget + slack(budget))
      return std::nullopt;
    double incumbentCost;
    std::vector<int> incumbent = roundedRelaxation(incumbentCost);
    if (!incumbent.empty())
      reduce(incumbent, incumbentCost);
    search(0, 0.0, 0.0);
    KnapsackSolution solution;
    solution.nodes = nodes;
    for (int g = 0, e = fronts.size(); g < e; ++g) {
      int k = best[g];
      solution.choice.push_back(fronts[g].index[k]);
      solution.cost += fronts[g].cost[k];
      solution.error += fronts[g].error[k];
    }
    return solution;
  }

private:
  double range(int g) const {
    return fronts[g].cost.front() - fronts[g].cost.back();
  }
  static double slack(double x) { return 1e-12 * std::max(1.0, std::fabs(x)); }

  /// Linear-relaxation lower bound on the cost of groups at depths >= d with
  /// `remaining` error budget.
  double bound(int d, double remaining) const {
    double value = maxCostFrom[d];
    double left = remaining - minErrorFrom[d];
    for (const Segment &s : segments) {
      if (depthOf[s.group] < d)
        continue;
      if (s.errorStep <= left) {
        value -= s.costStep;
        left -= s.errorStep;
      } else {
        value -= s.costStep * (left / s.errorStep);
        break;
      }
    }
    return value;
  }

  void search(int d, double cost, double error) {
    ++nodes;
    int n = fronts.size();
    if (d == n) {
      if (best.empty() || cost < bestCost) {
        bestCost = cost;
        best = chosen;
      }
      return;
    }
    if (!best.empty() &&
        cost + bound(d, budget - error) >= bestCost - slack(bestCost))
      return;
    int g = order[d];
    const Front &f = fronts[g];
    // Cheapest first: the front is sorted by error, so by cost descending.
    for (int k = f.cost.size() - 1; k >= 0; --k) {
      double newError = error + f.error[k];
      if (newError + minErrorFrom[d + 1] > budget + slack(budget))
        continue;
      chosen[g] = k;
      search(d + 1, cost + f.cost[k], newError);
    }
  }

  double budget;
  std::vector<Front> fronts;
  std::vector<int> order, depthOf;
  std::vector<Segment> segments;
  std::vector<double> minErrorFrom, maxCostFrom;
  std::vector<int> chosen, best, incumbentPosition;
  double bestCost = 0;
  int64_t nodes = 0;
};

} // namespace

std::optional<KnapsackSolution> mixtile::solveMultipleChoiceKnapsack(
    const std::vector<std::vector<KnapsackCandidate>> &groups, double budget) {
  for ([[maybe_unused]] const auto &group : groups)
    assert(!group.empty() && "every group needs a candidate");
  return Solver(groups, budget).solve();
}

std::optional<double> mixtile::enumerateMultipleChoiceKnapsack(
    const std::vector<std::vector<KnapsackCandidate>> &groups, double budget) {
  std::optional<double> best;
  std::vector<size_t> pick(groups.size(), 0);
  while (true) {
    double cost = 0, error = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      cost += groups[g][pick[g]].cost;
      error += groups[g][pick[g]].error;
    }
    if (error <= budget && (!best || cost < *best))
      best = cost;
    // Advance the mixed-radix counter over all plans.
    size_t g = 0;
    while (g < groups.size() && ++pick[g] == groups[g].size())
      pick[g++] = 0;
    if (g == groups.size())
      return best;
  }
}
