//===- CpuBench.cpp - the CPU back end next to this machine's limits ------===//
//
// Measures, in one run and on every core, this machine's limits and the
// kernels mixtile-cpu-pipeline generates, and prints each kernel as a ratio
// of its peers:
//
//   - FP32 FMA peak: a tight loop of independent AVX-512 FMAs;
//   - BF16 dot peak: the same with vdpbf16ps (64 flops per instruction);
//   - fp4 lookup bound: the exact MXFP4 kernel's k step (shifts, vpermd
//     table lookups, FMAs) without its loads, in GB/s of fp4 codes;
//   - DRAM read bandwidth: a streaming read of a 1 GiB buffer, measured
//     again between the passes of every GEMV and before every decode;
//   - f32 GEMM 1024^3 and 4096^3 vs OpenBLAS sgemm and the FMA peak;
//   - GEMM with BF16 weights vs the dot peak (exact mode: the evaluator's
//     order, f32 FMAs on decoded weights), and with BF16 weights and
//     activations in numerics=fast (vdpbf16ps where the pipeline picks
//     it: the same FMAs, subnormals flushed; else two FMAs per pair);
//   - batch-1 GEMV (rows unknown at compile time, as the model takes
//     them) with BF16 / FP8 / MXFP4 weights (and f32) vs the DRAM
//     bandwidth, in weight bytes streamed (the weights of several matrices
//     exceed the L3, as a model's layers do);
//   - decode tokens/s of the synthetic ~100M Llama at each precision vs the
//     reference evaluator and the DRAM bound (weight bytes per token);
//   - decode over the whole context of a model of stories260K's shape (512
//     positions, where attention outweighs the linears) vs the evaluator;
//   - MXFP4 GEMVs and decode also with numerics=fast-products, BF16 GEMVs
//     (with BF16 activations, as the lowering passes them) and decode
//     also with numerics=fast.
//
//   - the same GEMVs on one cached matrix: the kernels' own ceiling;
//
//   mixtile-bench-cpu [--quick] [gemm] [gemv] [gemv-cache] [decode]
//
// --quick: GEMM 1024^3 only, 8 tokens; naming sections runs only those.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cblas.h>
#include <dlfcn.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

using namespace mlir;
using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

unsigned threadCount() {
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Runs `work(thread)` on every core at once; returns the wall time.
template <typename Work> double onAllCores(Work work) {
  std::vector<std::thread> threads;
  double start = now();
  for (unsigned t = 0; t < threadCount(); ++t)
    threads.emplace_back([&, t] { work(t); });
  for (std::thread &thread : threads)
    thread.join();
  return now() - start;
}

//===----------------------------------------------------------------------===//
// This machine's limits
//===----------------------------------------------------------------------===//

constexpr int kChains = 16;
volatile float sink;

/// 16 independent 16-lane FMA chains: enough to hide the FMA latency on
/// both FMA ports.
__attribute__((target("avx512f"))) float fmaLoop(int64_t iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i)
    sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

/// The same with vdpbf16ps: 16 lanes x 2 products + 2 adds per
/// instruction.
__attribute__((target("avx512f,avx512bf16"))) float
dotLoop(int64_t iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_ps(0.001f * i);
  __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80);
  __m512bh b = (__m512bh)_mm512_set1_epi16(0x3380);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i)
    sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

