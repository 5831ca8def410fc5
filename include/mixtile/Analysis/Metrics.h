//===- Metrics.h - accuracy metrics between two runs ------------*- C++ -*-===//
//
// How far a quantized model's next-token distributions are from the FP32
// reference: the metrics accuracy budgets are stated in. Plain C++17.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_ANALYSIS_METRICS_H
#define MIXTILE_ANALYSIS_METRICS_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mixtile {

/// Sums over positions; combine runs with `add`, read means with the
/// accessors.
struct LogitComparison {
  int64_t positions = 0;
  /// Sum over positions of KL(reference || candidate) in nats.
  double klSum = 0;
  /// Positions whose arg-max agrees.
  int64_t top1Agreements = 0;
  /// Sums of squared logit differences and squared reference logits.
  double squaredErrorSum = 0, squaredReferenceSum = 0;
  /// The largest absolute logit difference.
  double maxAbsDifference = 0;
  /// Next-token negative log-likelihoods (nats) of the actual tokens under
  /// each run, summed over `predictions` positions (only when the tokens
  /// were given to compareLogits).
  double referenceNLLSum = 0, candidateNLLSum = 0;
  int64_t predictions = 0;

  double meanKL() const { return positions ? klSum / positions : 0; }
  double top1Agreement() const {
    return positions ? double(top1Agreements) / positions : 1;
  }
  /// ||candidate - reference|| / ||reference|| over all logits.
  double relativeL2() const;
  /// Perplexity of the candidate over that of the reference, on the actual
  /// next tokens: exp(mean candidate NLL - mean reference NLL); 1 without
  /// tokens.
  double perplexityRatio() const;
  void add(const LogitComparison &other);
};

/// Compares row-major [positions, vocab] logits of a candidate run with the
/// reference run. KL is computed in double from log-softmax of each row.
/// With `tokens` (the `positions` ids the logits were computed for), the
/// next-token NLL of tokens[1..] is summed for both runs as well.
LogitComparison compareLogits(const float *reference, const float *candidate,
                              int64_t positions, int64_t vocab,
                              const int32_t *tokens = nullptr);

/// Mean negative log-likelihood (nats/token) of `tokens[1..]` under the
/// logits of positions [0, n-1): the sum and the count of predictions.
struct NLLSum {
  double sum = 0;
  int64_t count = 0;
  double mean() const { return count ? sum / count : 0; }
};
NLLSum nextTokenNLL(const float *logits, const int32_t *tokens, int64_t n,
                    int64_t vocab);

} // namespace mixtile

#endif // MIXTILE_ANALYSIS_METRICS_H
