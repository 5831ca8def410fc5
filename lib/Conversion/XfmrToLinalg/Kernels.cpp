//===- Kernels.cpp - xfmr ops as linalg on tensors ------------------------===//
//
// The order of every reduction is the evaluator's: a linalg.generic lowers
// to one loop per iteration dimension, outermost first, each ascending from
// 0, so the updates of an output element run in increasing order of its
// reduction dimensions. Kernels put the reduced dimension where the
// evaluator's loop is and write out each f32 operation of its expression
// (no contraction happens later: the generated code has no fast-math flags).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "Builders.h"

#include "mixtile/Conversion/XfmrToLinalg/Quantization.h"
#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"
#include "mixtile/Evaluator/Kernels.h"
#include "mixtile/Numerics/Elementary.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mixtile;
using namespace mixtile::cpu;
namespace nx = mixtile::numerics;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

/// A constant 1-D f32 tensor.
static Value f32Table(OpBuilder &b, Location loc, ArrayRef<float> values) {
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                    b.getF32Type());
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, values));
}

/// The f32 bit pattern of `code`'s value by the decoding formula: the
/// magnitude bits moved into an f32's exponent and fraction fields with the
/// exponent rebiased by 127 - bias (an integer add), which is the value of
/// every normal code; a subnormal code (exponent field 0) reads as
/// 2^-bias * (1 + f) and becomes 2^(1 - bias) * f = (that - 2^-bias) * 2,
/// both steps exact. No step sees an f32 subnormal, which would cost the
/// CPU a microcode assist per vector. The formula is exact for every finite
/// code; the codes it gets wrong (NaN, Inf, E8M0's 2^-127) are patched.
static uint32_t formulaBits(uint32_t code, const nx::FormatInfo &info) {
  unsigned magnitudeBits = info.bits - (info.hasSign ? 1 : 0);
  uint32_t magnitude = code & ((1u << magnitudeBits) - 1);
  uint32_t sign = info.hasSign ? (code >> magnitudeBits) & 1 : 0;
  uint32_t normalBits = (magnitude << (23 - info.mantissaBits)) +
                        (static_cast<uint32_t>(127 - info.bias) << 23);
  float value = llvm::bit_cast<float>(normalBits);
  if (info.mantissaBits > 0 && magnitude < (1u << info.mantissaBits))
    value = (value - std::ldexp(1.0f, -info.bias)) * 2.0f;
  return llvm::bit_cast<uint32_t>(value) | (sign << 31);
}

/// The f16 fields of FP8 `code` (see decodeFP8ThroughF16) with its NaN
/// codes (E4M3's magnitude 0x7f, which would read as 480; E5M2's
/// 0x7d-0x7f, whose payloads the library does not keep) made the f16 quiet
/// NaN of their sign, which widens to the f32 one. E4M3's NaN fields,
/// 0x3f80 under the sign, plus 0x3e80 are 0x7e00 under the sign: one
/// masked add (AVX-512 masks logic ops per 32 bits, adds per 16).
static Value patchFP8NaNCodes(ScalarBuilder &s, Value code, Value fields,
                              bool isE5M2) {
  OpBuilder &b = s.b;
  Location loc = s.loc;
  auto i16 = [&](uint16_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI16Type(), v);
  };
  Value magnitude = arith::AndIOp::create(
      b, loc, code, arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0x7f));
  Value isNaN =
      arith::CmpIOp::create(b, loc, CmpIPredicate::uge, magnitude,
                            arith::ConstantIntOp::create(b, loc, b.getI8Type(),
                                                         isE5M2 ? 0x7d : 0x7f));
  Value nanFields =
      isE5M2 ? Value(arith::OrIOp::create(
                   b, loc, arith::AndIOp::create(b, loc, fields, i16(0x8000)),
                   i16(0x7e00)))
             : Value(arith::AddIOp::create(b, loc, fields, i16(0x3e80)));
  return s.select(isNaN, nanFields, fields);
}

/// The value of the FP8 code `code` (i8) times `factor` (null: 1),
/// through f16, whose conversion to f32 is one instruction on x86
/// (vcvtph2ps) and exact: an E5M2 code is the top byte of the f16 of its
/// value; an E4M3 code, sign-extended to 16 bits and shifted left by 7, has
/// its exponent and mantissa fields in the f16's (bit 14 cleared), which
/// reads as its value times 2^-8 (f16's bias is 15, E4M3's 7), normal or
/// subnormal. The widened f16 is multiplied by 2^8 * factor: exactly the
/// product of the value and `factor` when 2^8 * factor is exact (finite),
/// as a tensor scale from computeFP8TensorScale (at most FLT_MAX / 448) is.
/// Without `fixUps` the caller knows that no code is a NaN code.
static Value decodeFP8ThroughF16(ScalarBuilder &s, Value code,
                                 nx::FloatFormat format, Value factor = {},
                                 bool fixUps = true) {
  OpBuilder &b = s.b;
  Location loc = s.loc;
  auto i16 = [&](uint16_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI16Type(), v);
  };
  bool isE5M2 = format == nx::FloatFormat::F8E5M2;
  Value wide =
      isE5M2 ? Value(arith::ExtUIOp::create(b, loc, b.getI16Type(), code))
             : Value(arith::ExtSIOp::create(b, loc, b.getI16Type(), code));
  Value fields = arith::ShLIOp::create(b, loc, wide, i16(isE5M2 ? 8 : 7));
  if (!isE5M2)
    fields = arith::AndIOp::create(b, loc, fields, i16(0xBF80));
  if (fixUps)
    fields = patchFP8NaNCodes(s, code, fields, isE5M2);
  Value half = arith::BitcastOp::create(b, loc, b.getF16Type(), fields);
  Value value = arith::ExtFOp::create(b, loc, b.getF32Type(), half);
  if (!isE5M2)
    factor =
        factor
            ? arith::MulFOp::create(b, loc, factor, s.f32(256.0f)).getResult()
            : s.f32(256.0f);
  return factor ? arith::MulFOp::create(b, loc, value, factor).getResult()
                : value;
}

/// The FP8 `code` (i8) times `factor`, for a code that needs no fix-up
/// (not E4M3's NaN codes, nor E5M2's Inf and NaN codes) and a finite
/// `factor` times the format's F32BitsLayout::factor, through f32 bits:
/// sign-extended to 32 bits and shifted left, the code's exponent and
/// mantissa fields are the f32's low exponent bits and high mantissa bits
/// and its sign the f32's, the rest masked off: the code's value times
/// 2^-(127 - bias), normal or, for subnormal codes, subnormal. Times
/// factor * 2^(127 - bias) that is the value times factor, rounded once, as
/// numerics::dequantize's product. Three integer ops and a multiply per
/// vector against decodeFP8ThroughF16's four and vcvtph2ps: the one-row
/// E4M3 kernel ran 17% faster on Zen 4, whose multiplies take subnormal
/// inputs at full rate (docs/CpuBackend.md).
struct F32BitsLayout {
  /// The shift that puts the code's lowest exponent bit at f32's bit 23.
  uint32_t shift;
  /// The sign, the code's exponent bits and its mantissa bits, shifted.
  uint32_t mask;
  /// 2^(127 - bias): what the f32 bits are short of the code's value.
  float factor;
};

