//===- EvaluatorBench.cpp - reference evaluator throughput ----------------===//
//
// Prints prefill and decode throughput (tokens/s, GFLOP/s) of the reference
// evaluator on stories260K (when ../shared is present) and on a synthetic
// ~100M-parameter Llama, next to this machine's FP32 FMA peak measured in the
// same run with the same instruction set the kernels use (AVX2 + FMA).
//
//   mixtile-bench-evaluator [SHARED_DIR]
//
//===----------------------------------------------------------------------===//

#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Import/ModelBuilder.h"
#include "mixtile/Import/ModelLoader.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>

using namespace mixtile;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// 12 independent 8-wide FMA chains: enough to cover FMA latency.
__attribute__((target("avx2,fma"))) float fmaLoop(int64_t iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i)
    sum = _mm256_add_ps(sum, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, sum);
  return out[0];
}

/// Peak GFLOP/s of `threads` cores running fmaLoop (best of 3).
double fmaPeak(unsigned threads) {
  const int64_t iterations = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<std::thread> workers;
    volatile float sink = 0;
    double start = now();
    for (unsigned t = 0; t < threads; ++t)
      workers.emplace_back([&] { sink = sink + fmaLoop(iterations); });
    for (std::thread &w : workers)
      w.join();
    double flops = 2.0 * 8 * 12 * iterations * threads;
    best = std::max(best, flops / (now() - start) / 1e9);
  }
  return best;
}

/// FLOPs of one token at position `pos`: 2 per weight of every linear layer,
/// plus 4 * pos * dim per layer for attention scores and the weighted sum.
double tokenFlops(const ModelConfig &c, int64_t pos) {
  double perLayer = 2.0 * (2.0 * c.dim * c.dim + 2.0 * c.kvDim() * c.dim +
                           3.0 * c.hiddenDim * c.dim) +
                    4.0 * (pos + 1) * c.dim;
  return c.nLayers * perLayer + 2.0 * c.vocabSize * c.dim;
}

struct Result {
  double prefillTokensPerSecond, prefillGflops;
  double decodeTokensPerSecond, decodeGflops;
};

/// Best of 3: prefill of `prompt` tokens, then `decode` single-token steps.
Result measure(Evaluator &eval, const ModelConfig &c, int64_t prompt,
               int64_t decode) {
  std::vector<int32_t> tokens(prompt);
  for (int64_t i = 0; i < prompt; ++i)
    tokens[i] = (i * 7 + 1) % c.vocabSize;
  double prefillFlops = 0, decodeFlops = 0;
  for (int64_t p = 0; p < prompt; ++p)
    prefillFlops += tokenFlops(c, p);
  for (int64_t p = prompt; p < prompt + decode; ++p)
    decodeFlops += tokenFlops(c, p);
  double bestPrefill = 1e30, bestDecode = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    eval.reset();
    double start = now();
    if (!eval.forward(tokens))
      llvm::report_fatal_error("prefill failed");
    double mid = now();
    for (int64_t d = 0; d < decode; ++d)
      if (!eval.forward({static_cast<int32_t>(d % c.vocabSize)}))
        llvm::report_fatal_error("decode failed");
    bestPrefill = std::min(bestPrefill, mid - start);
    bestDecode = std::min(bestDecode, now() - mid);
  }
  return {prompt / bestPrefill, prefillFlops / bestPrefill / 1e9,
          decode / bestDecode, decodeFlops / bestDecode / 1e9};
}

void report(llvm::StringRef name, const Result &r, double peak) {
  llvm::outs() << llvm::formatv(
      "{0,-22} prefill {1,9:F0} tok/s {2,7:F2} GFLOP/s ({3,5:F1}% of peak)"
      "   decode {4,8:F1} tok/s {5,7:F2} GFLOP/s ({6,5:F1}% of peak)\n",
      name, r.prefillTokensPerSecond, r.prefillGflops,
      100 * r.prefillGflops / peak, r.decodeTokensPerSecond, r.decodeGflops,
      100 * r.decodeGflops / peak);
}

} // namespace

int main(int argc, char **argv) {
  std::string shared = argc > 1 ? argv[1] : "../shared";
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  double peak1 = fmaPeak(1), peakAll = fmaPeak(threads);
  llvm::outs() << llvm::formatv(
      "FP32 FMA peak (AVX2, measured): {0:F1} GFLOP/s on 1 core, {1:F1} on "
      "{2} cores\n",
      peak1, peakAll, threads);

  std::string stories = shared + "/models/stories260K.bin";
  if (llvm::sys::fs::exists(stories)) {
    auto module = loadModel(&ctx, stories);
    WeightStore store;
    auto eval = module ? Evaluator::create(**module, store)
                       : llvm::Expected<std::unique_ptr<Evaluator>>(
                             module.takeError());
    if (!eval)
      llvm::report_fatal_error(llvm::toString(eval.takeError()).c_str());
    auto config = ModelConfig::fromModule(**module);
    report("stories260K (256+256)", measure(**eval, *config, 256, 256),
           peakAll);
  } else {
    llvm::outs() << "stories260K: skipped (no " << stories << ")\n";
  }

  auto request = parseSynthesisRequest(R"({"preset": "100m"})", "preset");
  auto module = buildSyntheticModel(&ctx, *request);
  WeightStore store;
  auto eval = Evaluator::create(*module, store);
  if (!eval)
    llvm::report_fatal_error(llvm::toString(eval.takeError()).c_str());
  report("synthetic 100M (128+32)",
         measure(**eval, request->config, 128, 32), peakAll);
  return 0;
}