/// The exact fp4 kernel's k step without its loads: per 128 weights (one
/// 64-byte word of nibble lanes), 7 shifts, 8 vpermd lookups of a 16-entry
/// table and 8 FMAs into 8 accumulators. On Zen 4 the lookups and the FMAs
/// share the vector pipes: this is the one-row MXFP4 kernel's ceiling.
__attribute__((target("avx512f"))) float fp4LookupLoop(int64_t iterations) {
  __m512 acc[8];
  for (int i = 0; i < 8; ++i)
    acc[i] = _mm512_set1_ps(0.001f * i);
  // E2M1's values, as the kernels' table holds them.
  const __m512i table = _mm512_castps_si512(_mm512_set_ps(
      -6, -4, -3, -2, -1.5f, -1, -0.5f, -0.0f, 6, 4, 3, 2, 1.5f, 1, 0.5f, 0));
  const __m512 a = _mm512_set1_ps(1e-7f);
  __m512i word = _mm512_set1_epi32(0x12345678);
  for (int64_t it = 0; it < iterations; ++it) {
    // The word changes for all the compiler knows: every step decodes it.
    __asm__ volatile("" : "+v"(word));
    for (int j = 0; j < 8; ++j) {
      __m512i codes = j ? _mm512_srli_epi32(word, 4 * j) : word;
      __m512 weights =
          _mm512_castsi512_ps(_mm512_permutexvar_epi32(codes, table));
      acc[j] = _mm512_fmadd_ps(a, weights, acc[j]);
    }
  }
  __m512 sum = acc[0];
  for (int i = 1; i < 8; ++i)
    sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

/// GFLOP/s of every core running `loop` (best of 15 short runs: other
/// work on a shared machine only ever lowers a run's rate).
template <typename Loop> double peak(Loop loop, double flopsPerIteration) {
  const int64_t iterations = 2'000'000;
  double best = 1e30;
  for (int rep = 0; rep < 15; ++rep)
    best =
        std::min(best, onAllCores([&](unsigned) { sink = loop(iterations); }));
  return threadCount() * iterations * flopsPerIteration / best / 1e9;
}

/// Sums `n` floats with four independent vector accumulators.
__attribute__((target("avx512f"))) float streamSum(const float *data,
                                                   size_t n) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (size_t i = 0; i + 64 <= n; i += 64) {
    for (int j = 0; j < 4; ++j)
      _mm_prefetch(reinterpret_cast<const char *>(data + i + 16 * j) + 1024,
                   _MM_HINT_T0);
    for (int j = 0; j < 4; ++j)
      acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps(data + i + 16 * j));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]),
                                            _mm512_add_ps(acc[2], acc[3])));
}

/// Every core reading its share of a 1 GiB buffer (~30x the L3): the DRAM
/// read bandwidth, measured when asked. The VM's bandwidth drifts by up to
/// 2x within minutes, so each kernel is compared with passes of this
/// stream taken between its own.
class DramStream {
public:
  DramStream()
      : data(static_cast<float *>(std::aligned_alloc(64, kBytes))),
        share(kBytes / sizeof(float) / threadCount() / 64 * 64) {
    // Each thread touches (and so places) its own share first.
    onAllCores([&](unsigned t) {
      std::fill(data + t * share, data + (t + 1) * share, 1.0f);
    });
  }
  ~DramStream() { std::free(data); }

  /// GB/s of one pass.
  double once() const {
    double time = onAllCores(
        [&](unsigned t) { sink = streamSum(data + t * share, share); });
    return threadCount() * share * sizeof(float) / time / 1e9;
  }
  /// The best of `reps` passes.
  double best(int reps) const {
    double rate = 0;
    for (int rep = 0; rep < reps; ++rep)
      rate = std::max(rate, once());
    return rate;
  }

private:
  static constexpr size_t kBytes = size_t(1) << 30;
  float *data;
  size_t share;
};

//===----------------------------------------------------------------------===//
// Generated kernels
//===----------------------------------------------------------------------===//

/// A memref descriptor of rank <= 2, as MLIR's C interface passes it.
struct Descriptor {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};

Descriptor describe(void *data, int64_t rows, int64_t cols) {
  return {data, data, 0, {rows, cols}, {cols, 1}};
}

/// A linear kernel y[M, N] = x[M, K] w^T compiled by mixtile-cpu-pipeline
/// from buildLinearKernel, loaded from its own library.
class LinearKernel {
public:
  LinearKernel(MLIRContext &ctx, int64_t m, int64_t k, int64_t n,
               const std::optional<nx::QuantScheme> &scheme,
               const std::string &dir,
               cpu::CpuNumerics numerics = cpu::CpuNumerics::Exact,
               bool bf16Activations = false, bool dynamicRows = false);
  ~LinearKernel() {
    if (handle)
      dlclose(handle);
  }

  /// Runs y = x w^T with `w` quantized (K-major) as the pack holds it
  /// (`fixUpFlag`: for FP8 codes, whether some is a NaN code); `x` holds
  /// f32 values or, with bf16Activations, bf16 codes.
  void run(void *x, void *codes, void *scales, float *tensorScale,
           int32_t *fixUpFlag, float *y) const;

  /// The shapes of the weight's arrays the kernel takes.
  SmallVector<int64_t, 2> dataShape, scaleShape;

private:
  int64_t m, k, n;
  std::optional<nx::QuantScheme> scheme;
  void *handle = nullptr;
  void *function = nullptr;
};

