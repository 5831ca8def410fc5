//===- Metrics.cpp - accuracy metrics between two runs --------------------===//
//
// KL divergence, top-1 agreement, relative L2 and next-token NLL.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/Metrics.h"

#include <algorithm>
#include <cmath>

using namespace mixtile;

/// Log-softmax of one row, in double.
static void logSoftmax(const float *row, int64_t vocab,
                       std::vector<double> &out) {
  double max = *std::max_element(row, row + vocab), sum = 0;
  for (int64_t v = 0; v < vocab; ++v)
    sum += std::exp(double(row[v]) - max);
  double logSum = std::log(sum);
  out.resize(vocab);
  for (int64_t v = 0; v < vocab; ++v)
    out[v] = double(row[v]) - max - logSum;
}

double LogitComparison::relativeL2() const {
  return squaredReferenceSum > 0
             ? std::sqrt(squaredErrorSum / squaredReferenceSum)
             : std::sqrt(squaredErrorSum);
}

double LogitComparison::perplexityRatio() const {
  return predictions
             ? std::exp((candidateNLLSum - referenceNLLSum) / predictions)
             : 1;
}

void LogitComparison::add(const LogitComparison &other) {
  referenceNLLSum += other.referenceNLLSum;
  candidateNLLSum += other.candidateNLLSum;
  predictions += other.predictions;
  positions += other.positions;
  klSum += other.klSum;
  top1Agreements += other.top1Agreements;
  squaredErrorSum += other.squaredErrorSum;
  squaredReferenceSum += other.squaredReferenceSum;
  maxAbsDifference = std::max(maxAbsDifference, other.maxAbsDifference);
}

LogitComparison mixtile::compareLogits(const float *reference,
                                       const float *candidate,
                                       int64_t positions, int64_t vocab,
                                       const int32_t *tokens) {
  LogitComparison result;
  result.positions = positions;
  std::vector<double> p, q;
  for (int64_t i = 0; i < positions; ++i) {
    const float *ref = reference + i * vocab;
    const float *got = candidate + i * vocab;
    logSoftmax(ref, vocab, p);
    logSoftmax(got, vocab, q);
    for (int64_t v = 0; v < vocab; ++v) {
      result.klSum += std::exp(p[v]) * (p[v] - q[v]);
      double diff = double(got[v]) - ref[v];
      result.squaredErrorSum += diff * diff;
      result.squaredReferenceSum += double(ref[v]) * ref[v];
      result.maxAbsDifference =
          std::max(result.maxAbsDifference, std::fabs(diff));
    }
    result.top1Agreements += std::max_element(ref, ref + vocab) - ref ==
                             std::max_element(got, got + vocab) - got;
    if (tokens && i + 1 < positions) {
      result.referenceNLLSum -= p[tokens[i + 1]];
      result.candidateNLLSum -= q[tokens[i + 1]];
      ++result.predictions;
    }
  }
  return result;
}

NLLSum mixtile::nextTokenNLL(const float *logits, const int32_t *tokens,
                             int64_t n, int64_t vocab) {
  NLLSum nll;
  std::vector<double> logProbs;
  for (int64_t i = 0; i + 1 < n; ++i) {
    logSoftmax(logits + i * vocab, vocab, logProbs);
    nll.sum -= logProbs[tokens[i + 1]];
    ++nll.count;
  }
  return nll;
}
