//===- CpuPipeline.h - xfmr to the LLVM dialect for the CPU -----*- C++ -*-===//
//
// mixtile-cpu-pipeline: convert-xfmr-to-linalg, one-shot bufferization,
// register-tiled kernels vectorized across output columns for the linears
// and matmuls (mixtile-cpu-vectorize-rows, threaded through the runtime),
// linalg to loops for the rest and the conversions to the LLVM dialect,
// with every function tagged for the target CPU (the host's by default).
// In exact mode nothing on the way reorders floating-point arithmetic:
// reductions run in the evaluator's order and no pass adds fast-math
// flags, so the compiled code keeps the evaluator's results bit for bit. In
// fast mode every floating-point op may be reassociated and contracted
// (docs/CpuBackend.md gives the tolerance).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PIPELINES_CPUPIPELINE_H
#define MIXTILE_PIPELINES_CPUPIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mixtile::cpu {

/// The numerics modes of the CPU back end.
enum class CpuNumerics {
  /// The evaluator's results bit for bit: no reassociation, no contraction.
  Exact,
  /// Floating-point ops may be reassociated and contracted (reductions
  /// vectorize along their length), and subnormals in products of BF16
  /// activations and BF16 weights flushed to zero (AVX512-BF16's vdpbf16ps
  /// where the target has it); docs/CpuBackend.md gives the tolerance.
  Fast,
  /// Fast, and the matrix products reorder their sums too: products with
  /// block-scaled weights (MXFP4, MXFP8) add each block's unscaled partial
  /// sum times its scale (one multiply per block rather than per weight).
  /// Activations rounded to BF16, FP8 or FP4 further on can amplify the
  /// reordering past fast's tolerance (docs/CpuBackend.md).
  FastProducts,
};

/// The name of `numerics` in mixtile-cpu-pipeline's `numerics` option.
llvm::StringRef stringifyCpuNumerics(CpuNumerics numerics);

/// Whether fast modes multiply BF16 activations by BF16 weights with
/// AVX512-BF16's vdpbf16ps (one instruction per two products and lane)
/// rather than with two FMAs.
enum class CpuBF16Dot {
  /// Where the dot outpaces two FMAs: AMD's cores (znver4 and later issue
  /// it at the FMA's rate). An Intel Xeon with AMX measured here reached
  /// half as many flops with it as with FMAs (docs/CpuBackend.md).
  Auto,
  /// On every target with avx512bf16.
  Always,
  /// Never: two FMAs per pair, as exact numerics do.
  Never,
};

struct CpuPipelineOptions
    : public mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> convertXfmr{
      *this, "convert-xfmr",
      llvm::cl::desc("Start with convert-xfmr-to-linalg (false: the input "
                     "is already linalg on tensors)"),
      llvm::cl::init(true)};
  Option<std::string> cpu{
      *this, "cpu",
      llvm::cl::desc("LLVM CPU name the functions are compiled for; "
                     "'native' is the host CPU"),
      llvm::cl::init("native")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("LLVM target features (e.g. '+avx2,+fma'); by default "
                     "the host's with cpu=native, none otherwise"),
      llvm::cl::init("")};
  Option<CpuNumerics> numerics{
      *this, "numerics", llvm::cl::desc("Numerics mode"),
      llvm::cl::init(CpuNumerics::Exact),
      llvm::cl::values(clEnumValN(CpuNumerics::Exact, "exact",
                                  "the evaluator's results bit for bit"),
                       clEnumValN(CpuNumerics::Fast, "fast",
                                  "floating-point ops may be reassociated and "
                                  "contracted"),
                       clEnumValN(CpuNumerics::FastProducts, "fast-products",
                                  "fast, and matrix products reorder their "
                                  "sums (MX block sums)"))};
  Option<CpuBF16Dot> bf16Dot{
      *this, "bf16-dot",
      llvm::cl::desc("Multiply BF16 activations by BF16 weights with "
                     "vdpbf16ps in the fast modes"),
      llvm::cl::init(CpuBF16Dot::Auto),
      llvm::cl::values(
          clEnumValN(CpuBF16Dot::Auto, "auto",
                     "where it outpaces two FMAs (AMD znver4 and later)"),
          clEnumValN(CpuBF16Dot::Always, "always",
                     "on every target with avx512bf16"),
          clEnumValN(CpuBF16Dot::Never, "never", "two FMAs per pair"))};
  Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Register-tile and vectorize linears and matmuls "
                     "(mixtile-cpu-vectorize-rows)"),
      llvm::cl::init(true)};
  Option<bool> threads{
      *this, "threads",
      llvm::cl::desc("Run large kernels on the runtime's threads"),
      llvm::cl::init(true)};
};