static std::optional<F32BitsLayout> getF32BitsLayout(nx::FloatFormat format) {
  switch (format) {
  case nx::FloatFormat::F8E4M3FN:
    return F32BitsLayout{20, 0x87f00000u, 0x1p120f};
  case nx::FloatFormat::F8E5M2:
    return F32BitsLayout{21, 0x8fe00000u, 0x1p112f};
  default:
    return std::nullopt;
  }
}

/// Whether `code` (of `format`) is decoded by decodeFP8ThroughF32Bits: an
/// i8 FP8 code known to need no fix-up.
static bool decodesThroughF32Bits(nx::FloatFormat format, Type codeType,
                                  bool fixUps) {
  return !fixUps && getF32BitsLayout(format) && codeType.isInteger(8);
}

static Value decodeFP8ThroughF32Bits(ScalarBuilder &s, Value code,
                                     nx::FloatFormat format, Value factor) {
  OpBuilder &b = s.b;
  Location loc = s.loc;
  F32BitsLayout layout = *getF32BitsLayout(format);
  Value wide = arith::ExtSIOp::create(b, loc, b.getI32Type(), code);
  Value fields = arith::AndIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, wide, s.u32(layout.shift)),
      s.u32(layout.mask));
  Value scaled =
      factor ? arith::MulFOp::create(b, loc, factor, s.f32(layout.factor))
                   .getResult()
             : s.f32(layout.factor);
  return arith::MulFOp::create(b, loc, s.fromBits(fields), scaled);
}

/// Whether decodeFP8ThroughF16 decodes `format` codes of type `codeType`.
static bool decodesThroughF16(nx::FloatFormat format, Type codeType) {
  return (format == nx::FloatFormat::F8E4M3FN ||
          format == nx::FloatFormat::F8E5M2) &&
         codeType.isInteger(8);
}

/// The E2M1 code at bits 9-12 of the i16 `positioned` (other bits
/// anything) through f16, as decodeFP8ThroughF16: exponent and mantissa
/// at the bottom of the f16's fields read as the value times 2^-14 (f16's
/// bias is 15, E2M1's 1), normal or subnormal, and 2^14 is exact.
static Value decodeE2M1ThroughF16(ScalarBuilder &s, Value positioned) {
  OpBuilder &b = s.b;
  Location loc = s.loc;
  auto i16 = [&](uint16_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI16Type(), v);
  };
  Value code = arith::AndIOp::create(b, loc, positioned, i16(0x1E00));
  Value sign = arith::AndIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, code, i16(3)), i16(0x8000));
  Value fields = arith::OrIOp::create(
      b, loc, arith::AndIOp::create(b, loc, code, i16(0x0E00)), sign);
  Value half = arith::BitcastOp::create(b, loc, b.getF16Type(), fields);
  Value value = arith::ExtFOp::create(b, loc, b.getF32Type(), half);
  return arith::MulFOp::create(b, loc, value, s.f32(16384.0f));
}

/// The value of the `format` code held in the low bits of the integer
/// `code` (at most 8 bits wide), as numerics::decode gives it; without
/// `fixUps`, for codes that do not need them (decodingNeedsFixUp).
static Value decodeMiniFloat(ScalarBuilder &s, Value code,
                             nx::FloatFormat format, bool fixUps = true) {
  OpBuilder &b = s.b;
  Location loc = s.loc;
  if (decodesThroughF32Bits(format, code.getType(), fixUps))
    return decodeFP8ThroughF32Bits(s, code, format, {});
  if (decodesThroughF16(format, code.getType()))
    return decodeFP8ThroughF16(s, code, format, {}, fixUps);
  if (format == nx::FloatFormat::F4E2M1FN && code.getType().isInteger(8)) {
    Value wide = arith::ExtUIOp::create(b, loc, b.getI16Type(), code);
    return decodeE2M1ThroughF16(
        s, arith::ShLIOp::create(
               b, loc, wide,
               arith::ConstantIntOp::create(b, loc, b.getI16Type(), 9)));
  }
  const nx::FormatInfo &info = nx::getFormatInfo(format);
  unsigned magnitudeBits = info.bits - (info.hasSign ? 1 : 0);
  Value wide = arith::ExtUIOp::create(b, loc, b.getI32Type(), code);
  if (info.bits < 8)
    wide = arith::AndIOp::create(b, loc, wide, s.u32((1u << info.bits) - 1));
  Value magnitude =
      arith::AndIOp::create(b, loc, wide, s.u32((1u << magnitudeBits) - 1));
  Value fieldBits =
      arith::ShLIOp::create(b, loc, magnitude, s.u32(23 - info.mantissaBits));
  if (info.bias != 127)
    fieldBits = arith::AddIOp::create(
        b, loc, fieldBits, s.u32(static_cast<uint32_t>(127 - info.bias) << 23));
  Value value = s.fromBits(fieldBits);
  if (info.mantissaBits > 0) {
    Value isSubnormal =
        s.cmpi(CmpIPredicate::ult, magnitude, s.u32(1u << info.mantissaBits));
    Value fraction = arith::SubFOp::create(b, loc, value,
                                           s.f32(std::ldexp(1.0f, -info.bias)));
    Value subnormal = arith::MulFOp::create(b, loc, fraction, s.f32(2.0f));
    value = s.select(isSubnormal, subnormal, value);
  }
  if (info.hasSign) {
    Value sign = arith::ShLIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, wide, s.u32(magnitudeBits)),
        s.u32(31));
    value = s.fromBits(arith::OrIOp::create(b, loc, s.bits(value), sign));
  }
  for (uint32_t c = 0; fixUps && c < (1u << info.bits); ++c) {
    uint32_t expected = llvm::bit_cast<uint32_t>(nx::decode(c, format));
    if (formulaBits(c, info) == expected)
      continue;
    Value isCode = s.cmpi(CmpIPredicate::eq, wide, s.u32(c));
    value = s.select(isCode, s.fromBits(s.u32(expected)), value);
  }
  return value;
}

