//===- Kernels.cpp - FP32 reference kernels -------------------------------===//
//
// Cache-blocked, threaded kernels with a fixed accumulation order. This file
// is compiled for AVX2 + FMA; std::fma becomes one vfmadd per term, so the
// order below is exactly what executes.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Evaluator/Kernels.h"
#include "mixtile/Numerics/Elementary.h"

#include "llvm/Support/ThreadPool.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mixtile::kernels;

PackedMatrix::PackedMatrix(const float *weights, int64_t rows, int64_t cols)
    : numRows(rows), numCols(cols) {
  data.assign(numPanels() * cols * kPanelWidth, 0.0f);
  for (int64_t n = 0; n < rows; ++n) {
    float *panelData = data.data() + (n / kPanelWidth) * cols * kPanelWidth;
    int64_t lane = n % kPanelWidth;
    for (int64_t k = 0; k < cols; ++k)
      panelData[k * kPanelWidth + lane] = weights[n * cols + k];
  }
}

namespace {
constexpr int64_t kW = PackedMatrix::kPanelWidth;
constexpr int64_t kRowBlock = 6;

/// Accumulates `Rows` rows of x against one panel: acc[r][j] (two 8-lane
/// halves per row) gets fma(x[r][kk], w[kk][j], acc) for kk = 0..k-1.
template <int64_t Rows>
void panelKernel(const float *x, int64_t k, const float *panel,
                 float acc[Rows][kW]) {
  static_assert(kW == 16, "the kernel holds a panel row in two AVX registers");
  __m256 lo[Rows], hi[Rows];
  for (int64_t r = 0; r < Rows; ++r)
    lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t kk = 0; kk < k; ++kk) {
    __m256 w0 = _mm256_loadu_ps(panel + kk * kW);
    __m256 w1 = _mm256_loadu_ps(panel + kk * kW + 8);
    for (int64_t r = 0; r < Rows; ++r) {
      __m256 xv = _mm256_broadcast_ss(x + r * k + kk);
      lo[r] = _mm256_fmadd_ps(xv, w0, lo[r]);
      hi[r] = _mm256_fmadd_ps(xv, w1, hi[r]);
    }
  }
  for (int64_t r = 0; r < Rows; ++r) {
    _mm256_storeu_ps(acc[r], lo[r]);
    _mm256_storeu_ps(acc[r] + 8, hi[r]);
  }
}

template <int64_t Rows>
void storePanel(float acc[Rows][kW], int64_t n0, int64_t n, const float *bias,
                float *y, int64_t ldy) {
  int64_t width = std::min<int64_t>(kW, n - n0);
  for (int64_t r = 0; r < Rows; ++r)
    for (int64_t j = 0; j < width; ++j)
      y[r * ldy + n0 + j] = acc[r][j] + (bias ? bias[n0 + j] : 0.0f);
}

/// All rows of x against one panel.
void linearPanel(const float *x, int64_t m, const PackedMatrix &w, int64_t p,
                 const float *bias, float *y) {
  int64_t k = w.cols(), n = w.rows(), n0 = p * kW;
  int64_t r = 0;
  for (; r + kRowBlock <= m; r += kRowBlock) {
    float acc[kRowBlock][kW];
    panelKernel<kRowBlock>(x + r * k, k, w.panel(p), acc);
    storePanel<kRowBlock>(acc, n0, n, bias, y + r * n, n);
  }
  for (; r < m; ++r) {
    float acc[1][kW];
    panelKernel<1>(x + r * k, k, w.panel(p), acc);
    storePanel<1>(acc, n0, n, bias, y + r * n, n);
  }
}
} // namespace

void mixtile::kernels::linear(const float *x, int64_t m, const PackedMatrix &w,
                              const float *bias, float *y,
                              llvm::ThreadPoolInterface *pool) {
  int64_t panels = w.numPanels();
  // Tasks are contiguous panel ranges; each output is computed by exactly one
  // task, so the result does not depend on how the work is split.
  int64_t tasks =
      pool ? std::min<int64_t>(panels, 4 * pool->getMaxConcurrency()) : 1;
  if (tasks <= 1 || m * w.rows() * w.cols() < (1 << 16)) {
    for (int64_t p = 0; p < panels; ++p)
      linearPanel(x, m, w, p, bias, y);
    return;
  }
  llvm::ThreadPoolTaskGroup group(*pool);
  for (int64_t t = 0; t < tasks; ++t) {
    int64_t begin = panels * t / tasks, end = panels * (t + 1) / tasks;
    group.async([=, &w] {
      for (int64_t p = begin; p < end; ++p)
        linearPanel(x, m, w, p, bias, y);
    });
  }
  group.wait();
}