LinearKernel::LinearKernel(MLIRContext &ctx, int64_t m, int64_t k, int64_t n,
                           const std::optional<nx::QuantScheme> &scheme,
                           const std::string &dir, cpu::CpuNumerics numerics,
                           bool bf16Activations, bool dynamicRows)
    : m(m), k(k), n(n), scheme(scheme) {
  cpu::WeightEncoding encoding =
      cpu::getWeightEncoding(&ctx, {n, k}, scheme, /*kMajor=*/true);
  dataShape = encoding.data.shape;
  if (encoding.blockScales)
    scaleShape = encoding.blockScales->shape;
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  cpu::buildLinearKernelFunction(*module, "linear",
                                 dynamicRows ? ShapedType::kDynamic : m, k, n,
                                 scheme, bf16Activations);

  cpu::CpuLibraryOptions options;
  options.outputDir = dir;
  options.numerics = numerics;
  static int counter = 0;
  options.name = "linear" + std::to_string(counter++);
  llvm::Expected<std::string> library =
      cpu::compileKernelLibrary(*module, options);
  if (!library)
    llvm::report_fatal_error(llvm::toString(library.takeError()).c_str());
  handle = dlopen(library->c_str(), RTLD_NOW | RTLD_LOCAL);
  function = handle ? dlsym(handle, "_mlir_ciface_linear") : nullptr;
  if (!function)
    llvm::report_fatal_error("cannot load the generated linear kernel");
}

void LinearKernel::run(void *x, void *codes, void *scales, float *tensorScale,
                       int32_t *fixUpFlag, float *y) const {
  // The kernel's arguments, in buildLinearKernel's order.
  SmallVector<Descriptor, 6> args = {describe(x, m, k)};
  args.push_back(describe(codes, dataShape[0], dataShape[1]));
  if (scales)
    args.push_back(describe(scales, scaleShape[0], scaleShape[1]));
  if (tensorScale)
    args.push_back({tensorScale, tensorScale, 0, {1, 0}, {1, 0}});
  if (fixUpFlag)
    args.push_back({fixUpFlag, fixUpFlag, 0, {1, 0}, {1, 0}});
  args.push_back(describe(y, m, n));
  Descriptor *d = args.data();
  using D = Descriptor *;
  switch (args.size()) {
  case 3:
    return reinterpret_cast<void (*)(D, D, D)>(function)(d, d + 1, d + 2);
  case 4:
    return reinterpret_cast<void (*)(D, D, D, D)>(function)(d, d + 1, d + 2,
                                                            d + 3);
  case 5:
    return reinterpret_cast<void (*)(D, D, D, D, D)>(function)(d, d + 1, d + 2,
                                                               d + 3, d + 4);
  default:
    assert(args.size() == 6 && "at most six kernel arguments");
    return reinterpret_cast<void (*)(D, D, D, D, D, D)>(function)(
        d, d + 1, d + 2, d + 3, d + 4, d + 5);
  }
}

/// A [N, K] weight quantized under `scheme` (nullopt: f32) and stored
/// K-major as the pack stores it.
struct PackedMatrix {
  std::vector<uint8_t> codes, scales;
  bool hasTensorScale = false, hasFixUpFlag = false;
  float tensorScale = 1.0f;
  int32_t fixUpFlag = 0;

  size_t bytes() const { return codes.size() + scales.size(); }
};

PackedMatrix packMatrix(const std::vector<float> &w, int64_t n, int64_t k,
                        const std::optional<nx::QuantScheme> &scheme) {
  PackedMatrix packed;
  if (!scheme) {
    std::vector<float> t = cpu::packKMajorValues(w, n, k);
    packed.codes.resize(t.size() * sizeof(float));
    std::memcpy(packed.codes.data(), t.data(), packed.codes.size());
    return packed;
  }
  nx::QuantizedMatrix q = nx::quantize(w.data(), n, k, *scheme);
  packed.codes = cpu::packWeightCodes(q, /*kMajor=*/true);
  packed.scales = cpu::packBlockScales(q, /*kMajor=*/true);
  packed.hasTensorScale = nx::hasTensorScale(*scheme);
  packed.tensorScale = q.tensorScale;
  packed.hasFixUpFlag = cpu::getsFixUpFlag(scheme, /*kMajor=*/true);
  packed.fixUpFlag = cpu::needsFixUps(q) ? 1 : 0;
  return packed;
}

std::vector<float> randomMatrix(size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(count);
  for (float &v : values)
    v = normal(rng);
  return values;
}

/// Vectors 64-byte aligned, as the pack's arrays are.
template <typename T> struct Aligned {
  explicit Aligned(size_t count)
      : data(static_cast<T *>(
            std::aligned_alloc(64, (count * sizeof(T) + 63) / 64 * 64))),
        count(count) {}
  ~Aligned() { std::free(data); }
  T *data;
  size_t count;
};

template <typename Body> double bestOf(int reps, Body body) {
  double best = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    double start = now();
    body();
    best = std::min(best, now() - start);
  }
  return best;
}