/// The f32 value of an element code (before scaling).
static Value decodeElement(ScalarBuilder &s, const WeightTensors &weight,
                           Value data, Value col) {
  OpBuilder &b = s.b;
  Location loc = s.loc;
  switch (weight.scheme->element) {
  case nx::FloatFormat::BF16:
    return s.fromBF16Code(data);
  case nx::FloatFormat::F16: {
    // f16 -> f32 is exact, NaN codes included (quantize() writes canonical
    // quiet NaNs, which widen to the canonical f32 NaN).
    Value half = arith::BitcastOp::create(b, loc, b.getF16Type(), data);
    return arith::ExtFOp::create(b, loc, b.getF32Type(), half);
  }
  case nx::FloatFormat::F4E2M1FN: {
    if (weight.nibbleLanes) {
      // A word of nibble lanes: the code `getNibbleShift` bits up.
      Value lane = arith::MulIOp::create(
          b, loc,
          arith::RemUIOp::create(
              b, loc,
              arith::DivUIOp::create(b, loc, col, s.index(kNibbleGroupWords)),
              s.index(kNibbleGroupColumns / kNibbleGroupWords)),
          s.index(4));
      Value nibble = arith::AndIOp::create(
          b, loc,
          arith::ShRUIOp::create(
              b, loc, data,
              arith::IndexCastOp::create(b, loc, b.getI32Type(), lane)),
          s.u32(15));
      if (weight.elementTable)
        return tensor::ExtractOp::create(b, loc, weight.elementTable,
                                         ValueRange{s.toIndex(nibble)});
      Value code = arith::TruncIOp::create(b, loc, b.getI16Type(), nibble);
      return decodeE2M1ThroughF16(
          s, arith::ShLIOp::create(
                 b, loc, code, arith::ConstantIntOp::create(b, loc, 9, 16)));
    }
    // In rows, column 2i is the low nibble of byte i, column 2i + 1 the
    // high one.
    Value highBits = arith::MulIOp::create(
        b, loc, arith::RemUIOp::create(b, loc, col, s.index(2)), s.index(4));
    if (weight.elementTable) {
      Value shift =
          arith::IndexCastOp::create(b, loc, b.getI32Type(), highBits);
      Value wide = arith::ExtUIOp::create(b, loc, b.getI32Type(), data);
      Value nibble = arith::AndIOp::create(
          b, loc, arith::ShRUIOp::create(b, loc, wide, shift), s.u32(15));
      return tensor::ExtractOp::create(b, loc, weight.elementTable,
                                       ValueRange{s.toIndex(nibble)});
    }
    // Shifting by 9 or 5 puts either at bits 9-12.
    Value shift = arith::IndexCastOp::create(
        b, loc, b.getI16Type(),
        arith::SubIOp::create(b, loc, s.index(9), highBits));
    Value wide = arith::ExtUIOp::create(b, loc, b.getI16Type(), data);
    return decodeE2M1ThroughF16(s, arith::ShLIOp::create(b, loc, wide, shift));
  }
  default:
    return decodeMiniFloat(s, data, weight.scheme->element,
                           !weight.withoutFixUps);
  }
}

bool mixtile::cpu::decodingNeedsFixUp(uint32_t code, nx::FloatFormat format) {
  const nx::FormatInfo &info = nx::getFormatInfo(format);
  if (info.bits > 8 || format == nx::FloatFormat::F4E2M1FN)
    return false; // BF16, F16 and E2M1 have no fix-ups.
  code &= (1u << info.bits) - 1;
  float value = nx::decode(code, format);
  // NaN codes for decodeFP8ThroughF16, and for decodeFP8ThroughF32Bits
  // also E5M2's Inf codes (their exponent field is all ones).
  if (format == nx::FloatFormat::F8E4M3FN || format == nx::FloatFormat::F8E5M2)
    return !std::isfinite(value);
  return formulaBits(code, info) != llvm::bit_cast<uint32_t>(value);
}

bool mixtile::cpu::tensorScaleNeedsFixUp(float scale, nx::FloatFormat format) {
  std::optional<F32BitsLayout> layout = getF32BitsLayout(format);
  return layout && !std::isfinite(scale * layout->factor);
}

Value mixtile::cpu::buildDecodeCode(OpBuilder &b, Location loc, Value code,
                                    nx::FloatFormat format, bool fixUps) {
  ScalarBuilder s(b, loc);
  return decodeMiniFloat(s, code, format, fixUps);
}

Value mixtile::cpu::decodeWeight(OpBuilder &b, Location loc,
                                 const WeightTensors &weight, Value data,
                                 Value scaleCode, Value col) {
  if (!weight.scheme)
    return data;
  ScalarBuilder s(b, loc);
  // An FP8 code's f32 bits or f16 are scaled by a power of two and the
  // tensor scale in one multiply.
  bool tensorScaled = weight.scheme->scale == nx::ScaleKind::TensorF32;
  if (tensorScaled &&
      decodesThroughF32Bits(weight.scheme->element, data.getType(),
                            !weight.withoutFixUps))
    return decodeFP8ThroughF32Bits(s, data, weight.scheme->element,
                                   weight.tensorScale);
  if (tensorScaled && decodesThroughF16(weight.scheme->element, data.getType()))
    return decodeFP8ThroughF16(s, data, weight.scheme->element,
                               weight.tensorScale, !weight.withoutFixUps);
  Value element = decodeElement(s, weight, data, col);
  // The products of numerics::dequantize, in its order.
  switch (weight.scheme->scale) {
  case nx::ScaleKind::None:
    return element;
  case nx::ScaleKind::TensorF32:
    return arith::MulFOp::create(b, loc, element, weight.tensorScale);
  case nx::ScaleKind::BlockE8M0: {
    Value scale =
        decodeMiniFloat(s, scaleCode, nx::getBlockScaleFormat(*weight.scheme),
                        !weight.withoutFixUps);
    return arith::MulFOp::create(b, loc, element, scale);
  }
  case nx::ScaleKind::BlockE4M3WithTensorF32: {
    Value scale =
        decodeMiniFloat(s, scaleCode, nx::getBlockScaleFormat(*weight.scheme),
                        !weight.withoutFixUps);
    Value scaledByBlock = arith::MulFOp::create(b, loc, element, scale);
    return arith::MulFOp::create(b, loc, scaledByBlock, weight.tensorScale);
  }
  }
  llvm_unreachable("unknown scale kind");
}

/// The map from the (m, n, k) loops of a linear to `row` and column n of a
/// K-major array: [row, n], or in panels of P columns (a rank-3 array
/// [N / P, rows, P]) [n / P, row, n mod P]. With `nibbleLanes` (fp4
/// codes) the last index is the word of the column's nibble-lane order
/// (getNibbleWord) instead, within a panel's P / 8 words.
static AffineMap kMajorMap(MLIRContext *ctx, Value array, AffineExpr row,
                           bool nibbleLanes) {
  AffineExpr n = getAffineDimExpr(1, ctx);
  auto type = cast<ShapedType>(array.getType());
  auto element = [&](AffineExpr column) {
    if (!nibbleLanes)
      return column;
    return column.floorDiv(kNibbleGroupColumns) * kNibbleGroupWords +
           column % kNibbleGroupWords;
  };
  if (type.getRank() == 2)
    return AffineMap::get(3, 0, {row, element(n)}, ctx);
  int64_t panel = type.getDimSize(2) * (nibbleLanes ? 8 : 1);
  return AffineMap::get(3, 0, {n.floorDiv(panel), row, element(n % panel)},
                        ctx);
}

/// The maps from the (m, n, k) loops of a linear to the element of the
/// K-major `weight.data` holding weight (n, k), at [k, n] (fp4: the byte of
/// n), and to its block scale, at [k / block, n] (or their panels).
static AffineMap dataMap(MLIRContext *ctx, const WeightTensors &weight) {
  return kMajorMap(ctx, weight.data, getAffineDimExpr(2, ctx),
                   weight.isPackedFP4());
}

