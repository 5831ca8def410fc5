//===- SolverBench.cpp - precision-plan solver speed ----------------------===//
//
// Times the exact multiple-choice knapsack solver on plan-shaped instances
// (1,000 layers x 8 formats, cost falling and error rising with precision),
// and, on an instance small enough to enumerate, next to brute force in the
// same run.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/MultipleChoiceKnapsack.h"

#include <chrono>
#include <cstdio>
#include <random>

using namespace mixtile;
using Groups = std::vector<std::vector<KnapsackCandidate>>;

static double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Layers with 8 formats: cost halves roughly per step down in precision,
/// error grows roughly 3x per step, both with per-layer noise.
static Groups planInstance(int layers, std::mt19937 &rng) {
  std::uniform_real_distribution<double> noise(0.7, 1.3);
  std::lognormal_distribution<double> sensitivity(0.0, 1.0);
  Groups groups(layers);
  for (auto &group : groups) {
    double s = sensitivity(rng), size = noise(rng);
    for (int f = 0; f < 8; ++f)
      group.push_back({size * std::pow(0.7, f) * noise(rng),
                       f == 0 ? 0.0 : s * 1e-4 * std::pow(3.0, f) * noise(rng)});
  }
  return groups;
}

static double maxError(const Groups &groups) {
  double sum = 0;
  for (const auto &g : groups) {
    double worst = 0;
    for (const auto &c : g)
      worst = std::max(worst, c.error);
    sum += worst;
  }
  return sum;
}

int main() {
  std::mt19937 rng(1);
  std::printf("%-28s %10s %12s %10s\n", "instance", "budget", "time (ms)",
              "nodes");
  for (double fraction : {0.01, 0.05, 0.2}) {
    Groups groups = planInstance(1000, rng);
    double budget = fraction * maxError(groups);
    double best = 1e30;
    int64_t nodes = 0;
    for (int rep = 0; rep < 3; ++rep) {
      double start = now();
      auto plan = solveMultipleChoiceKnapsack(groups, budget);
      best = std::min(best, now() - start);
      nodes = plan ? plan->nodes : 0;
    }
    std::printf("%-28s %9.0f%% %12.2f %10lld\n", "1000 layers x 8 formats",
                100 * fraction, 1e3 * best, static_cast<long long>(nodes));
  }
  Groups small = planInstance(8, rng);
  double budget = 0.05 * maxError(small);
  double start = now();
  auto plan = solveMultipleChoiceKnapsack(small, budget);
  double solver = now() - start;
  start = now();
  double exhaustive =
      enumerateMultipleChoiceKnapsack(small, budget).value_or(INFINITY);
  double brute = now() - start;
  std::printf("8 layers x 8 formats: solver %.3f ms, brute force (16.8M "
              "plans) %.1f ms, %.0fx faster, same cost: %s\n",
              1e3 * solver, 1e3 * brute, brute / solver,
              plan && std::fabs(plan->cost - exhaustive) < 1e-9 ? "yes" : "NO");
  return 0;
}