/// max |a - b| / max |b| over two results.
double relativeDifference(const Aligned<float> &a, const Aligned<float> &b) {
  double maxDiff = 0, maxValue = 0;
  for (size_t i = 0; i < b.count; ++i) {
    maxDiff = std::max(maxDiff, double(std::fabs(a.data[i] - b.data[i])));
    maxValue = std::max(maxValue, double(std::fabs(b.data[i])));
  }
  return maxDiff / maxValue;
}

/// The FMA and dot peaks: the best rates of every core seen so far in this
/// run, measured again right before each GEMM is timed (a vCPU that is
/// not running for a moment can halve one measurement).
struct Peaks {
  double fma = 0, dot = 0;
  /// GB/s of fp4 codes (64 bytes per step) the exact kernel's instruction
  /// mix decodes and multiplies on every core (fp4LookupLoop).
  double fp4Lookup = 0;
  void refresh() {
    fma = std::max(fma, peak(fmaLoop, kChains * 16 * 2));
    dot = std::max(dot, peak(dotLoop, kChains * 16 * 4));
    fp4Lookup = std::max(fp4Lookup, peak(fp4LookupLoop, 64));
  }
};

void benchGemm(MLIRContext &ctx, const std::string &dir, int64_t size,
               Peaks &peaks) {
  int64_t m = size, n = size, k = size;
  std::vector<float> a = randomMatrix(m * k, 1), w = randomMatrix(n * k, 2);
  Aligned<float> x(m * k), yOurs(m * n), yBlas(m * n);
  std::copy(a.begin(), a.end(), x.data);
  double flops = 2.0 * m * n * k;
  int reps = size <= 1024 ? 10 : 3;

  PackedMatrix f32 = packMatrix(w, n, k, std::nullopt);
  Aligned<uint8_t> wf32(f32.codes.size());
  std::copy(f32.codes.begin(), f32.codes.end(), wf32.data);
  LinearKernel kernel(ctx, m, k, n, std::nullopt, dir);
  peaks.refresh();
  double ours = bestOf(reps, [&] {
    kernel.run(x.data, wf32.data, nullptr, nullptr, nullptr, yOurs.data);
  });
  // OpenBLAS on the [N, K] weights: y = x * w^T.
  Aligned<float> wBlas(n * k);
  std::copy(w.begin(), w.end(), wBlas.data);
  double blas = bestOf(reps, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x.data,
                k, wBlas.data, k, 0.0f, yBlas.data, n);
  });
  double oursGflops = flops / ours / 1e9, blasGflops = flops / blas / 1e9;
  llvm::outs() << llvm::formatv(
      "f32 GEMM {0}^3: mixtile {1,7:F1} GFLOP/s ({2,5:F1}% of FMA peak), "
      "OpenBLAS {3,7:F1} GFLOP/s ({4,5:F1}%): {5:F2}x OpenBLAS "
      "(max |diff| / max |y| = {6:E1}; FMA peak {7:F1})\n",
      size, oursGflops, 100 * oursGflops / peaks.fma, blasGflops,
      100 * blasGflops / peaks.fma, blas / ours,
      relativeDifference(yOurs, yBlas), peaks.fma);
  llvm::outs().flush();

  // BF16 weights, exact mode: decoded in the kernel, f32 FMAs.
  auto bf16 = nx::parseQuantScheme("bf16");
  PackedMatrix packed = packMatrix(w, n, k, bf16);
  Aligned<uint8_t> wbf16(packed.codes.size());
  std::copy(packed.codes.begin(), packed.codes.end(), wbf16.data);
  LinearKernel bf16Kernel(ctx, m, k, n, bf16, dir);
  peaks.refresh();
  double bf16Time = bestOf(reps, [&] {
    bf16Kernel.run(x.data, wbf16.data, nullptr, nullptr, nullptr, yOurs.data);
  });
  double bf16Gflops = flops / bf16Time / 1e9;
  llvm::outs() << llvm::formatv(
      "BF16-weight GEMM {0}^3 (exact): mixtile {1,7:F1} GFLOP/s = {2,5:F1}% "
      "of the BF16 dot peak, {3,5:F1}% of the FMA peak (dot peak {4:F1})\n",
      size, bf16Gflops, 100 * bf16Gflops / peaks.dot,
      100 * bf16Gflops / peaks.fma, peaks.dot);
  llvm::outs().flush();

  // BF16 weights and activations (bf16 codes, which the kernel function
  // passes as pairs, as the lowering passes BF16 activations of BF16
  // weights), fast mode: vdpbf16ps on the pairs of k both are stored in
  // where bf16-dot=auto picks it (else two FMAs per pair).
  // The peer for its result is OpenBLAS on the same values rounded to bf16.
  Aligned<uint16_t> xCodes(m * k);
  Aligned<float> xRounded(m * k), wRounded(n * k);
  for (int64_t i = 0; i < m * k; ++i) {
    xCodes.data[i] = nx::encodeBF16(a[i], nx::Overflow::NonSaturating);
    xRounded.data[i] = nx::roundToBF16(a[i], nx::Overflow::NonSaturating);
  }
  for (int64_t i = 0; i < n * k; ++i)
    wRounded.data[i] = nx::roundToBF16(w[i], nx::Overflow::NonSaturating);
  LinearKernel dotKernel(ctx, m, k, n, bf16, dir, cpu::CpuNumerics::Fast,
                         /*bf16Activations=*/true);
  peaks.refresh();
  double dotTime = bestOf(reps, [&] {
    dotKernel.run(xCodes.data, wbf16.data, nullptr, nullptr, nullptr,
                  yOurs.data);
  });
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f,
              xRounded.data, k, wRounded.data, k, 0.0f, yBlas.data, n);
  double dotGflops = flops / dotTime / 1e9;
  llvm::outs() << llvm::formatv(
      "BF16 GEMM {0}^3 (fast, bf16 activations): mixtile {1,7:F1} "
      "GFLOP/s = "
      "{2,5:F1}% of the BF16 dot peak (max |diff| / max |y| vs OpenBLAS on "
      "the rounded values = {3:E1}; dot peak {4:F1})\n",
      size, dotGflops, 100 * dotGflops / peaks.dot,
      relativeDifference(yOurs, yBlas), peaks.dot);
  llvm::outs().flush();
}