static AffineMap scaleMap(MLIRContext *ctx, const WeightTensors &weight) {
  AffineExpr k = getAffineDimExpr(2, ctx);
  return kMajorMap(ctx, weight.blockScales,
                   k.floorDiv(weight.scheme->blockSize), false);
}

/// The value of every E2M1 code, as numerics::decode gives it.
static Value buildE2M1Table(OpBuilder &b, Location loc) {
  SmallVector<float, 16> values;
  for (unsigned code = 0; code < 16; ++code)
    values.push_back(nx::decode(code, nx::FloatFormat::F4E2M1FN));
  auto type = RankedTensorType::get({16}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, ArrayRef<float>(values)));
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

/// The product of a linear whose BF16 weight is stored in pairs along k
/// (WeightPack.h) over the pairs i: x is f32 [rows, K], read at k = 2i and
/// 2i + 1, or pairs of bf16 codes [rows, K / 2] (buildBF16Pairs). Each
/// pair adds the FMA of k = 2i, then that of 2i + 1: k in order, as
/// kernels::linear.
static Value buildBF16PairProduct(OpBuilder &b, Location loc, Value x,
                                  const WeightTensors &weight, Value init) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), pair = getAffineDimExpr(2, ctx);
  bool codes = cast<ShapedType>(x.getType()).getElementType().isInteger(32);
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps;
  if (codes) {
    maps.push_back(AffineMap::get(3, 0, {m, pair}, ctx));
  } else {
    inputs.push_back(x);
    maps.push_back(AffineMap::get(3, 0, {m, pair * 2}, ctx));
    maps.push_back(AffineMap::get(3, 0, {m, pair * 2 + 1}, ctx));
  }
  inputs.push_back(weight.data);
  maps.push_back(dataMap(ctx, weight));
  maps.push_back(projection(ctx, 3, {0, 1}));
  return buildGeneric(
      b, loc, inputs, init, maps, iteratorTypes(2, 1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder ns(nb, nl);
        Value word = args[args.size() - 2], acc = args.back();
        Value even = codes ? ns.fromHighBF16(args[0]) : args[0];
        Value odd = codes ? ns.fromLowBF16(args[0]) : args[1];
        Value first =
            math::FmaOp::create(nb, nl, even, ns.fromHighBF16(word), acc);
        return math::FmaOp::create(nb, nl, odd, ns.fromLowBF16(word), first)
            .getResult();
      });
}

Value mixtile::cpu::buildLinear(OpBuilder &b, Location loc, Value x,
                                const WeightTensors &weight, Value bias) {
  MLIRContext *ctx = b.getContext();
  ScalarBuilder s(b, loc);
  OpFoldResult rows = getSizes(b, loc, x)[0];
  Value init =
      filledTensor(b, loc, {rows, b.getIndexAttr(weight.rows)}, s.f32(0.0f));
  // (m, n, k): k innermost and ascending, as kernels::linear.
  WeightTensors decoded = weight;
  if (weight.isPackedFP4()) {
    decoded.elementTable = buildE2M1Table(b, loc);
    decoded.nibbleLanes = true;
  }
  SmallVector<Value> inputs = {x, weight.data};
  SmallVector<AffineMap> maps = {projection(ctx, 3, {0, 2}),
                                 dataMap(ctx, weight)};
  if (weight.blockScales) {
    inputs.push_back(weight.blockScales);
    maps.push_back(scaleMap(ctx, weight));
  }
  maps.push_back(projection(ctx, 3, {0, 1}));
  auto product = [&](OpBuilder &pb, Location pl, const WeightTensors &w) {
    return buildGeneric(
        pb, pl, inputs, init, maps, iteratorTypes(2, 1),
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          ScalarBuilder ns(nb, nl);
          Value scaleCode = w.blockScales ? args[2] : Value();
          // Only fp4 codes need their column n (to pick the nibble).
          Value col = w.isPackedFP4() ? ns.loopIndex(1) : Value();
          Value value = decodeWeight(nb, nl, w, args[1], scaleCode, col);
          return math::FmaOp::create(nb, nl, args[0], value, args.back())
              .getResult();
        });
  };
  assert((!cast<ShapedType>(x.getType()).getElementType().isInteger(32) ||
          weight.isBF16Pairs()) &&
         "pairs of bf16 codes only multiply weights in pairs");
  Value y;
  if (weight.isBF16Pairs()) {
    y = buildBF16PairProduct(b, loc, x, weight, init);
  } else if (!weight.fixUpFlag) {
    y = product(b, loc, decoded);
  } else {
    // A product without the fix-ups of the decodings unless the pack says
    // some code needs one: FP8 codes' NaN fix-up is 3 of their 10 vector
    // ops per 16 weights, E8M0 block scales' (2^-127, NaN) 4 of their 6
    // per 16 columns and block. Both give the same results on codes that
    // need none.
    WeightTensors withoutFixUps = decoded;
    withoutFixUps.withoutFixUps = true;
    Value anyFixUp = arith::CmpIOp::create(
        b, loc, CmpIPredicate::ne, weight.fixUpFlag,
        arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0));
    auto branch = scf::IfOp::create(
        b, loc, anyFixUp,
        [&](OpBuilder &tb, Location tl) {
          scf::YieldOp::create(tb, tl, product(tb, tl, decoded));
        },
        [&](OpBuilder &eb, Location el) {
          scf::YieldOp::create(eb, el, product(eb, el, withoutFixUps));
        });
    y = branch.getResult(0);
  }
  if (!bias)
    return y;
  // The bias is added once the sum is complete.
  Value biased = emptyTensor(b, loc, getSizes(b, loc, y), b.getF32Type());
  return buildGeneric(
      b, loc, {y, bias}, biased,
      {b.getMultiDimIdentityMap(2), projection(ctx, 2, {1}),
       b.getMultiDimIdentityMap(2)},
      iteratorTypes(2), [](OpBuilder &nb, Location nl, ValueRange args) {
        return arith::AddFOp::create(nb, nl, args[0], args[1]).getResult();
      });
}

Value mixtile::cpu::buildLinearKernel(
    OpBuilder &b, Location loc, Value x, int64_t outputs,
    const std::optional<nx::QuantScheme> &scheme, Value data, Value blockScales,
    Value tensorScale, Value fixUpFlag) {
  WeightTensors weight;
  weight.scheme = scheme;
  weight.data = data;
  weight.blockScales = blockScales;
  weight.tensorScale = tensorScale;
  weight.fixUpFlag = fixUpFlag;
  weight.rows = outputs;
  return buildLinear(b, loc, x, weight, /*bias=*/Value());
}

