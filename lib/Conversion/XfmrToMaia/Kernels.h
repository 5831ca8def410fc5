//===- Kernels.h - the layers of a Maia program -----------------*- C++ -*-===//
//
// Each kernel emits one phase: the work split over the emitter's tiles,
// inputs and outputs in HBM, scratch in TSRAM, and a barrier at the end.
// Every kernel computes exactly what the reference evaluator's kernel of the
// same name computes (include/mixtile/Evaluator/Kernels.h), in its order.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_CONVERSION_XFMRTOMAIA_KERNELS_H
#define MIXTILE_LIB_CONVERSION_XFMRTOMAIA_KERNELS_H

#include "ProgramEmitter.h"

#include <optional>

namespace mixtile::maia_lowering {

/// How a matrix product is cut: C tiles of [mt, nt], K in chunks of kb.
struct MatmulTiling {
  int64_t mt = 0, nt = 0, kb = 0;
  /// Two accumulators per tile, so that writing one C tile out overlaps
  /// the next one's products.
  bool doubleAccumulator = false;
};

/// The tiling emitLinear uses for x[M, K] * w[N, K]^T on `tiles` tiles.
llvm::Expected<MatmulTiling> chooseMatmulTiling(const TargetModel &target,
                                                unsigned tiles,
                                                const HbmMatrix &x,
                                                const HbmMatrix &w);

/// y[M, N] = x[M, K] * w[N, K]^T, then + bias[N] (f32 HBM buffer) if given:
/// each output starts at 0 and adds x[m][k] * w[n][k] for k ascending, one
/// FMA per term, on the decoded (scaled) operands.
llvm::Error emitLinear(ProgramEmitter &e, const HbmMatrix &x,
                       const HbmMatrix &w, std::optional<uint32_t> bias,
                       const HbmMatrix &y);

/// Quantizes the f32 rows of x into a new HBM matrix of `format` with
/// `mode` scales (per-row modes scale each row on its own).
llvm::Expected<HbmMatrix>
emitQuantizeRows(ProgramEmitter &e, const HbmMatrix &x, FloatFormat format,
                 ScaleMode mode, uint32_t block, llvm::StringRef name);

/// y = RMSNorm(x) * weight (weight: f32 [cols] HBM buffer).
llvm::Error emitRMSNorm(ProgramEmitter &e, const HbmMatrix &x, uint32_t weight,
                        float epsilon, const HbmMatrix &y);

enum class Elementwise { Add, Mul, Silu };
/// y = a + b, a * b or silu(a), element by element.
llvm::Error emitElementwise(ProgramEmitter &e, Elementwise kind,
                            const HbmMatrix &a, const HbmMatrix *b,
                            const HbmMatrix &y);

/// Rotary embedding of x [seq, features] with per-(row, pair) tables
/// cos/sin [seq, features / 2] (f32 HBM): (a, b) -> (a cos - b sin,
/// a sin + b cos), pairs interleaved (2i, 2i + 1) or split (i, i + hd / 2)
/// within each head of `headDim` features.
llvm::Error emitRope(ProgramEmitter &e, const HbmMatrix &x, uint32_t cos,
                     uint32_t sin, int64_t headDim, bool interleaved,
                     const HbmMatrix &y);

/// y[i] = table[rows[i]] for f32 matrices.
llvm::Error emitGatherRows(ProgramEmitter &e, const HbmMatrix &table,
                           llvm::ArrayRef<int64_t> rows, const HbmMatrix &y);

/// dst[dstRow + i] = src[i] for every row of src (same column count).
llvm::Error emitStoreRows(ProgramEmitter &e, const HbmMatrix &src,
                          const HbmMatrix &dst, int64_t dstRow);

/// Causal or full attention of q [seq, heads * hd] over the first `keys`
/// rows of the caches k, v [maxSeq, kvHeads * hd]; query row s sees keys
/// [0, start + s] when causal. Scores are FMA dots over head features
/// ascending, times `scale`; softmax subtracts the row max, sums exp in key
/// order and divides; outputs accumulate probability * value over keys
/// ascending. `mask` (f32 [seq, keys] HBM: 0 where a key is visible, -inf
/// where not) is added to the scores of causal attention: exp(-inf) is 0,
/// so hidden keys add nothing to the sums.
llvm::Error emitAttention(ProgramEmitter &e, const HbmMatrix &q,
                          const HbmMatrix &k, const HbmMatrix &v, int64_t keys,
                          int64_t start, int64_t heads, int64_t kvHeads,
                          int64_t headDim, float scale, bool causal,
                          const HbmMatrix &out, uint32_t mask);

} // namespace mixtile::maia_lowering

#endif // MIXTILE_LIB_CONVERSION_XFMRTOMAIA_KERNELS_H
