//===- Lowering.h - precision-annotated xfmr to a Maia program --*- C++ -*-===//
//
// Compiles the @forward function of an xfmr model, with the formats its
// #xfmr.precision records name, into a maia::Program: weights quantized at
// compile time and placed in HBM, every layer split across the tiles,
// matrix products tiled to fit TSRAM with K chunks aligned to the block
// scales and double-buffered DMA, norms / softmax / rope / silu on the
// vector unit. The program computes what the reference evaluator computes,
// in the evaluator's accumulation order (docs/XfmrToMaia.md).
//
// The ISA has no indirect addressing, so a program is specialized to the
// token ids and the position it runs at: a prompt is one program (prefill),
// each generated token another (decode step at the next position). KV
// caches are HBM buffers that a run reads and writes; the caller carries
// them from one run to the next.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_CONVERSION_XFMRTOMAIA_LOWERING_H
#define MIXTILE_CONVERSION_XFMRTOMAIA_LOWERING_H

#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Target/KernelPlans.h"
#include "mixtile/Target/Maia/ISA.h"
#include "mixtile/Target/TargetModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mixtile {

class WeightStore;

struct MaiaLoweringOptions {
  /// The token ids of the run. Without them (a timing-only program) the
  /// program is built for `numTokens` tokens and reads no embedding rows.
  std::vector<int32_t> tokens;
  int64_t numTokens = 0;
  /// The position of the first token: cache rows [0, start) hold earlier
  /// tokens' keys and values.
  int64_t start = 0;
  /// Tiles to spread the work over (0: every tile of the target).
  unsigned tiles = 0;
  /// Quantize the weights and place them as data segments. Off for models
  /// without weights (timing studies of model shapes).
  bool withWeights = true;
};

/// A compiled run and the names of the buffers its caller reads and carries.
struct MaiaLoweredProgram {
  maia::Program program;
  /// [tokens, vocab] f32 in HBM.
  std::string logits;
  /// Per attention op in program order: [max_seq, kv features] f32 in HBM.
  std::vector<std::string> keyCaches, valueCaches;
  int64_t numTokens = 0, vocab = 0;
};

/// Compiles `module`'s @forward. Errors name the op that cannot be lowered
/// and why (an unsupported op or record, a shape the tiling cannot place).
llvm::Expected<MaiaLoweredProgram>
lowerToMaia(mlir::ModuleOp module, WeightStore &store,
            const TargetModel &target, const MaiaLoweringOptions &options);

/// How one operand of a standalone product is stored in HBM.
struct MaiaOperandFormat {
  numerics::FloatFormat format = numerics::FloatFormat::F32;
  maia::ScaleMode mode = maia::ScaleMode::None;
  uint32_t block = 0;
};

/// How an operand quantized with `scheme` is scaled in the ISA: weights
/// (`perRow` false) keep one scale per tensor; activations are scaled row
/// by row, one token at a time, as the evaluator does.
maia::ScaleMode getMaiaScaleMode(const numerics::QuantScheme &scheme,
                                 bool perRow);

/// Options of the standalone kernel programs below.
struct MaiaKernelOptions {
  /// Tiles to spread the work over (0: every tile of the target).
  unsigned tiles = 0;
  /// Products: the output format (f32, as the model lowering writes, or
  /// bf16), a bias row, the kernel (Auto: the one the cost model times
  /// fastest) and overrides of the cluster kernel's tiling.
  numerics::FloatFormat output = numerics::FloatFormat::F32;
  bool bias = false;
  MatmulKernel kernel = MatmulKernel::Auto;
  ClusterMatmulLimits cluster;
};

// Standalone programs of one kernel each, from HBM to HBM, with the
// kernels the lowering uses and without data (for timing studies, for
// checking the cost model against the simulator, and, with buffer inputs,
// for testing the kernels). Their HBM buffers are named after the
// operands: "x.codes"/"x.scales", "w.codes"/"w.scales", "bias", "y" for
// products; "x", "weight", "y" for rms_norm; "a", "b", "y" for element-wise
// ops; "x", "cos", "sin", "y" for rope; "x", "q.codes"/"q.scales" for
// quantize; "q", "k_cache", "v_cache", "mask", "out" for attention.

/// y[m, n] = x[m, k] * w[n, k]^T (+ bias[n]).
llvm::Expected<maia::Program>
buildMatmulProgram(const TargetModel &target, int64_t m, int64_t n, int64_t k,
                   const MaiaOperandFormat &x, const MaiaOperandFormat &w,
                   const MaiaKernelOptions &options);
llvm::Expected<maia::Program>
buildMatmulProgram(const TargetModel &target, int64_t m, int64_t n, int64_t k,
                   const MaiaOperandFormat &x, const MaiaOperandFormat &w,
                   unsigned tiles = 0);

/// y = RMSNorm(x) * weight over rows of `cols` values.
llvm::Expected<maia::Program>
buildRMSNormProgram(const TargetModel &target, int64_t rows, int64_t cols,
                    const MaiaKernelOptions &options = {});

/// y = a + b, a * b or silu(a) over [rows, cols].
llvm::Expected<maia::Program>
buildElementwiseProgram(const TargetModel &target, ElementwiseKind kind,
                        int64_t rows, int64_t cols,
                        const MaiaKernelOptions &options = {});

/// Rotary embedding of [rows, cols] with heads of `headDim` features.
llvm::Expected<maia::Program>
buildRopeProgram(const TargetModel &target, int64_t rows, int64_t cols,
                 int64_t headDim, bool interleaved,
                 const MaiaKernelOptions &options = {});

/// Quantizes f32 [rows, cols] row by row into `format`.
llvm::Expected<maia::Program>
buildQuantizeProgram(const TargetModel &target, int64_t rows, int64_t cols,
                     const MaiaOperandFormat &format,
                     const MaiaKernelOptions &options = {});

/// Attention of `shape` (caches of exactly `keys` rows).
llvm::Expected<maia::Program>
buildAttentionProgram(const TargetModel &target, const AttentionShape &shape,
                      const MaiaKernelOptions &options = {});

} // namespace mixtile

#endif // MIXTILE_CONVERSION_XFMRTOMAIA_LOWERING_H