void mixtile::cpu::buildLinearKernelFunction(
    ModuleOp module, StringRef name, int64_t m, int64_t k, int64_t n,
    const std::optional<nx::QuantScheme> &scheme, bool bf16Activations) {
  MLIRContext *ctx = module.getContext();
  WeightEncoding encoding = getWeightEncoding(ctx, {n, k}, scheme,
                                              /*kMajor=*/true);
  OpBuilder b(ctx);
  Location loc = module.getLoc();
  b.setInsertionPointToEnd(module.getBody());
  Type activation = bf16Activations ? Type(b.getI16Type()) : b.getF32Type();
  SmallVector<Type> args = {
      MemRefType::get({m, k}, activation),
      MemRefType::get(encoding.data.shape, encoding.data.elementType)};
  if (encoding.blockScales)
    args.push_back(MemRefType::get(encoding.blockScales->shape,
                                   encoding.blockScales->elementType));
  if (encoding.tensorScale)
    args.push_back(MemRefType::get({1}, b.getF32Type()));
  if (encoding.fixUpFlag)
    args.push_back(MemRefType::get({1}, b.getI32Type()));
  args.push_back(MemRefType::get({m, n}, b.getF32Type()));
  auto func = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  auto tensorOf = [&](Value buffer) -> Value {
    auto type = cast<MemRefType>(buffer.getType());
    return bufferization::ToTensorOp::create(
        b, loc, RankedTensorType::get(type.getShape(), type.getElementType()),
        buffer, /*restrict=*/true);
  };
  auto scalar = [&](Value buffer) -> Value {
    return tensor::ExtractOp::create(
        b, loc, tensorOf(buffer),
        ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
  };
  unsigned next = 2;
  Value scales =
      encoding.blockScales ? tensorOf(entry->getArgument(next++)) : Value();
  Value tensorScale =
      encoding.tensorScale ? scalar(entry->getArgument(next++)) : Value();
  Value fixUpFlag =
      encoding.fixUpFlag ? scalar(entry->getArgument(next++)) : Value();
  Value x = tensorOf(entry->getArgument(0));
  if (bf16Activations && storesBF16Pairs(scheme, {n, k}, /*kMajor=*/true)) {
    x = buildBF16Pairs(b, loc, x);
  } else if (bf16Activations) {
    // Other weights take f32 activations: the codes' values.
    x = buildMap(b, loc, x, b.getF32Type(),
                 [](OpBuilder &nb, Location nl, ValueRange args) {
                   return ScalarBuilder(nb, nl).fromBF16Code(args[0]);
                 });
  }
  Value y =
      buildLinearKernel(b, loc, x, n, scheme, tensorOf(entry->getArgument(1)),
                        scales, tensorScale, fixUpFlag);
  auto materialize = bufferization::MaterializeInDestinationOp::create(
      b, loc, y, entry->getArgument(next));
  materialize.setRestrict(true);
  materialize.setWritable(true);
  func::ReturnOp::create(b, loc);
}

Value mixtile::cpu::buildMatmul(OpBuilder &b, Location loc, Value lhs,
                                Value rhs, bool transposeRhs) {
  MLIRContext *ctx = b.getContext();
  ScalarBuilder s(b, loc);
  SmallVector<OpFoldResult> lhsSizes = getSizes(b, loc, lhs);
  SmallVector<OpFoldResult> rhsSizes = getSizes(b, loc, rhs);
  OpFoldResult cols = transposeRhs ? rhsSizes[1] : rhsSizes[2];
  Value init =
      filledTensor(b, loc, {lhsSizes[0], lhsSizes[1], cols}, s.f32(0.0f));
  // (batch, m, n, k) with k innermost: FMAs over k ascending.
  AffineMap rhsMap = transposeRhs ? projection(ctx, 4, {0, 2, 3})
                                  : projection(ctx, 4, {0, 3, 2});
  return buildGeneric(
      b, loc, {lhs, rhs}, init,
      {projection(ctx, 4, {0, 1, 3}), rhsMap, projection(ctx, 4, {0, 1, 2})},
      iteratorTypes(3, 1), [](OpBuilder &nb, Location nl, ValueRange args) {
        return math::FmaOp::create(nb, nl, args[0], args[1], args[2])
            .getResult();
      });
}

//===----------------------------------------------------------------------===//
// Embedding and normalisation
//===----------------------------------------------------------------------===//

Value mixtile::cpu::buildEmbedding(OpBuilder &b, Location loc, Value tokens,
                                   const WeightTensors &table, int64_t dim) {
  MLIRContext *ctx = b.getContext();
  Value init =
      emptyTensor(b, loc, {getSizes(b, loc, tokens)[0], b.getIndexAttr(dim)},
                  b.getF32Type());
  return buildGeneric(
      b, loc, tokens, init,
      {projection(ctx, 2, {0}), b.getMultiDimIdentityMap(2)}, iteratorTypes(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder ns(nb, nl);
        // Token ids are checked against the table by the runtime.
        Value row = ns.toIndex(args[0]);
        Value col = ns.loopIndex(1);
        Value dataCol =
            table.isPackedFP4()
                ? arith::DivUIOp::create(nb, nl, col, ns.index(2)).getResult()
                : col;
        Value data =
            tensor::ExtractOp::create(nb, nl, table.data, {row, dataCol});
        Value scaleCode;
        if (table.blockScales) {
          Value block = arith::DivUIOp::create(
              nb, nl, col, ns.index(table.scheme->blockSize));
          scaleCode = tensor::ExtractOp::create(nb, nl, table.blockScales,
                                                {row, block});
        }
        return decodeWeight(nb, nl, table, data, scaleCode, col);
      });
}

/// `1 / sqrt(sum / n + epsilon)` of every element of the 1-D `sums`.
static Value reciprocalRoot(OpBuilder &b, Location loc, Value sums, int64_t n,
                            float epsilon) {
  return buildMap(
      b, loc, sums, b.getF32Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        Value mean = arith::DivFOp::create(nb, nl, args[0],
                                           s.f32(static_cast<float>(n)));
        Value root = math::SqrtOp::create(
            nb, nl, arith::AddFOp::create(nb, nl, mean, s.f32(epsilon)));
        return arith::DivFOp::create(nb, nl, s.f32(1.0f), root).getResult();
      });
}

/// A per-row sum over the [rows, cols] `x` from 0 in increasing column
/// order: `term(x, row inputs..., acc)` gives the new partial sum.
static Value rowReduction(OpBuilder &b, Location loc, ValueRange inputs,
                          GenericBody term) {
  MLIRContext *ctx = b.getContext();
  ScalarBuilder s(b, loc);
  Value init =
      filledTensor(b, loc, {getSizes(b, loc, inputs[0])[0]}, s.f32(0.0f));
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(2)};
  for (size_t i = 1; i < inputs.size(); ++i)
    maps.push_back(projection(ctx, 2, {0}));
  maps.push_back(projection(ctx, 2, {0}));
  return buildGeneric(b, loc, inputs, init, maps, iteratorTypes(1, 1), term);
}

