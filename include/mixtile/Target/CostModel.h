//===- CostModel.h - analytical cost of layers on the target ----*- C++ -*-===//
//
// Estimates of the Maia kernels the lowering emits (docs/MaiaKernels.md).
// Each estimate follows its kernel's schedule for the plan KernelPlans.h
// gives both of them: per step the longer of the unit's work and the DMA
// that feeds it, DMA setup and HBM latency where the schedule exposes them,
// HBM shared by the chip and a cluster's link by its tiles, semaphore hops
// between dependent commands, and the barrier that ends the phase. Unit
// durations are the simulator's own (UnitTiming.h). The precision search
// ranks plans with estimateMatmul; the simulator is the reference the
// estimates are checked against (bench/MaiaBench.cpp, unittests/Target).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_COSTMODEL_H
#define MIXTILE_TARGET_COSTMODEL_H

#include "mixtile/Target/KernelPlans.h"
#include "mixtile/Target/TargetModel.h"

namespace mixtile {

/// How one matrix product is stored and computed.
struct ProductFormats {
  OperandStorage weights, activations;
  /// Output element bits (results are written at 16 bits by default).
  unsigned outputBits = 16;

  /// The tensor unit's rate: W4A4 at FP4, an 8-bit operand at FP8, 16 bits
  /// and wider at BF16.
  ComputeClass computeClass() const;
};

struct LayerCost {
  /// The modeled time of the kernel.
  double seconds = 0;
  /// The rooflines: MACs at the chip's peak in the product's class, and the
  /// operands and results crossing HBM once at sustained bandwidth.
  double computeSeconds = 0, memorySeconds = 0;
  double macs = 0, bytes = 0;
  /// The modeled time in cycles of the target's clock, and the bytes the
  /// kernel moves across HBM (operands re-read by several tiles count
  /// each time).
  double cycles = 0, hbmBytes = 0;
  bool computeBound() const { return computeSeconds >= memorySeconds; }
};

/// Cost of y[m, n] = x[m, k] * w[n, k]^T on every tile of `target` with the
/// kernel the lowering picks; shapes no kernel can run (rows of codes that
/// do not fill whole bytes) get the roofline.
LayerCost estimateMatmul(const TargetModel &target, int64_t m, int64_t n,
                         int64_t k, const ProductFormats &formats);

/// Cost of `problem` on `streams` streams with `plan`.
LayerCost estimateMatmul(const TargetModel &target, unsigned streams,
                         const MatmulProblem &problem, const MatmulPlan &plan);

/// Cost of `problem` with the plan chooseMatmulPlan gives.
llvm::Expected<LayerCost>
estimateMatmul(const TargetModel &target, unsigned streams,
               const MatmulProblem &problem,
               MatmulKernel kernel = MatmulKernel::Auto);

/// The plan of the kernel that computes `problem` on `streams` streams:
/// `kernel`, or with MatmulKernel::Auto the one modeled fastest.
llvm::Expected<MatmulPlan>
chooseMatmulPlan(const TargetModel &target, unsigned streams,
                 const MatmulProblem &problem, MatmulKernel kernel,
                 const ClusterMatmulLimits &limits = {});

/// Costs of the row-wise kernels over f32 [rows, cols] on `streams`
/// streams (0: every tile).
LayerCost estimateRMSNorm(const TargetModel &target, unsigned streams,
                          int64_t rows, int64_t cols);
LayerCost estimateElementwise(const TargetModel &target, unsigned streams,
                              ElementwiseKind kind, int64_t rows, int64_t cols);
LayerCost estimateRope(const TargetModel &target, unsigned streams,
                       int64_t rows, int64_t cols);
/// Quantizing f32 rows into `out` (each row scaled on its own).
LayerCost estimateQuantize(const TargetModel &target, unsigned streams,
                           int64_t rows, int64_t cols,
                           const OperandStorage &out);
/// Attention over f32 caches.
LayerCost estimateAttention(const TargetModel &target, unsigned streams,
                            const AttentionShape &shape);

} // namespace mixtile

#endif // MIXTILE_TARGET_COSTMODEL_H