/// Batch-1 products 1 x 4096 x `n` with several weight formats over
/// matrices of at least `streamed` bytes in all (0: one matrix), each pass
/// reading them once: from DRAM when they exceed the L3; from the caches
/// when they fit, the kernels' own ceiling. `where` says which.
void benchGemv(MLIRContext &ctx, const std::string &dir, const DramStream &dram,
               const Peaks &peaks, int64_t n, size_t streamed,
               const char *where) {
  const int64_t k = 4096;
  std::vector<float> w = randomMatrix(n * k, 3);
  Aligned<float> x(k), y(n);
  Aligned<uint16_t> xCodes(k);
  std::vector<float> xs = randomMatrix(k, 4);
  std::copy(xs.begin(), xs.end(), x.data);
  for (int64_t i = 0; i < k; ++i)
    xCodes.data[i] = nx::encodeBF16(xs[i], nx::Overflow::NonSaturating);
  // Exact mode throughout; BF16 also with numerics=fast, whose kernel
  // takes BF16 activations in pairs (vdpbf16ps where bf16-dot=auto picks
  // it), and MXFP4 also with numerics=fast-products, whose kernel scales
  // each block's partial sum instead of every weight.
  const std::pair<const char *, cpu::CpuNumerics> variants[] = {
      {"f32", cpu::CpuNumerics::Exact},
      {"bf16", cpu::CpuNumerics::Exact},
      {"bf16", cpu::CpuNumerics::Fast},
      {"fp8-e4m3", cpu::CpuNumerics::Exact},
      {"mxfp4", cpu::CpuNumerics::Exact},
      {"mxfp4", cpu::CpuNumerics::FastProducts}};
  for (auto [name, numerics] : variants) {
    std::optional<nx::QuantScheme> scheme;
    if (std::string(name) != "f32")
      scheme = nx::parseQuantScheme(name);
    PackedMatrix packed = packMatrix(w, n, k, scheme);
    size_t layers =
        streamed ? std::max<size_t>(2, streamed / packed.bytes()) : 1;
    std::vector<std::unique_ptr<Aligned<uint8_t>>> codes, scales;
    for (size_t l = 0; l < layers; ++l) {
      codes.push_back(std::make_unique<Aligned<uint8_t>>(packed.codes.size()));
      std::copy(packed.codes.begin(), packed.codes.end(), codes.back()->data);
      scales.push_back(
          std::make_unique<Aligned<uint8_t>>(packed.scales.size()));
      std::copy(packed.scales.begin(), packed.scales.end(),
                scales.back()->data);
    }
    float tensorScale = packed.tensorScale;
    int32_t fixUpFlag = packed.fixUpFlag;
    bool bf16Activations =
        std::string(name) == "bf16" && numerics != cpu::CpuNumerics::Exact;
    // Rows unknown at compile time, as the model's linears take them: the
    // kernel a decode step runs.
    LinearKernel kernel(ctx, 1, k, n, scheme, dir, numerics, bf16Activations,
                        /*dynamicRows=*/true);
    void *input = bf16Activations ? static_cast<void *>(xCodes.data) : x.data;
    auto pass = [&] {
      for (size_t l = 0; l < layers; ++l)
        kernel.run(input, codes[l]->data,
                   packed.scales.empty() ? nullptr : scales[l]->data,
                   packed.hasTensorScale ? &tensorScale : nullptr,
                   packed.hasFixUpFlag ? &fixUpFlag : nullptr, y.data);
    };
    pass();
    // Rounds of a pass of the DRAM stream, then the kernel's passes: each
    // round's ratio compares the two at nearly the same moment, and the
    // median of the rounds' ratios discounts a round in which either
    // caught a burst or a stall of the shared host. A cached pass takes
    // ~0.1 ms, and a few could all include the other core's wake-up (seen
    // on the 2-vCPU VM: 2-5 GB/s in some runs, 70-100 in others), so each
    // round takes the best of 20.
    constexpr int kRounds = 10;
    double bytes = double(layers) * packed.bytes();
    std::vector<double> ratios, streams;
    double best = 0;
    for (int round = 0; round < kRounds; ++round) {
      double stream = dram.once();
      double rate = bytes / bestOf(streamed ? 1 : 20, pass) / 1e9;
      ratios.push_back(rate / stream);
      streams.push_back(stream);
      best = std::max(best, rate);
    }
    std::sort(ratios.begin(), ratios.end());
    auto [low, high] = std::minmax_element(streams.begin(), streams.end());
    double median = (ratios[kRounds / 2 - 1] + ratios[kRounds / 2]) / 2;
    llvm::outs() << llvm::formatv(
        "GEMV 1x{0}x{1} {2,-8} weights {7} ({8}): {3,6:F1} GB/s of weights "
        "(best pass) = {4,5:F1}% of DRAM bandwidth (median of {9} rounds "
        "against the stream, which read {10:F1}-{11:F1} GB/s; {5} "
        "matrices, {6:F0} MB per pass)\n",
        k, n, name, best, 100 * median, layers, bytes / 1e6, where,
        cpu::stringifyCpuNumerics(numerics), kRounds, *low, *high);
    // The exact fp4 kernel is bound by its decoding as much as by memory.
    if (std::string(name) == "mxfp4" && numerics == cpu::CpuNumerics::Exact)
      llvm::outs() << llvm::formatv(
          "  (best pass = {0:F1}% of the fp4 lookup bound, {1:F1} GB/s on "
          "{2} cores)\n",
          100 * best / peaks.fp4Lookup, peaks.fp4Lookup, threadCount());
    llvm::outs().flush();
  }
}