Value mixtile::cpu::buildRMSNorm(OpBuilder &b, Location loc, Value x,
                                 Value weight, float epsilon) {
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(1);
  Value squares =
      rowReduction(b, loc, x, [](OpBuilder &nb, Location nl, ValueRange args) {
        return math::FmaOp::create(nb, nl, args[0], args[0], args[1])
            .getResult();
      });
  Value r = reciprocalRoot(b, loc, squares, n, epsilon);
  Value init = emptyTensor(b, loc, getSizes(b, loc, x), b.getF32Type());
  return buildGeneric(
      b, loc, {x, weight, r}, init,
      {b.getMultiDimIdentityMap(2), projection(ctx, 2, {1}),
       projection(ctx, 2, {0}), b.getMultiDimIdentityMap(2)},
      iteratorTypes(2), [](OpBuilder &nb, Location nl, ValueRange args) {
        Value normalized = arith::MulFOp::create(nb, nl, args[0], args[2]);
        return arith::MulFOp::create(nb, nl, args[1], normalized).getResult();
      });
}

Value mixtile::cpu::buildLayerNorm(OpBuilder &b, Location loc, Value x,
                                   Value weight, Value bias, float epsilon) {
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(1);
  Value sums =
      rowReduction(b, loc, x, [](OpBuilder &nb, Location nl, ValueRange args) {
        return arith::AddFOp::create(nb, nl, args[1], args[0]).getResult();
      });
  Value means =
      buildMap(b, loc, sums, b.getF32Type(),
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 ScalarBuilder s(nb, nl);
                 return arith::DivFOp::create(nb, nl, args[0],
                                              s.f32(static_cast<float>(n)))
                     .getResult();
               });
  Value variances = rowReduction(
      b, loc, {x, means}, [](OpBuilder &nb, Location nl, ValueRange args) {
        Value d = arith::SubFOp::create(nb, nl, args[0], args[1]);
        return math::FmaOp::create(nb, nl, d, d, args[2]).getResult();
      });
  Value r = reciprocalRoot(b, loc, variances, n, epsilon);
  Value init = emptyTensor(b, loc, getSizes(b, loc, x), b.getF32Type());
  AffineMap identity = b.getMultiDimIdentityMap(2);
  AffineMap perRow = projection(ctx, 2, {0});
  AffineMap perCol = projection(ctx, 2, {1});
  return buildGeneric(
      b, loc, {x, means, r, weight, bias}, init,
      {identity, perRow, perRow, perCol, perCol, identity}, iteratorTypes(2),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        // (x - mean) * r * w + b, left to right.
        Value centered = arith::SubFOp::create(nb, nl, args[0], args[1]);
        Value normalized = arith::MulFOp::create(nb, nl, centered, args[2]);
        Value scaled = arith::MulFOp::create(nb, nl, normalized, args[3]);
        return arith::AddFOp::create(nb, nl, scaled, args[4]).getResult();
      });
}

//===----------------------------------------------------------------------===//
// Rotary embedding
//===----------------------------------------------------------------------===//

Value mixtile::cpu::buildRope(OpBuilder &b, Location loc, Value x,
                              Value positions, int64_t headDim, float theta,
                              xfmr::RopeStyle style) {
  MLIRContext *ctx = b.getContext();
  int64_t features = cast<RankedTensorType>(x.getType()).getDimSize(1);
  int64_t heads = features / headDim, half = headDim / 2;
  // The frequencies do not depend on the position: computed here with the
  // evaluator's own function (ropeAngle at position 1 is the frequency),
  // the angle is then position * frequency at run time, as there.
  SmallVector<float> frequencies;
  for (int64_t pair = 0; pair < half; ++pair)
    frequencies.push_back(kernels::ropeAngle(1, pair, headDim, theta));
  Value frequencyTable = f32Table(b, loc, frequencies);
  // Interleaved pairs are (2i, 2i + 1): [seq, heads, half, 2]; half-split
  // pairs are (i, i + half): [seq, heads, 2, half]. Dimension `member`
  // tells the first element of a pair from the second.
  bool interleaved = style == xfmr::RopeStyle::interleaved;
  OpFoldResult seq = getSizes(b, loc, x)[0];
  SmallVector<OpFoldResult> shape = {seq, b.getIndexAttr(heads)};
  if (interleaved)
    shape.append({b.getIndexAttr(half), b.getIndexAttr(2)});
  else
    shape.append({b.getIndexAttr(2), b.getIndexAttr(half)});
  Value pairs = expandShape(b, loc, x, {{0}, {1, 2, 3}}, shape);
  unsigned member = interleaved ? 3 : 2, pair = interleaved ? 2 : 3;
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  AffineExpr i = getAffineDimExpr(pair, ctx);
  auto elementOfPair = [&](int64_t which) {
    AffineExpr w = getAffineConstantExpr(which, ctx);
    SmallVector<AffineExpr> exprs = {d0, d1, i, w};
    if (!interleaved)
      std::swap(exprs[2], exprs[3]);
    return AffineMap::get(4, 0, exprs, ctx);
  };
  // cos and sin of each position's angles, [seq, half]: every head and
  // both members of a pair take the same angle, so each is evaluated once.
  auto angleTable = [&](auto function) {
    Value init =
        emptyTensor(b, loc, {seq, b.getIndexAttr(half)}, b.getF32Type());
    return buildGeneric(
        b, loc, {positions, frequencyTable}, init,
        {projection(ctx, 2, {0}), projection(ctx, 2, {1}),
         b.getMultiDimIdentityMap(2)},
        iteratorTypes(2), [&](OpBuilder &nb, Location nl, ValueRange args) {
          ScalarBuilder s(nb, nl);
          Value angle =
              arith::MulFOp::create(nb, nl, s.toF32(args[0]), args[1]);
          return function(nb, nl, angle);
        });
  };
  Value cosines = angleTable([](OpBuilder &nb, Location nl, Value angle) {
    return math::CosOp::create(nb, nl, angle).getResult();
  });
  Value sines = angleTable([](OpBuilder &nb, Location nl, Value angle) {
    return math::SinOp::create(nb, nl, angle).getResult();
  });
  Value init = emptyTensor(b, loc, shape, b.getF32Type());
  Value rotated = buildGeneric(
      b, loc, {pairs, pairs, cosines, sines}, init,
      {elementOfPair(0), elementOfPair(1), projection(ctx, 4, {0, pair}),
       projection(ctx, 4, {0, pair}), b.getMultiDimIdentityMap(4)},
      iteratorTypes(4), [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        Value a = args[0], bb = args[1], c = args[2], sn = args[3];
        // (a cos - b sin, a sin + b cos).
        Value first =
            arith::SubFOp::create(nb, nl, arith::MulFOp::create(nb, nl, a, c),
                                  arith::MulFOp::create(nb, nl, bb, sn));
        Value second =
            arith::AddFOp::create(nb, nl, arith::MulFOp::create(nb, nl, a, sn),
                                  arith::MulFOp::create(nb, nl, bb, c));
        Value isFirst =
            s.cmpi(CmpIPredicate::eq, s.loopIndex(member), s.index(0));
        return s.select(isFirst, first, second);
      });
  return collapseShape(b, loc, rotated, {{0}, {1, 2, 3}});
}

