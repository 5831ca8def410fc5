//===- Kernels.h - xfmr ops as linalg on tensors ----------------*- C++ -*-===//
//
// One builder per xfmr op. Each emits linalg.generic ops whose reductions
// run in the evaluator's order (include/mixtile/Evaluator/Kernels.h): a
// reduction dimension lowers to a loop ascending from 0, and every term is
// the f32 operation the evaluator performs, with math.fma where it fuses.
// Private to lib/Conversion/XfmrToLinalg.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_CONVERSION_XFMRTOLINALG_KERNELS_H
#define MIXTILE_LIB_CONVERSION_XFMRTOLINALG_KERNELS_H

#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace mixtile::cpu {

/// A weight as the kernels read it: f32 values, or codes plus scales with
/// the decode tables built from the Numerics library.
struct WeightTensors {
  /// nullopt: `data` holds f32 values.
  std::optional<numerics::QuantScheme> scheme;
  /// f32 values or codes ([rows, cols]; fp4: [rows, ceil(cols / 2)] bytes;
  /// the weight of a linear is K-major, [K, N], its fp4 codes in nibble
  /// planes, its bf16 codes with an even K in pairs, [K / 2, N] i32,
  /// WeightPack.h).
  mlir::Value data;
  /// Block scale codes [rows, blocks] (i8), or null.
  mlir::Value blockScales;
  /// The FP32 tensor scale (an f32 scalar), or null.
  mlir::Value tensorScale;
  /// For a linear's FP8 codes or E8M0 / E4M3 block scales, or null: an
  /// i32 scalar, nonzero when some code needs a fix-up of its decoding
  /// (WeightPack.h's fixUpFlag).
  mlir::Value fixUpFlag;
  /// Whether decodeWeight may skip the fix-ups of element and scale codes
  /// (none needs one, decodingNeedsFixUp).
  bool withoutFixUps = false;
  /// The rows of the logical [rows, cols] weight (a linear's N; fp4 codes
  /// alone do not tell an odd N).
  int64_t rows = 0;
  /// For fp4 codes, or null: the 16 E2M1 values (tensor<16xf32>), which
  /// decodeWeight then looks codes up in (one vpermps per 16 weights once
  /// vectorized, see VectorizeRows) instead of decoding them arithmetically.
  mlir::Value elementTable;
  /// Whether fp4 codes are words of nibble lanes (K-major, WeightPack.h)
  /// rather than bytes in Packing.h's order.
  bool nibbleLanes = false;

  bool isPackedFP4() const {
    return scheme && scheme->element == numerics::FloatFormat::F4E2M1FN;
  }
  /// Whether `data` holds bf16 codes in pairs along k (i32 words,
  /// WeightPack.h's storesBF16Pairs).
  bool isBF16Pairs() const {
    return isPlainBF16(scheme) && mlir::cast<mlir::ShapedType>(data.getType())
                                      .getElementType()
                                      .isInteger(32);
  }
};

/// The f32 value of one weight element: `data` is the element read from
/// `weight.data` (for fp4 the byte holding it), `scaleCode` the element's
/// block scale code (or null), `col` its column (an index; only fp4 codes
/// need it, to pick the nibble). Equal to the evaluator's fake-quantized
/// weight.
mlir::Value decodeWeight(mlir::OpBuilder &b, mlir::Location loc,
                         const WeightTensors &weight, mlir::Value data,
                         mlir::Value scaleCode, mlir::Value col);

/// y[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n] after the sum): x is
/// [rows, K] f32, or for a weight in bf16 pairs (WeightPack.h) bf16 codes
/// in pairs [rows, K / 2] (i32, buildBF16Pairs); w a decoded [N, K]
/// weight.
mlir::Value buildLinear(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                        const WeightTensors &weight, mlir::Value bias);

/// Batched [B, M, K] x [B, K, N] (or [B, N, K] with `transposeRhs`).
mlir::Value buildMatmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                        mlir::Value rhs, bool transposeRhs);

/// Rows of the [rows, dim] table at the 1-D `tokens`.
mlir::Value buildEmbedding(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value tokens, const WeightTensors &table,
                           int64_t dim);

/// RMSNorm / LayerNorm of every row of the [rows, dim] `x`.
mlir::Value buildRMSNorm(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                         mlir::Value weight, float epsilon);
mlir::Value buildLayerNorm(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value x, mlir::Value weight, mlir::Value bias,
                           float epsilon);

/// Rotary embedding of [seq, features] `x` at `positions` (1-D integers).
mlir::Value buildRope(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Value positions, int64_t headDim, float theta,
                      xfmr::RopeStyle style);

/// Which keys a query row sees: given the builder inside a generic whose
/// dimension `rowDim` is the row and `keyDim` the key, an i1 that is true
/// for visible keys (null: every key is visible).
using VisibilityFn = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, int64_t rowDim, int64_t keyDim)>;

/// Softmax of `x` along `axis`: subtract the max, exp, divide by the sum
/// accumulated in increasing index order; keys `visible` rejects take no
/// part (their results are unspecified). The max and the sum loop over
/// `axis` at loop depth `reductionLoop` (default: `axis`), the other
/// dimensions in order around it; `visible` sees the row at depth 0 and
/// the key at `reductionLoop`.
mlir::Value buildSoftmax(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                         int64_t axis, VisibilityFn visible = nullptr,
                         int64_t reductionLoop = -1);

/// The shape parameters of an attention op.
struct AttentionParams {
  int64_t heads, kvHeads, headDim;
  float scale;
  bool causal;
};

/// Multi-head attention of [seq, heads * headDim] queries over the keys,
/// transposed ([kvHeads * headDim, keys]), and the values, head-major
/// ([kvHeads, keys, headDim]); query row s sits at position `start` + s of
/// the keys (causal masking).
mlir::Value buildAttention(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value queries, mlir::Value keys,
                           mlir::Value values, mlir::Value start,
                           const AttentionParams &params);

/// Element-wise ops, with the evaluator's expressions.
mlir::Value buildSilu(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);
mlir::Value buildGelu(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      xfmr::GeluApproximation approximation);
mlir::Value buildAdd(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                     mlir::Value rhs);
mlir::Value buildMul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                     mlir::Value rhs);

} // namespace mixtile::cpu

#endif // MIXTILE_LIB_CONVERSION_XFMRTOLINALG_KERNELS_H