/// A synthetic model (synthesis request `request`) under `scheme` (weights
/// and activations of every linear; empty: FP32) compiled into `dir`, with
/// the reference evaluator on the same weights.
struct DecodeModels {
  OwningOpRef<ModuleOp> module;
  WeightStore store;
  std::unique_ptr<cpu::CpuModel> library;
  std::unique_ptr<Evaluator> evaluator;
  uint64_t packBytes = 0;
  double compileSeconds = 0;

  DecodeModels(MLIRContext &ctx, const std::string &dir,
               llvm::StringRef request, llvm::StringRef scheme,
               cpu::CpuNumerics numerics) {
    auto parsed = parseSynthesisRequest(request, "request");
    if (!parsed)
      llvm::report_fatal_error(llvm::toString(parsed.takeError()).c_str());
    module = buildSyntheticModel(&ctx, *parsed);
    if (!scheme.empty()) {
      PassManager pm(&ctx);
      // The pass manager is anchored on builtin.module already.
      std::string pipeline = ("xfmr-set-precision{weights=" + scheme +
                              " activations=" + scheme + " match=layers}")
                                 .str();
      if (failed(parsePassPipeline(pipeline, pm)) || failed(pm.run(*module)))
        llvm::report_fatal_error("cannot set the precision");
    }
    cpu::CpuLibraryOptions options;
    options.outputDir = dir;
    options.numerics = numerics;
    options.name = ("decode-" + (scheme.empty() ? "f32" : scheme) + "-" +
                    cpu::stringifyCpuNumerics(numerics))
                       .str();
    double compileStart = now();
    auto files = cpu::buildCpuLibrary(*module, store, options);
    if (!files)
      llvm::report_fatal_error(llvm::toString(files.takeError()).c_str());
    compileSeconds = now() - compileStart;
    auto model = cpu::CpuModel::load(files->library, files->weights);
    if (!model)
      llvm::report_fatal_error(llvm::toString(model.takeError()).c_str());
    library = std::move(*model);
    llvm::sys::fs::file_size(files->weights, packBytes);
    auto eval = Evaluator::create(*module, store);
    if (!eval)
      llvm::report_fatal_error(llvm::toString(eval.takeError()).c_str());
    evaluator = std::move(*eval);
  }