//===----------------------------------------------------------------------===//
// Softmax and attention
//===----------------------------------------------------------------------===//

/// std::max(a, b) as the evaluator computes it: (a < b) ? b : a.
static Value stdMax(ScalarBuilder &s, Value a, Value other) {
  return s.select(s.cmpf(CmpFPredicate::OLT, a, other), other, a);
}

Value mixtile::cpu::buildExp(OpBuilder &b, Location loc, Value x) {
  ScalarBuilder s(b, loc);
  Type f64 = b.getF64Type(), i64 = b.getI64Type();
  auto f64Constant = [&](double value) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(value));
  };
  auto mul = [&](Value lhs, Value rhs) -> Value {
    return arith::MulFOp::create(b, loc, lhs, rhs);
  };
  auto add = [&](Value lhs, Value rhs) -> Value {
    return arith::AddFOp::create(b, loc, lhs, rhs);
  };
  // numerics::exp's operations (Elementary.h): k by roundeven and fptosi,
  // which fast-math flags leave alone, where the C++ adds and subtracts a
  // rounding shift (the same k for |x / ln 2| < 2^51).
  Value wide = arith::ExtFOp::create(b, loc, f64, x);
  Value k =
      math::RoundEvenOp::create(b, loc, mul(wide, f64Constant(nx::kInvLn2)));
  Value r = arith::SubFOp::create(b, loc, wide, mul(k, f64Constant(nx::kLn2)));
  static_assert(nx::kExpDegree == 10, "Estrin's scheme below is for degree 10");
  constexpr auto c = nx::getExpCoefficients();
  auto mulAdd = [&](Value a, Value m, Value addend) {
    return add(mul(a, m), addend);
  };
  auto term = [&](int n) { return f64Constant(c[n]); };
  Value r2 = mul(r, r), r4 = mul(r2, r2), r8 = mul(r4, r4);
  Value p01 = mulAdd(term(1), r, term(0));
  Value p23 = mulAdd(term(3), r, term(2));
  Value p45 = mulAdd(term(5), r, term(4));
  Value p67 = mulAdd(term(7), r, term(6));
  Value p89 = mulAdd(term(9), r, term(8));
  Value p03 = mulAdd(p23, r2, p01);
  Value p47 = mulAdd(p67, r2, p45);
  Value p810 = mulAdd(term(10), r2, p89);
  Value p07 = mulAdd(p47, r4, p03);
  Value p = mulAdd(p810, r8, p07);
  Value exponent = arith::AddIOp::create(
      b, loc, arith::FPToSIOp::create(b, loc, i64, k),
      arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1023)));
  Value scaleBits = arith::ShLIOp::create(
      b, loc, exponent,
      arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(52)));
  Value scale = arith::BitcastOp::create(b, loc, f64, scaleBits);
  Value y = arith::TruncFOp::create(b, loc, b.getF32Type(), mul(p, scale));
  // Out of range the value above is any (fptosi may even give poison):
  // the selects take the limits instead.
  Value low = s.cmpf(CmpFPredicate::OLT, x, s.f32(nx::kExpLow));
  Value high = s.cmpf(CmpFPredicate::OGT, x, s.f32(nx::kExpHigh));
  Value nan = s.cmpf(CmpFPredicate::UNO, x, x);
  y = s.select(low, s.f32(0.0f), y);
  y = s.select(high, s.f32(std::numeric_limits<float>::infinity()), y);
  return s.select(nan, arith::AddFOp::create(b, loc, x, x), y);
}

Value mixtile::cpu::buildSoftmax(OpBuilder &b, Location loc, Value x,
                                 int64_t axis, VisibilityFn visible,
                                 int64_t reductionLoop) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  if (reductionLoop < 0)
    reductionLoop = axis;
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  SmallVector<OpFoldResult> reducedSizes(sizes);
  reducedSizes.erase(reducedSizes.begin() + axis);
  SmallVector<unsigned> kept;
  SmallVector<int64_t> reducedShape;
  for (unsigned d = 0; d < rank; ++d)
    if (d != axis) {
      kept.push_back(d);
      reducedShape.push_back(type.getDimSize(d));
    }
  // The reductions' loops visit the dimensions of `x` in `loopDims` order:
  // `axis` moved to loop `reductionLoop`. Each sum still runs along `axis`
  // in increasing order; only the interleaving of independent sums changes.
  SmallVector<unsigned> loopDims(kept);
  loopDims.insert(loopDims.begin() + reductionLoop, axis);
  SmallVector<unsigned> loopOf(rank), keptLoops;
  for (auto [loop, dim] : llvm::enumerate(loopDims))
    loopOf[dim] = loop;
  for (unsigned d : kept)
    keptLoops.push_back(loopOf[d]);
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap reduced = projection(ctx, rank, kept);
  AffineMap permuted = projection(ctx, rank, loopOf);
  AffineMap permutedReduced = projection(ctx, rank, keptLoops);
  SmallVector<utils::IteratorType> reduction = iteratorTypes(rank);
  reduction[reductionLoop] = utils::IteratorType::reduction;
  // With a visibility mask the row is dimension 0, kept the outer loop.
  assert((!visible || reductionLoop > 0) && "the row must stay loop 0");
  auto masked = [&](OpBuilder &nb, Location nl, Value updated, Value acc) {
    if (!visible)
      return updated;
    ScalarBuilder s(nb, nl);
    return s.select(visible(nb, nl, 0, reductionLoop), updated, acc);
  };

  // The max starts from element 0, as kernels::softmax does (max(x0, x0)
  // is x0, also for NaN, so element 0 may be visited again).
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  SmallVector<OpFoldResult> firstSizes(sizes);
  firstSizes[axis] = b.getIndexAttr(1);
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  Value first = tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(reducedShape, b.getF32Type()), x, offsets,
      firstSizes, strides);
  Value max = buildGeneric(b, loc, x, first, {permuted, permutedReduced},
                           reduction,
                           [&](OpBuilder &nb, Location nl, ValueRange args) {
                             ScalarBuilder s(nb, nl);
                             return masked(nb, nl, stdMax(s, args[1], args[0]),
                                           args[1]);
                           });
  Value exps =
      buildGeneric(b, loc, {x, max}, emptyTensor(b, loc, sizes, b.getF32Type()),
                   {identity, reduced, identity}, iteratorTypes(rank),
                   [](OpBuilder &nb, Location nl, ValueRange args) {
                     Value shifted =
                         arith::SubFOp::create(nb, nl, args[0], args[1]);
                     return buildExp(nb, nl, shifted);
                   });
  ScalarBuilder s(b, loc);
  Value sums = buildGeneric(
      b, loc, exps, filledTensor(b, loc, reducedSizes, s.f32(0.0f)),
      {permuted, permutedReduced}, reduction,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value sum = arith::AddFOp::create(nb, nl, args[1], args[0]);
        return masked(nb, nl, sum, args[1]);
      });
  return buildGeneric(
      b, loc, {exps, sums}, emptyTensor(b, loc, sizes, b.getF32Type()),
      {identity, reduced, identity}, iteratorTypes(rank),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        return arith::DivFOp::create(nb, nl, args[0], args[1]).getResult();
      });
}

