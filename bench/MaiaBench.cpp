//===- MaiaBench.cpp - simulated Maia kernels and the cost model ----------===//
//
// Two tables from one run, both from the simulator's timing mode:
//
// 1. Square GEMMs at MXFP4, MXFP8 and BF16 with the kernel the lowering
//    picks, f32 outputs (what the model lowering writes) and bf16 outputs:
//    simulated time next to the tensor unit's roofline for the same MACs
//    (peaks from the target description), and the simulator's speed.
// 2. The cost model (include/mixtile/Target/CostModel.h) next to the
//    simulator over GEMMs of many shapes and formats, attention, norms,
//    element-wise ops, rope and quantization: modeled and simulated time,
//    the error, then the median and the largest error.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Target/CostModel.h"
#include "mixtile/Target/Maia/Simulator.h"
#include "mixtile/Target/UnitTiming.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

using namespace mixtile;
using maia::ScaleMode;
using numerics::FloatFormat;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void die(llvm::Error error) {
  std::fprintf(stderr, "%s\n", llvm::toString(std::move(error)).c_str());
  std::exit(1);
}

/// A simulated run: its report and the simulator's speed.
struct Run {
  maia::SimReport report;
  double cyclesPerSecond = 0;
};

Run simulate(llvm::Expected<maia::Program> program, const TargetModel &target) {
  if (!program)
    die(program.takeError());
  maia::SimOptions options;
  options.functional = false;
  double start = now();
  llvm::Expected<maia::SimResult> result =
      maia::simulate(*program, target, options);
  double wall = now() - start;
  if (!result)
    die(result.takeError());
  return {result->report, double(result->report.cycles) / wall};
}

/// Operand formats as the lowering stores them and as the cost model sees
/// them.
struct Format {
  const char *name;
  MaiaOperandFormat operand;
};

const Format kMxfp4{"mxfp4", {FloatFormat::F4E2M1FN, ScaleMode::MX, 32}};
const Format kNvfp4{"nvfp4", {FloatFormat::F4E2M1FN, ScaleMode::NVFP4, 16}};
const Format kNvfp4Rows{"nvfp4",
                        {FloatFormat::F4E2M1FN, ScaleMode::NVFP4Rows, 16}};
const Format kMxfp8{"mxfp8", {FloatFormat::F8E4M3FN, ScaleMode::MX, 32}};
const Format kFp8{"fp8", {FloatFormat::F8E4M3FN, ScaleMode::Tensor, 0}};
const Format kFp8Rows{"fp8", {FloatFormat::F8E4M3FN, ScaleMode::Rows, 0}};
const Format kBf16{"bf16", {FloatFormat::BF16, ScaleMode::None, 0}};

OperandStorage storageOf(const MaiaOperandFormat &f) {
  OperandStorage s;
  s.elementBits = numerics::getFormatInfo(f.format).bits;
  if (maia::hasBlockScales(f.mode)) {
    s.block = f.block;
    s.scaleBits = 8;
  }
  if (f.mode == ScaleMode::Tensor || f.mode == ScaleMode::NVFP4)
    s.wholeScale = OperandStorage::WholeScale::Tensor;
  if (f.mode == ScaleMode::Rows || f.mode == ScaleMode::NVFP4Rows)
    s.wholeScale = OperandStorage::WholeScale::Row;
  return s;
}

void gemmTable(const TargetModel &target) {
  std::printf("GEMM m = n = k, the lowering's kernel, simulated timing vs the "
              "tensor-unit roofline\n");
  std::printf("%-6s %-4s %6s %14s %14s %10s %16s\n", "format", "out", "size",
              "simulated (us)", "roofline (us)", "efficiency", "sim cycles/s");
  for (const Format &f : {kMxfp4, kMxfp8, kBf16})
    for (FloatFormat out : {FloatFormat::F32, FloatFormat::BF16})
      for (int64_t size : {1024, 2048, 4096, 8192}) {
        MaiaKernelOptions options;
        options.output = out;
        Run run = simulate(buildMatmulProgram(target, size, size, size,
                                              f.operand, f.operand, options),
                           target);
        ComputeClass cls = computeClassOf(storageOf(f.operand).elementBits,
                                          storageOf(f.operand).elementBits);
        double roofline =
            double(size) * size * size / target.peakMacsPerSecond(cls);
        std::printf("%-6s %-4s %6lld %14.2f %14.2f %9.1f%% %16.3g\n", f.name,
                    out == FloatFormat::F32 ? "f32" : "bf16", (long long)size,
                    run.report.seconds * 1e6, roofline * 1e6,
                    100 * roofline / run.report.seconds, run.cyclesPerSecond);
      }
}