  /// Tokens/s of `model` (the library or the evaluator: the same
  /// interface) over `tokens` decode steps from position 0, the best of two
  /// runs.
  template <typename Model> static double rate(Model &model, int64_t tokens) {
    double best = 1e30;
    for (int rep = 0; rep < 2; ++rep) {
      model.reset();
      double start = now();
      for (int64_t t = 0; t < tokens; ++t)
        if (auto logits =
                model.forward({static_cast<int32_t>(1 + t * 7 % 500)});
            !logits)
          llvm::report_fatal_error(llvm::toString(logits.takeError()).c_str());
      best = std::min(best, now() - start);
    }
    return tokens / best;
  }
  double libraryRate(int64_t tokens) { return rate(*library, tokens); }
  /// The weight bytes a token reads: every weight once, but of an
  /// embedding table only one row (the tables stay f32: the plan matches
  /// the layers only).
  uint64_t weightBytesPerToken() {
    uint64_t tableBytes = 0;
    module->walk([&](xfmr::EmbeddingOp op) {
      auto table = cast<RankedTensorType>(op.getTable().getType());
      tableBytes += table.getNumElements() * sizeof(float);
    });
    return packBytes - tableBytes;
  }
  double evaluatorRate(int64_t tokens) { return rate(*evaluator, tokens); }
};

/// Decode tokens/s of the synthetic 100M Llama under `scheme` vs the
/// evaluator and the DRAM bound.
void benchDecode(MLIRContext &ctx, const std::string &dir,
                 llvm::StringRef scheme, int64_t tokens, const DramStream &dram,
                 cpu::CpuNumerics numerics = cpu::CpuNumerics::Exact) {
  DecodeModels models(ctx, dir, R"({"preset": "100m"})", scheme, numerics);
  double cpuRate = models.libraryRate(tokens);
  double evalRate = models.evaluatorRate(tokens);
  uint64_t tokenBytes = models.weightBytesPerToken();
  double bound = dram.best(3) * 1e9 / tokenBytes;
  llvm::outs() << llvm::formatv(
      "decode 100M {0,-6} ({8}): mixtile {1,7:F1} tok/s = {2,5:F2}x the "
      "evaluator ({3,6:F1} tok/s), {4,5:F1}% of the DRAM bound ({5,6:F1} "
      "tok/s for {6:F0} MB of weights per token); compiled in {7:F1} s\n",
      scheme.empty() ? "f32" : scheme, cpuRate, cpuRate / evalRate, evalRate,
      100 * cpuRate / bound, bound, tokenBytes / 1e6, models.compileSeconds,
      cpu::stringifyCpuNumerics(numerics));
  llvm::outs().flush();
}

/// Decode tokens/s over the whole context of the synthetic model of
/// stories260K's shape under `scheme`, exact, vs the evaluator: at 512
/// positions attention (scalar loops) costs more than the linears.
void benchLongDecode(MLIRContext &ctx, const std::string &dir,
                     llvm::StringRef scheme) {
  DecodeModels models(ctx, dir, R"({"preset": "tiny"})", scheme,
                      cpu::CpuNumerics::Exact);
  int64_t tokens = models.library->maxSeqLen();
  double cpuRate = models.libraryRate(tokens);
  double evalRate = models.evaluatorRate(tokens);
  llvm::outs() << llvm::formatv(
      "decode tiny {0,-6} (exact), positions 0-{1}: mixtile {2,7:F1} tok/s = "
      "{3,5:F2}x the evaluator ({4,7:F1} tok/s)\n",
      scheme.empty() ? "f32" : scheme, tokens - 1, cpuRate, cpuRate / evalRate,
      evalRate);
  llvm::outs().flush();
}

