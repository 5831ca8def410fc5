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

/// Returns the bf16 codes of `x`, a [rows, K] tensor with K even, in pairs
/// along K: [rows, K / 2] i32 words holding the code of k = 2i in the high
/// half and that of 2i + 1 in the low half, as a linear's BF16 weights are
/// stored (WeightPack.h). For f32 `x`, its values rounded to bf16 as the
/// "bf16" activation scheme rounds (buildFakeQuantize); for i16 `x` (bf16
/// codes), the codes as they are. The same values in half the bytes, in the
/// form AVX512-BF16's vdpbf16ps multiplies.
mlir::Value buildBF16Pairs(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value x);

} // namespace mixtile::cpu

#endif // MIXTILE_CONVERSION_XFMRTOLINALG_QUANTIZATION_H
