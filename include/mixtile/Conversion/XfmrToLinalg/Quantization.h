//===- Quantization.h - run-time rounding as arith and linalg ---*- C++ -*-===//
//
// Builders for the number formats the CPU back end must apply at run time
// (activations and KV-cache rows). They emit integer and f32 arith ops that
// reproduce the Numerics library bit for bit; MLIR's own low-precision
// conversions are not used (see docs/Numerics.md for their traps).
//
// Each builder mirrors one routine of include/mixtile/Numerics: buildRoundTo
// is numerics::roundTo (MiniFloatRounder::round and roundToBF16), and
// buildFakeQuantize is numerics::fakeQuantize. The unit tests run every
// code and every rounding midpoint of every format through both.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_CONVERSION_XFMRTOLINALG_QUANTIZATION_H
#define MIXTILE_CONVERSION_XFMRTOLINALG_QUANTIZATION_H

#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace mixtile::cpu {

/// Returns numerics::roundTo(x, format, overflow) for an f32 scalar `x`.
/// `format` is any format but f8E8M0FNU (a scale format, never rounded to
/// at run time).
mlir::Value buildRoundTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                         numerics::FloatFormat format,
                         numerics::Overflow overflow);

/// Returns `x` (an f32 tensor of any rank) with every element rounded by
/// buildRoundTo.
mlir::Value buildRoundTensor(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value x, numerics::FloatFormat format,
                             numerics::Overflow overflow);

/// Returns numerics::fakeQuantize applied to each group of a [groups, rows,
/// cols] f32 tensor: every group is one matrix to the scheme (its tensor
/// scale, if any, is taken over the group), and block scales run along cols.
/// Dimensions may be dynamic except cols.
mlir::Value buildFakeQuantize(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value x,
                              const numerics::QuantScheme &scheme);

/// Returns `x` ([rows, cols] f32) quantized row by row, each row on its own
/// (the evaluator's per-token activation scales).
mlir::Value buildFakeQuantizeRows(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::Value x,
                                  const numerics::QuantScheme &scheme);

/// The index along k at which the activation codes of a BF16 x BF16 linear
/// hold x[.., k]: k + 1 - 2 (k mod 2), "pair order", which swaps the two
/// codes of every pair (2i, 2i + 1). The 32-bit word of pair i then holds
/// x[2i] in its high half, the half whose product AVX512-BF16's vdpbf16ps
/// adds first: its two products go into the sum in the order of k
/// (mixtile-cpu-vectorize-rows' bf16-dot). K must be even.
mlir::AffineExpr getBF16PairIndex(mlir::AffineExpr k);

/// Returns the bf16 codes (i16, the top halves of the f32s) of `x`, a
/// [rows, K] tensor with K even, in pair order along K (getBF16PairIndex):
/// for f32 `x` its values rounded to bf16 as the "bf16" activation scheme
/// rounds (buildFakeQuantize); for i16 `x` (bf16 codes in the order of k)
/// the same codes reordered. The same values in half the bytes, in the
/// form the linear's bf16 dot product reads.
mlir::Value buildBF16PairCodes(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value x);

} // namespace mixtile::cpu

#endif // MIXTILE_CONVERSION_XFMRTOLINALG_QUANTIZATION_H
