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

#include "mixtile/Target/KernelPlans.h"

#include <optional>

namespace mixtile::maia_lowering {

/// A [rows, cols] part of an HBM matrix staged in TSRAM.
struct StagedPart {
  maia::TensorOperand operand;
  int64_t rows = 0, cols = 0;
};

/// TSRAM of stream `i` for a [rows, cols] part of `m` (codes, then its
/// scales aligned).
llvm::Expected<StagedPart> allocatePart(ProgramEmitter &e, unsigned i,
                                        const HbmMatrix &m, int64_t rows,
                                        int64_t cols);

/// DMAs rows [r0, r0 + part.rows) and columns [k0, k0 + part.cols) of `m`
/// (codes and scales) into `part`; returns the completions.
llvm::SmallVector<Token, 4> loadPart(ProgramEmitter &e, TileStream &s,
                                     const HbmMatrix &m, int64_t r0, int64_t k0,
                                     const StagedPart &part,
                                     llvm::ArrayRef<Token> deps);

/// Vector ops on the TVP of stream `s` (docs/MaiaISA.md); `scalar` is the
/// immediate of Broadcast::Scalar.
Token vecBinary(TileStream &s, maia::VecBinaryOp op, int64_t rows, int64_t len,
                BufferRef dst, BufferRef a, BufferRef b,
                maia::Broadcast broadcast, float scalar,
                llvm::ArrayRef<Token> deps);
Token vecUnary(TileStream &s, maia::VecUnaryOp op, int64_t rows, int64_t len,
               BufferRef dst, BufferRef a, llvm::ArrayRef<Token> deps);
Token vecReduce(TileStream &s, maia::VecReduceOp op, int64_t rows, int64_t len,
                BufferRef dst, BufferRef a, llvm::ArrayRef<Token> deps);

/// out = RMSNorm(in) * weight over `rows` rows of n values in TSRAM, in
/// the evaluator's order; r holds one factor per row. `loaded` and
/// `weightLoaded` are the completions of in and weight.
Token emitRMSNormRows(TileStream &s, int64_t rows, int64_t n, BufferRef in,
                      BufferRef out, BufferRef r, BufferRef weight,
                      float epsilon, Token loaded, Token weightLoaded);

/// The storage sizes of an HBM matrix, as the kernel plans see them.
OperandStorage storageOf(const HbmMatrix &m);

/// The product y = x * w^T as the kernel plans see it.
MatmulProblem matmulProblem(const HbmMatrix &x, const HbmMatrix &w, bool bias,
                            const HbmMatrix &y);

/// The plan emitLinear uses for x[M, K] * w[N, K]^T on the emitter's
/// streams: the kernel the cost model times fastest, unless `kernel` names
/// one.
llvm::Expected<MatmulPlan>
chooseMatmulPlan(const TargetModel &target, unsigned streams,
                 const HbmMatrix &x, const HbmMatrix &w, bool bias,
                 const HbmMatrix &y, MatmulKernel kernel,
                 const ClusterMatmulLimits &limits);

/// y[M, N] = x[M, K] * w[N, K]^T, then + bias[N] (f32 HBM buffer) if given:
/// each output starts at 0 and adds x[m][k] * w[n][k] for k ascending, one
/// FMA per term, on the decoded (scaled) operands. y is f32, or bf16 (each
/// f32 result rounded once) when y.format is BF16.
llvm::Error emitLinear(ProgramEmitter &e, const HbmMatrix &x,
                       const HbmMatrix &w, std::optional<uint32_t> bias,
                       const HbmMatrix &y,
                       MatmulKernel kernel = MatmulKernel::Auto,
                       const ClusterMatmulLimits &limits = {});

/// The per-tile kernel of emitLinear with `plan`.
llvm::Error emitPerTileMatmul(ProgramEmitter &e, const PerTileMatmulPlan &plan,
                              const HbmMatrix &x, const HbmMatrix &w,
                              std::optional<uint32_t> bias, const HbmMatrix &y);

/// The cluster-cooperative kernel of emitLinear with `plan`
/// (ClusterMatmul.cpp, docs/MaiaKernels.md). The same results as the
/// per-tile kernel bit for bit: every output is one k-ascending FMA chain.
llvm::Error emitClusterMatmul(ProgramEmitter &e, const ClusterMatmulPlan &plan,
                              const HbmMatrix &x, const HbmMatrix &w,
                              std::optional<uint32_t> bias, const HbmMatrix &y);

/// Quantizes the f32 rows of x into a new HBM matrix of `format` with
/// `mode` scales (per-row modes scale each row on its own).
llvm::Expected<HbmMatrix>
emitQuantizeRows(ProgramEmitter &e, const HbmMatrix &x, FloatFormat format,
                 ScaleMode mode, uint32_t block, llvm::StringRef name);

/// y = RMSNorm(x) * weight (weight: f32 [cols] HBM buffer).
llvm::Error emitRMSNorm(ProgramEmitter &e, const HbmMatrix &x, uint32_t weight,
                        float epsilon, const HbmMatrix &y);

using Elementwise = ElementwiseKind;
/// y = a + b, a * b or silu(a), element by element.
llvm::Error emitElementwise(ProgramEmitter &e, Elementwise kind,
                            const HbmMatrix &a, const HbmMatrix *b,
                            const HbmMatrix &y);

/// Rotary embedding of x [seq, features] with per-(row, pair) tables
/// cos/sin [seq, features / 2] (f32 HBM): (a, b) -> (a cos - b sin,
/// a sin + b cos), pairs interleaved (2i, 2i + 1) or split (i, i + hd / 2)
/// within each head of `headDim` features.
llvm::Error emitRope(ProgramEmitter &e, const HbmMatrix &x, BufferRef cos,
                     BufferRef sin, int64_t headDim, bool interleaved,
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