Value mixtile::cpu::buildAttention(OpBuilder &b, Location loc, Value queries,
                                   Value keys, Value values, Value start,
                                   const AttentionParams &p) {
  MLIRContext *ctx = b.getContext();
  ScalarBuilder s(b, loc);
  int64_t group = p.heads / p.kvHeads;
  OpFoldResult seq = getSizes(b, loc, queries)[0];
  OpFoldResult numKeys = getSizes(b, loc, keys)[1];
  // Query head h reads KV head h / group: split heads into (kv, g) so that
  // every indexing map is a projection. q: [seq, kv, g, d]; k: [kv, d,
  // key]; v: [kv, key, d].
  Value q = expandShape(b, loc, queries, {{0}, {1, 2, 3}},
                        {seq, b.getIndexAttr(p.kvHeads), b.getIndexAttr(group),
                         b.getIndexAttr(p.headDim)});
  Value k = expandShape(
      b, loc, keys, {{0, 1}, {2}},
      {b.getIndexAttr(p.kvHeads), b.getIndexAttr(p.headDim), numKeys});
  Value v = values;
  SmallVector<OpFoldResult> scoreShape = {seq, b.getIndexAttr(p.kvHeads),
                                          b.getIndexAttr(group), numKeys};

  // Scores: (s, kv, g, d, t), an FMA dot over d ascending, then * scale.
  // Each key's dot still takes the features in order, but with the keys t
  // innermost the dots of consecutive keys advance together, reading the
  // transposed keys contiguously: with d innermost each dot was a chain of
  // dependent FMAs whose keys LLVM gathered.
  SmallVector<utils::IteratorType> dotIterators = iteratorTypes(5);
  dotIterators[3] = utils::IteratorType::reduction;
  Value dots = buildGeneric(
      b, loc, {q, k}, filledTensor(b, loc, scoreShape, s.f32(0.0f)),
      {projection(ctx, 5, {0, 1, 2, 3}), projection(ctx, 5, {1, 3, 4}),
       projection(ctx, 5, {0, 1, 2, 4})},
      dotIterators, [](OpBuilder &nb, Location nl, ValueRange args) {
        return math::FmaOp::create(nb, nl, args[0], args[1], args[2])
            .getResult();
      });
  Value scale = s.f32(p.scale);
  Value scores = buildMap(
      b, loc, dots, b.getF32Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        return arith::MulFOp::create(nb, nl, args[0], scale).getResult();
      });

  // Causal: row s (position start + s) sees keys t <= start + s.
  auto visible = [&](OpBuilder &nb, Location nl, int64_t rowDim,
                     int64_t keyDim) {
    ScalarBuilder ns(nb, nl);
    Value last = arith::AddIOp::create(nb, nl, start, ns.loopIndex(rowDim));
    return ns.cmpi(CmpIPredicate::ule, ns.loopIndex(keyDim), last);
  };
  VisibilityFn mask = p.causal ? VisibilityFn(visible) : VisibilityFn();
  // The sums over keys t run for all heads at once, (s, t, kv, g): with t
  // innermost each head's max and sum were one chain of dependent ops.
  Value probabilities = buildSoftmax(b, loc, scores, 3, mask,
                                     /*reductionLoop=*/1);

  // Output: (s, t, kv, g, d), FMAs of probability * value over visible keys
  // ascending. Each feature d of each head still sums its keys in order,
  // but every head's sums advance together, one key at a time, reading
  // each head's contiguous values of the key: with t innermost each sum was one
  // chain of dependent FMAs (half of stories260K's decode time at 511
  // positions), and with t outside d only but inside the heads, a head's 8
  // features still waited on each other's chains.
  SmallVector<OpFoldResult> outShape = {seq, b.getIndexAttr(p.kvHeads),
                                        b.getIndexAttr(group),
                                        b.getIndexAttr(p.headDim)};
  SmallVector<utils::IteratorType> outIterators = iteratorTypes(5);
  outIterators[1] = utils::IteratorType::reduction;
  Value out = buildGeneric(
      b, loc, {probabilities, v}, filledTensor(b, loc, outShape, s.f32(0.0f)),
      {projection(ctx, 5, {0, 2, 3, 1}), projection(ctx, 5, {2, 1, 4}),
       projection(ctx, 5, {0, 2, 3, 4})},
      outIterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value sum = math::FmaOp::create(nb, nl, args[0], args[1], args[2]);
        if (!p.causal)
          return sum;
        ScalarBuilder ns(nb, nl);
        return ns.select(visible(nb, nl, 0, 1), sum, args[2]);
      });
  return collapseShape(b, loc, out, {{0}, {1, 2, 3}});
}

//===----------------------------------------------------------------------===//
// Element-wise ops
//===----------------------------------------------------------------------===//

Value mixtile::cpu::buildSilu(OpBuilder &b, Location loc, Value x) {
  return buildMap(
      b, loc, x, b.getF32Type(),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        // x * (1 / (1 + exp(-x))).
        Value e = buildExp(nb, nl, arith::NegFOp::create(nb, nl, args[0]));
        Value d = arith::AddFOp::create(nb, nl, s.f32(1.0f), e);
        Value sigmoid = arith::DivFOp::create(nb, nl, s.f32(1.0f), d);
        return arith::MulFOp::create(nb, nl, args[0], sigmoid).getResult();
      });
}

Value mixtile::cpu::buildGelu(OpBuilder &b, Location loc, Value x,
                              xfmr::GeluApproximation approximation) {
  bool useTanh = approximation == xfmr::GeluApproximation::tanh;
  return buildMap(
      b, loc, x, b.getF32Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        Value x = args[0];
        auto mul = [&](Value a, Value c) {
          return arith::MulFOp::create(nb, nl, a, c).getResult();
        };
        Value gate;
        if (useTanh) {
          // tanh(k * (x + 0.044715 * x * x * x)), products left to right.
          Value cube = mul(mul(mul(s.f32(0.044715f), x), x), x);
          Value inner = arith::AddFOp::create(nb, nl, x, cube);
          gate = math::TanhOp::create(nb, nl,
                                      mul(s.f32(0.7978845608028654f), inner));
        } else {
          gate =
              math::ErfOp::create(nb, nl, mul(x, s.f32(0.7071067811865476f)));
        }
        Value onePlus = arith::AddFOp::create(nb, nl, s.f32(1.0f), gate);
        return mul(mul(s.f32(0.5f), x), onePlus);
      });
}

Value mixtile::cpu::buildAdd(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return buildMap(
      b, loc, {lhs, rhs}, b.getF32Type(),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        return arith::AddFOp::create(nb, nl, args[0], args[1]).getResult();
      });
}

Value mixtile::cpu::buildMul(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return buildMap(
      b, loc, {lhs, rhs}, b.getF32Type(),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        return arith::MulFOp::create(nb, nl, args[0], args[1]).getResult();
      });
}