/// One kernel of the comparison: a name, its program, its estimate.
struct Kernel {
  std::string name;
  std::function<llvm::Expected<maia::Program>()> build;
  std::function<LayerCost()> estimate;
};

Kernel gemm(const TargetModel &t, int64_t m, int64_t n, int64_t k,
            const Format &x, const Format &w,
            FloatFormat out = FloatFormat::F32) {
  std::string name = "gemm " + std::to_string(m) + "x" + std::to_string(n) +
                     "x" + std::to_string(k) + " " + w.name;
  if (std::string(x.name) != w.name)
    name += std::string("/") + x.name;
  if (out == FloatFormat::BF16)
    name += " ->bf16";
  MaiaKernelOptions options;
  options.output = out;
  MatmulProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.x = storageOf(x.operand);
  p.w = storageOf(w.operand);
  p.outputBits = numerics::getFormatInfo(out).bits;
  return {name,
          [=, &t] {
            return buildMatmulProgram(t, m, n, k, x.operand, w.operand,
                                      options);
          },
          [=, &t] {
            llvm::Expected<LayerCost> c = estimateMatmul(t, 0, p);
            if (!c)
              die(c.takeError());
            return *c;
          }};
}

std::vector<Kernel> comparisonKernels(const TargetModel &t) {
  std::vector<Kernel> k = {
      // Square products, compute-bound at scale.
      gemm(t, 8192, 8192, 8192, kMxfp4, kMxfp4),
      gemm(t, 8192, 8192, 8192, kMxfp8, kMxfp8),
      gemm(t, 8192, 8192, 8192, kBf16, kBf16),
      gemm(t, 4096, 4096, 4096, kMxfp4, kMxfp4),
      gemm(t, 4096, 4096, 4096, kMxfp4, kMxfp4, FloatFormat::BF16),
      gemm(t, 2048, 2048, 2048, kMxfp8, kMxfp8),
      gemm(t, 1024, 1024, 1024, kBf16, kBf16),
      // Decode: one token (and a small batch) against a weight matrix.
      gemm(t, 1, 8192, 8192, kMxfp4, kMxfp4),
      gemm(t, 1, 8192, 8192, kNvfp4Rows, kNvfp4),
      gemm(t, 1, 8192, 8192, kFp8Rows, kFp8),
      gemm(t, 1, 8192, 8192, kBf16, kBf16),
      gemm(t, 1, 8192, 8192, kMxfp8, kMxfp4),
      gemm(t, 16, 8192, 8192, kMxfp4, kMxfp4),
      gemm(t, 1, 4096, 11008, kMxfp8, kMxfp4),
      // Tall, skinny and mixed shapes.
      gemm(t, 8192, 1024, 1024, kMxfp8, kMxfp8),
      gemm(t, 2048, 1024, 8192, kMxfp4, kMxfp4),
      gemm(t, 128, 8192, 8192, kNvfp4Rows, kNvfp4),
      gemm(t, 512, 4096, 4096, kFp8Rows, kFp8),
      gemm(t, 2048, 11008, 4096, kMxfp8, kMxfp4),
      gemm(t, 2048, 4096, 11008, kMxfp8, kMxfp4),
      // K not a multiple of 64.
      gemm(t, 4096, 4096, 172, kMxfp4, kMxfp4),
      gemm(t, 1024, 1024, 172, kBf16, kBf16),
      gemm(t, 256, 2048, 172, kFp8Rows, kFp8),
  };
  struct Attention {
    const char *name;
    AttentionShape shape;
  };
  for (const Attention &a :
       {Attention{"attention prefill 512, 32/8 heads x 128",
                  {512, 512, 0, 32, 8, 128, true}},
        Attention{"attention prefill 128, 8/8 heads x 64",
                  {128, 128, 0, 8, 8, 64, true}},
        Attention{"attention decode 1 of 1024, 32/8 x 128",
                  {1, 1024, 1023, 32, 8, 128, true}},
        Attention{"attention decode 1 of 256, 32/32 x 64",
                  {1, 256, 255, 32, 32, 64, true}}}) {
    AttentionShape shape = a.shape;
    k.push_back({a.name, [=, &t] { return buildAttentionProgram(t, shape); },
                 [=, &t] { return estimateAttention(t, 0, shape); }});
  }
  auto rows = [](const char *what, int64_t r, int64_t c) {
    return std::string(what) + " " + std::to_string(r) + "x" +
           std::to_string(c);
  };
  struct Shape {
    int64_t rows, cols;
  };
  for (Shape sh : {Shape{2048, 4096}, Shape{1, 8192}}) {
    int64_t r = sh.rows, c = sh.cols;
    k.push_back({rows("rms_norm", r, c),
                 [=, &t] { return buildRMSNormProgram(t, r, c); },
                 [=, &t] { return estimateRMSNorm(t, 0, r, c); }});
  }
  struct Elementwise {
    const char *name;
    ElementwiseKind kind;
    int64_t rows, cols;
  };
  for (const Elementwise &e :
       {Elementwise{"add", ElementwiseKind::Add, 2048, 4096},
        Elementwise{"mul", ElementwiseKind::Mul, 2048, 11008},
        Elementwise{"silu", ElementwiseKind::Silu, 2048, 11008},
        Elementwise{"add", ElementwiseKind::Add, 1, 4096}}) {
    ElementwiseKind kind = e.kind;
    int64_t r = e.rows, c = e.cols;
    k.push_back({rows(e.name, r, c),
                 [=, &t] { return buildElementwiseProgram(t, kind, r, c); },
                 [=, &t] { return estimateElementwise(t, 0, kind, r, c); }});
  }
  for (Shape sh : {Shape{2048, 4096}, Shape{1, 4096}}) {
    int64_t r = sh.rows, c = sh.cols;
    k.push_back({rows("rope", r, c),
                 [=, &t] { return buildRopeProgram(t, r, c, 128, false); },
                 [=, &t] { return estimateRope(t, 0, r, c); }});
  }
  struct Quantize {
    Format format;
    int64_t rows, cols;
  };
  for (const Quantize &q :
       {Quantize{kMxfp4, 2048, 4096}, Quantize{kNvfp4Rows, 2048, 4096},
        Quantize{kFp8Rows, 1, 4096}}) {
    MaiaOperandFormat f = q.format.operand;
    int64_t r = q.rows, c = q.cols;
    k.push_back(
        {rows((std::string("quantize ") + q.format.name).c_str(), r, c),
         [=, &t] { return buildQuantizeProgram(t, r, c, f); },
         [=, &t] { return estimateQuantize(t, 0, r, c, storageOf(f)); }});
  }
  return k;
}

