//===- Kernels.h - FP32 reference kernels -----------------------*- C++ -*-===//
//
// The arithmetic of the reference evaluator. Every kernel fixes its
// accumulation order (documented per function) so that results do not depend
// on blocking or on the number of threads, and other back ends can reproduce
// them bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_EVALUATOR_KERNELS_H
#define MIXTILE_EVALUATOR_KERNELS_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace llvm {
class ThreadPoolInterface;
} // namespace llvm

namespace mixtile::kernels {

/// A [N, K] weight matrix repacked for the GEMM kernel: column panels of
/// kPanelWidth outputs, each stored k-major ([K][kPanelWidth]), zero padded.
class PackedMatrix {
public:
  static constexpr int64_t kPanelWidth = 16;

  PackedMatrix() = default;
  /// Packs row-major `weights` of shape [rows, cols] (rows = N outputs).
  PackedMatrix(const float *weights, int64_t rows, int64_t cols);

  int64_t rows() const { return numRows; }
  int64_t cols() const { return numCols; }
  int64_t numPanels() const {
    return (numRows + kPanelWidth - 1) / kPanelWidth;
  }
  const float *panel(int64_t p) const {
    return data.data() + p * numCols * kPanelWidth;
  }

private:
  int64_t numRows = 0, numCols = 0;
  std::vector<float> data;
};

/// y[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n] after the sum), for x of shape
/// [M, K] (row-major) and y of shape [M, N]. Each output is accumulated from
/// 0 in increasing k with one fused multiply-add per term.
void linear(const float *x, int64_t m, const PackedMatrix &w, const float *bias,
            float *y, llvm::ThreadPoolInterface *pool);

/// sum_i a[i] * b[i] accumulated from 0 in increasing i with fused
/// multiply-adds.
float dot(const float *a, const float *b, int64_t n);

/// y[i] = fma(a, x[i], y[i]) for i in [0, n).
void axpy(float a, const float *x, float *y, int64_t n);

/// One query row of one attention head over keys [0, keys): score[t] =
/// (sum_d q[d] * k[t][d], FMAs in increasing d from 0) * scale, softmax, then
/// out[d] = sum_t score[t] * v[t][d], FMAs in increasing t from 0. The keys
/// come transposed (k[t][d] at kT[d * ldk + t]); v[t] is at v + t * vStride.
/// `scores` holds `keys` floats of scratch.
void attendRow(const float *q, const float *kT, int64_t ldk, const float *v,
               int64_t vStride, int64_t keys, int64_t hd, float scale,
               float *scores, float *out);

/// The rotary angle of feature pair `pair` of a head of `headDim` features
/// at `position` (llama2.c's formula, in f32): position * theta^(-2 pair /
/// headDim). Rope rotates the pair by its cos and sin.
float ropeAngle(int64_t position, int64_t pair, int64_t headDim, float theta);

/// In-place softmax of `x[0, n)`: subtract the max, exp, divide by the sum
/// accumulated in increasing index order.
void softmax(float *x, int64_t n);

/// RMSNorm of one row: out[j] = w[j] * (x[j] * r) with
/// r = 1 / sqrt(sum_j x[j]^2 / n + eps), the sum of squares accumulated with
/// fused multiply-adds in increasing j.
void rmsNormRow(const float *x, const float *w, float eps, int64_t n,
                float *out);

/// LayerNorm of one row with biased variance; mean and variance are sums in
/// increasing j.
void layerNormRow(const float *x, const float *w, const float *b, float eps,
                  int64_t n, float *out);

/// Whether this CPU runs the vector kernels (they need AVX2 and FMA).
bool cpuIsSupported();

} // namespace mixtile::kernels

#endif // MIXTILE_EVALUATOR_KERNELS_H