/// Options of mixtile-cpu-vectorize-rows.
struct VectorizeRowsOptions {
  /// Most f32 lanes per vector (16: AVX-512); narrower vectors are used
  /// where the column count needs them.
  int64_t width = 16;
  /// Rows and column vectors of a register tile (6 x 4 zmm accumulators
  /// leave registers for 4 weight vectors and a broadcast), and the values
  /// of the reduction loop per cache block (k, or pairs of k for BF16
  /// weights in pairs): each block reads and writes the whole output
  /// once, which at 4096^3 cost more than the L1 misses of a column group's
  /// 256 KB of weights (Zen 5, f32 GEMM 4096^3 as % of the FMA peak, in
  /// alternating runs: depth 512, 64-68%; 1024, 77-81%; 2048, 79-83%;
  /// 4096, 70-83%; docs/CpuBackend.md).
  int64_t rows = 6, vectors = 4, depth = 1024;
  /// Column vectors of the tile of a product with one row (a batch-1
  /// step): no rows share its decoded weights, so its registers go to
  /// columns, and with fp4 nibble lanes a group of 8 vectors reads each
  /// word once (one Zen 4 core, cached MXFP4 GEMV: 14.5 GB/s with 4, 15.0
  /// with 8 exact; 16.3 and 17.6 in fast-products).
  int64_t singleRowVectors = 8;
  /// Whether a kernel whose row count is unknown at compile time (the
  /// model's linears, whose rows are a call's tokens) checks it at run
  /// time and takes the single-row tile for one row (a decode step); a
  /// static row count of 1 always takes it. Either way only products of
  /// at least singleRowVectors vectors of columns use that tile.
  bool singleRowDispatch = true;
  /// The values of k per block when there are fewer rows than a tile (a
  /// batch-1 product): nothing reuses the weights, and a short block keeps
  /// few enough weight rows in flight for the hardware prefetchers.
  int64_t narrowDepth = 16;
  /// Rows per block within a block of k: their inputs stay in the L2 cache
  /// while every column group of the range reuses them.
  int64_t rowBlock = 768;
  /// Look up tables of 16 f32 values (fp4 codes) with AVX-512's vpermps;
  /// else with gathers. Only for targets with avx512f.
  bool permuteTables = false;
  /// Bytes ahead along k that one-row tiles (batch-1 products, which
  /// stream their weights) prefetch them; 0: none. 1024 was the best of
  /// 0, 512 and 1024 in three alternating runs of the bench's GEMVs (2048
  /// and 4096, tried once each, were no better; docs/CpuBackend.md).
  int64_t prefetchDistance = 1024;
  /// Sum an fma(a, e * s, acc) body whose s changes with k only per block
  /// of k (a weight's block scale) unscaled over each block and add
  /// fma(sum, s, acc): one multiply per block sum, not per term. This
  /// reassociates the reduction: only numerics=fast-products sets it.
  /// (Tensor scales stay per term: hoisting them out of the reduction
  /// changed stories260K's logits by up to 5e-2 relative with FP8 weights
  /// and activations, whose FP8 roundings amplify it.)
  bool scaleBlockSums = false;
  /// In one-row tiles (batch-1 products), sum an fma(a, e * s, acc) body
  /// whose s is a block scale and e a constant table's value (an fp4
  /// code's) as acc' = fma(a, e, acc') from acc' = acc / s over each block
  /// and take acc = acc' * s: the multiply per term goes, and the bits are
  /// the same where s, acc and a are within ranges the kernel checks per
  /// block (else, or if a turns out not to be, the block runs with the
  /// multiplies). Exact: every numerics mode sets it.
  bool rescaleSums = true;
  /// Multiply a body of pairs of bf16 codes (BF16 activations of BF16
  /// weights, both stored in pairs along k), fma(low(a), low(w),
  /// fma(high(a), high(w), acc)), with AVX512-BF16's vdpbf16ps. It adds the
  /// high codes' product, then the low codes', each rounded like an FMA,
  /// but flushes subnormal inputs, products and sums to zero (on 6.4
  /// million random lanes with subnormals, Zen 5: docs/CpuBackend.md),
  /// which exact numerics do not: only numerics=fast and fast-products set
  /// it, for targets with avx512bf16.
  bool bf16Dot = false;
  /// The tile and k block (in pairs of k) of bf16 dot kernels. With the
  /// weights in pairs, 6 x 4 (24 accumulators, 4 weight vectors, one
  /// broadcast pair) fits the registers; with codes one per k and
  /// interleaved in registers it spilled, and 7 x 3 was best (Zen 5, BF16
  /// GEMM 4096^3 as % of the dot peak, in pairs with 1024 pairs: 7 x 3
  /// 64-69%, 6 x 4 65-68%; 2048 pairs no better). Batch-1 products take
  /// single rows of the same vectors, and only 4 (64 columns) walk the
  /// pack's panels of 64 whole: 3 split them, which read the GEMVs'
  /// weights from DRAM at 71% of the stream against 110% with 4 and made
  /// BF16 decode in fast mode slower than exact (Zen 4;
  /// docs/CpuBackend.md).
  int64_t dotRows = 6, dotVectors = 4, dotDepth = 1024;
  /// Call kernels of at least `parallelWork` N * K through
  /// mixtile_parallel_for.
  bool threads = true;
  int64_t parallelWork = 1 << 16;
};
std::unique_ptr<mlir::Pass>
createVectorizeRowsPass(const VectorizeRowsOptions &options);
void registerVectorizeRowsPass();

/// The target the functions are tagged with: `options.cpu` and
/// `options.features` with 'native' resolved to the host CPU.
struct CpuTarget {
  std::string triple, cpu, features;
};
CpuTarget resolveCpuTarget(llvm::StringRef cpu, llvm::StringRef features);

/// Adds the passes of mixtile-cpu-pipeline to `pm` (on builtin.module).
void buildCpuPipeline(mlir::OpPassManager &pm,
                      const CpuPipelineOptions &options);

/// Adds the dialects the pipeline produces and the external interface
/// models bufferization needs to `registry`.
void registerCpuPipelineDialects(mlir::DialectRegistry &registry);

/// Registers mixtile-cpu-pipeline and the passes only it uses.
void registerCpuPipeline();

} // namespace mixtile::cpu

#endif // MIXTILE_PIPELINES_CPUPIPELINE_H