void modelTable(const TargetModel &target) {
  std::printf("\ncost model vs simulator (all tiles; GEMM outputs f32 unless "
              "noted)\n");
  std::printf("%-44s %12s %12s %8s\n", "kernel", "sim (us)", "model (us)",
              "error");
  std::vector<double> errors;
  for (const Kernel &k : comparisonKernels(target)) {
    Run run = simulate(k.build(), target);
    LayerCost cost = k.estimate();
    double error = (cost.seconds - run.report.seconds) / run.report.seconds;
    errors.push_back(std::fabs(error));
    std::printf("%-44s %12.2f %12.2f %+7.1f%%\n", k.name.c_str(),
                run.report.seconds * 1e6, cost.seconds * 1e6, 100 * error);
  }
  std::vector<double> sorted = errors;
  llvm::sort(sorted);
  size_t n = sorted.size();
  double median =
      n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  std::printf("%zu kernels: median |error| %.1f%%, max |error| %.1f%%\n", n,
              100 * median, 100 * sorted.back());
}

} // namespace

int main(int argc, char **argv) {
  llvm::Expected<TargetModel> target =
      TargetModel::load(argc > 1 ? argv[1] : "maia200");
  if (!target)
    die(target.takeError());
  gemmTable(*target);
  modelTable(*target);
  return 0;
}
