//===- XfmrToLinalg.h - xfmr to linalg for the CPU back end -----*- C++ -*-===//
//
// The lowering behind convert-xfmr-to-linalg. It replaces the importers'
// @forward by @mixtile_forward, the CPU calling convention, whose body is
// linalg / tensor / arith / math on tensors and reproduces the reference
// evaluator bit for bit (docs/CpuBackend.md):
//
//   func.func @mixtile_forward(%tokens: memref<?xi32>,
//                              %positions: memref<?xi32>, %start: index,
//                              %weights: memref<?xi8>, %state: memref<?xi8>,
//                              %logits: memref<?xVOCABxf32>)
//
// `weights` is the payload of the weight pack (WeightPack.h), `state` holds
// the KV caches (each cache argument of @forward at a 64-byte aligned
// offset), `logits` receives one row per token. Functions returning i64
// describe the model to the runtime (the kInfo* symbols).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_CONVERSION_XFMRTOLINALG_XFMRTOLINALG_H
#define MIXTILE_CONVERSION_XFMRTOLINALG_XFMRTOLINALG_H

#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace mixtile::cpu {

/// The entry point of the CPU calling convention.
inline constexpr llvm::StringLiteral kForwardFunction = "mixtile_forward";

/// `() -> i64` functions describing the compiled model.
inline constexpr llvm::StringLiteral kInfoAbiVersion =
    "mixtile_info_abi_version";
inline constexpr llvm::StringLiteral kInfoVocabSize = "mixtile_info_vocab_size";
inline constexpr llvm::StringLiteral kInfoMaxSeqLen =
    "mixtile_info_max_seq_len";
inline constexpr llvm::StringLiteral kInfoStateBytes =
    "mixtile_info_state_bytes";
inline constexpr llvm::StringLiteral kInfoWeightBytes =
    "mixtile_info_weight_bytes";
inline constexpr llvm::StringLiteral kInfoWeightFingerprint =
    "mixtile_info_weight_fingerprint";
/// Token ids must be below this (the rows of the tables they index).
inline constexpr llvm::StringLiteral kInfoTokenLimit =
    "mixtile_info_token_limit";
/// Positions must be below this (the rows of tables positions index, e.g.
/// GPT-2's learned position embedding).
inline constexpr llvm::StringLiteral kInfoPositionLimit =
    "mixtile_info_position_limit";

/// Version of the calling convention (mixtile_info_abi_version).
inline constexpr int64_t kCpuAbiVersion = 1;

/// Lowers the @forward of `module` as described above. Emits an error on
/// the offending op and fails for IR the back end does not support; the
/// module is then left unchanged.
mlir::LogicalResult lowerXfmrToLinalg(mlir::ModuleOp module);

/// The value numerics::decode gives the `format` code (8 bits at most)
/// held in the low bits of the integer `code` (higher bits are ignored),
/// computed arithmetically: no table lookup, so that the kernels vectorize
/// without gathers.
/// Without `fixUps` the code is known to be one that needs none
/// (decodingNeedsFixUp), and the decoding skips them.
mlir::Value buildDecodeCode(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value code, numerics::FloatFormat format,
                            bool fixUps = true);

/// numerics::exp of the f32 `x`, as the operations it is defined by
/// (Elementary.h): LLVM vectorizes them, where a libm call stays scalar.
mlir::Value buildExp(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// Whether buildDecodeCode gets `code` wrong without its fix-ups: FP8's
/// NaN codes and E5M2's Inf codes (decoded through f32 bits) and, of the
/// formats decoded by the exponent-and-fraction formula, the codes it gets
/// wrong (E8M0's 0, 2^-127, and 255, NaN; no FP6 code). E2M1, BF16 and
/// F16 need none.
bool decodingNeedsFixUp(uint32_t code, numerics::FloatFormat format);

/// Whether a linear's decoding without fix-ups cannot take `scale` as the
/// tensor scale of its `format` codes: FP8 codes, decoded through f32 bits
/// at 2^-(127 - bias) times their values, take scale * 2^(127 - bias),
/// which must be finite (E4M3: scale < 2^8, a weight's largest magnitude
/// below 2^8 * 448; E5M2: scale < 2^16).
bool tensorScaleNeedsFixUp(float scale, numerics::FloatFormat format);

/// The linear kernel the lowering emits for y = x w^T (x [M, K] f32, or
/// for a weight stored in bf16 pairs (WeightPack.h's storesBF16Pairs) also
/// [M, K / 2] i32 pairs of bf16 codes (buildBF16Pairs), as BF16 activations
/// of such weights are; w [N, K] under `scheme`, nullopt: f32), on tensors
/// in the weight pack's
/// K-major layout (WeightPack.h): `data` the f32 values or codes,
/// `blockScales` / `tensorScale` (an f32 scalar) / `fixUpFlag` (an i32
/// scalar, nonzero when some code needs a fix-up, WeightPack.h) as the
/// scheme needs, or
/// null. For benchmarks and tests of the kernels on their own.
mlir::Value
buildLinearKernel(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                  int64_t outputs,
                  const std::optional<numerics::QuantScheme> &scheme,
                  mlir::Value data, mlir::Value blockScales,
                  mlir::Value tensorScale, mlir::Value fixUpFlag = {});

/// Adds to `module` a function `name` (with a C interface) on buffers that
/// runs buildLinearKernel for x [M, K] and a [N, K] weight under `scheme`:
/// its arguments are x (f32, or with `bf16Activations` i16 bf16 codes,
/// which it passes as pairs where the weight is stored in pairs and widens
/// to f32 otherwise),
/// the weight's arrays as the pack holds them K-major (getWeightEncoding:
/// the data, then the block scales, the tensor scale [1] f32 and the NaN
/// flag [1] i32 where the scheme has them), and y [M, N] f32, which it
/// writes. For benchmarks and tests of the kernels on their own.
void buildLinearKernelFunction(
    mlir::ModuleOp module, llvm::StringRef name, int64_t m, int64_t k,
    int64_t n, const std::optional<numerics::QuantScheme> &scheme,
    bool bf16Activations = false);

} // namespace mixtile::cpu

#endif // MIXTILE_CONVERSION_XFMRTOLINALG_XFMRTOLINALG_H