float mixtile::kernels::dot(const float *a, const float *b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    sum = std::fma(a[i], b[i], sum);
  return sum;
}

void mixtile::kernels::axpy(float a, const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = std::fma(a, x[i], y[i]);
}

void mixtile::kernels::attendRow(const float *q, const float *kT, int64_t ldk,
                                 const float *v, int64_t vStride, int64_t keys,
                                 int64_t hd, float scale, float *scores,
                                 float *out) {
  // Heads are often only a few features wide, so a score is a short serial
  // FMA chain: run kLanes keys' chains side by side (each still ascending
  // over features from 0, as dot() would), reading the transposed keys.
  constexpr int64_t kLanes = 8;
  int64_t t = 0;
  for (; t + kLanes <= keys; t += kLanes) {
    float acc[kLanes] = {};
    for (int64_t d = 0; d < hd; ++d)
      for (int64_t j = 0; j < kLanes; ++j)
        acc[j] = std::fma(q[d], kT[d * ldk + t + j], acc[j]);
    for (int64_t j = 0; j < kLanes; ++j)
      scores[t + j] = acc[j] * scale;
  }
  for (; t < keys; ++t) {
    float sum = 0.0f;
    for (int64_t d = 0; d < hd; ++d)
      sum = std::fma(q[d], kT[d * ldk + t], sum);
    scores[t] = sum * scale;
  }
  softmax(scores, keys);
  // out[d] accumulates over keys in increasing t (as axpy would), kLanes
  // features at a time so that the partial sums stay in registers.
  int64_t d = 0;
  for (; d + kLanes <= hd; d += kLanes) {
    float acc[kLanes] = {};
    for (int64_t t = 0; t < keys; ++t)
      for (int64_t j = 0; j < kLanes; ++j)
        acc[j] = std::fma(scores[t], v[t * vStride + d + j], acc[j]);
    std::copy_n(acc, kLanes, out + d);
  }
  if (d < hd) {
    std::fill(out + d, out + hd, 0.0f);
    for (int64_t t = 0; t < keys; ++t)
      axpy(scores[t], v + t * vStride + d, out + d, hd - d);
  }
}

float mixtile::kernels::ropeAngle(int64_t position, int64_t pair,
                                  int64_t headDim, float theta) {
  float frequency = 1.0f / std::pow(theta, static_cast<float>(2 * pair) /
                                               static_cast<float>(headDim));
  return static_cast<float>(position) * frequency;
}

void mixtile::kernels::softmax(float *x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i)
    max = std::max(max, x[i]);
  for (int64_t i = 0; i < n; ++i)
    x[i] -= max;
  numerics::exp(x, static_cast<size_t>(n));
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    sum += x[i];
  for (int64_t i = 0; i < n; ++i)
    x[i] /= sum;
}

void mixtile::kernels::rmsNormRow(const float *x, const float *w, float eps,
                                  int64_t n, float *out) {
  float squares = 0.0f;
  for (int64_t j = 0; j < n; ++j)
    squares = std::fma(x[j], x[j], squares);
  float r = 1.0f / std::sqrt(squares / static_cast<float>(n) + eps);
  for (int64_t j = 0; j < n; ++j)
    out[j] = w[j] * (x[j] * r);
}

void mixtile::kernels::layerNormRow(const float *x, const float *w,
                                    const float *b, float eps, int64_t n,
                                    float *out) {
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j)
    sum += x[j];
  float mean = sum / static_cast<float>(n);
  float var = 0.0f;
  for (int64_t j = 0; j < n; ++j)
    var = std::fma(x[j] - mean, x[j] - mean, var);
  float r = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
  for (int64_t j = 0; j < n; ++j)
    out[j] = (x[j] - mean) * r * w[j] + b[j];
}

bool mixtile::kernels::cpuIsSupported() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