/// Decode tokens/s of the synthetic 100M Llama with MXFP4 linears over its
/// whole context, the first and the last 128 positions, each against the
/// DRAM bound of what a token reads there: the weights without the
/// embedding table, and the KV cache rows attention reads (every visible
/// row of every cache).
void benchLongContext(MLIRContext &ctx, const std::string &dir,
                      const DramStream &dram) {
  DecodeModels models(ctx, dir, R"({"preset": "100m"})", "mxfp4",
                      cpu::CpuNumerics::Exact);
  uint64_t weightBytes = models.weightBytesPerToken(), cacheRowBytes = 0;
  auto forward = models.module->lookupSymbol<func::FuncOp>("forward");
  for (Type cache : forward.getFunctionType().getInputs().drop_front(3))
    cacheRowBytes +=
        cast<RankedTensorType>(cache).getDimSize(1) * sizeof(float);
  const int64_t positions = models.library->maxSeqLen(), window = 128;
  double bandwidth = dram.best(3) * 1e9;
  // The second of two passes: the first maps the weights in.
  std::vector<double> stepSeconds(positions);
  for (int pass = 0; pass < 2; ++pass) {
    models.library->reset();
    for (int64_t t = 0; t < positions; ++t) {
      double start = now();
      if (auto logits =
              models.library->forward({static_cast<int32_t>(1 + t * 7 % 500)});
          !logits)
        llvm::report_fatal_error(llvm::toString(logits.takeError()).c_str());
      stepSeconds[t] = now() - start;
    }
  }
  auto report = [&](int64_t first) {
    double seconds = 0, bytes = 0;
    for (int64_t t = first; t < first + window; ++t) {
      seconds += stepSeconds[t];
      bytes += weightBytes + (t + 1) * cacheRowBytes;
    }
    double rate = window / seconds, bound = window * bandwidth / bytes;
    return llvm::formatv("positions {0}-{1} {2,6:F1} tok/s = {3,5:F1}% of the "
                         "DRAM bound ({4,6:F1} tok/s)",
                         first, first + window - 1, rate, 100 * rate / bound,
                         bound)
        .str();
  };
  llvm::outs() << "decode 100M mxfp4  (exact) over its context: " << report(0)
               << "; " << report(positions - window) << "\n";
  llvm::outs().flush();
}

} // namespace

int main(int argc, char **argv) {
  bool quick = false;
  std::set<std::string> sections;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick")
      quick = true;
    else
      sections.insert(argv[i]);
  }
  auto wanted = [&](const char *section) {
    return sections.empty() || sections.count(section);
  };
  DialectRegistry registry;
  registerAllDialects(registry);
  cpu::registerCpuPipelineDialects(registry);
  registerAllPasses();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("mixtile-bench-cpu", dir))
    llvm::report_fatal_error("cannot create a temporary directory");
  std::string tmp(dir);
  openblas_set_num_threads(threadCount());

  Peaks peaks;
  peaks.refresh();
  DramStream dram;
  double bandwidth = dram.best(5);
  llvm::outs() << llvm::formatv(
      "{0} cores: FP32 FMA peak {1:F1} GFLOP/s (AVX-512), BF16 dot peak {2:F1} "
      "GFLOP/s (vdpbf16ps), fp4 lookup bound {4:F1} GB/s of codes (shift, "
      "vpermd, FMA), DRAM read {3:F1} GB/s\n",
      threadCount(), peaks.fma, peaks.dot, bandwidth, peaks.fp4Lookup);
  llvm::outs().flush();

  if (wanted("gemm")) {
    benchGemm(ctx, tmp, 1024, peaks);
    if (!quick)
      benchGemm(ctx, tmp, 4096, peaks);
  }
  if (wanted("gemv"))
    // Enough matrices to stream > 3x the L3 per pass, as a model's layers.
    benchGemv(ctx, tmp, dram, peaks, 8192, size_t(384) << 20, "from DRAM");
  if (wanted("gemv-cache"))
    // One matrix of 4096 x 512: fp8 and fp4 weights fit each core's 2 MB
    // L2 (bf16 just, f32 the L3).
    benchGemv(ctx, tmp, dram, peaks, 512, 0, "from cache");
  if (wanted("decode")) {
    for (llvm::StringRef scheme : {"", "bf16", "fp8-e4m3", "mxfp4"})
      benchDecode(ctx, tmp, scheme, quick ? 8 : 32, dram);
    // vdpbf16ps for BF16 where it pays (fast), block sums for MXFP4
    // (fast-products).
    benchDecode(ctx, tmp, "bf16", quick ? 8 : 32, dram, cpu::CpuNumerics::Fast);
    benchDecode(ctx, tmp, "mxfp4", quick ? 8 : 32, dram,
                cpu::CpuNumerics::FastProducts);
  }
  if (wanted("decode") || wanted("long-decode")) {
    for (llvm::StringRef scheme : {"", "mxfp4"})
      benchLongDecode(ctx, tmp, scheme);
    if (!quick)
      benchLongContext(ctx, tmp, dram);
  }
  // MIXTILE_BENCH_KEEP=1 keeps the generated kernels (.ll, .so) to read.
  if (const char *keep = std::getenv("MIXTILE_BENCH_KEEP");
      keep && *keep == '1')
    llvm::errs() << "kernels kept in " << tmp << "\n";
  else
    llvm::sys::fs::remove_directories(tmp);
  return 0;
}
