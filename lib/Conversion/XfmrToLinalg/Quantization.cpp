//===- Quantization.cpp - run-time rounding as arith and linalg -----------===//
//
// Ports of the Numerics library's branch-free rounders and of its
// fakeQuantize schemes to IR. Every f32 operation below is one the library
// performs, in the same order (the library is compiled without FMA
// contraction, and the generated code has no fast-math flags), so results
// agree to the bit; the constants come from numerics::getFormatInfo.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/Quantization.h"
#include "Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cassert>
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mixtile;
using namespace mixtile::cpu;
namespace nx = mixtile::numerics;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

constexpr uint32_t kSignMask = 0x80000000u;
constexpr uint32_t kAbsMask = 0x7fffffffu;
constexpr uint32_t kInfBits = 0x7f800000u;
constexpr uint32_t kExponentMask = 0x7f800000u;
constexpr uint32_t kQuietNaNBits = 0x7fc00000u;
/// 1.5 * 2^23: adding and subtracting it rounds |t| < 2^22 to an integer.
constexpr float kMagic = 12582912.0f;

/// The constants of nx::MiniFloatRounder for one format and overflow mode,
/// derived from the format description exactly as its constructor does.
struct MiniFloatConstants {
  float inputLimit, minNormal, maxNormal, overflowValue;
  uint32_t upBase, downOffset, nanBits, nanSignMask;

  MiniFloatConstants(nx::FloatFormat format, nx::Overflow overflow) {
    const nx::FormatInfo &info = nx::getFormatInfo(format);
    uint32_t m = info.mantissaBits;
    bool canOverflow =
        overflow == nx::Overflow::NonSaturating && (info.hasInf || info.hasNaN);
    inputLimit = canOverflow ? std::ldexp(1.0f, info.emax + 2) : info.maxNormal;
    minNormal = info.minNormal;
    maxNormal = info.maxNormal;
    upBase = (254 + m) << 23;
    downOffset = m << 23;
    if (!canOverflow)
      overflowValue = info.maxNormal;
    else if (info.hasInf)
      overflowValue = std::numeric_limits<float>::infinity();
    else
      overflowValue = nx::floatFromBits(kQuietNaNBits);
    nanBits = info.hasNaN ? kQuietNaNBits : 0;
    nanSignMask = info.hasNaN ? ~0u : 0;
  }
};

/// Emits MiniFloatRounder::round (or roundNotNaN) for one f32 scalar.
class MiniFloatEmitter {
public:
  MiniFloatEmitter(ScalarBuilder &s, nx::FloatFormat format,
                   nx::Overflow overflow)
      : s(s), c(format, overflow) {}

  /// MiniFloatRounder::round: NaN and overflow handled.
  Value round(Value x) {
    Parts p = split(x);
    Value value = roundMagnitude(p);
    Value overflows = s.cmpf(CmpFPredicate::OGT, value, s.f32(c.maxNormal));
    value = s.select(overflows, s.f32(c.overflowValue), value);
    Value rounded = s.fromBits(ori(s.bits(value), p.sign));
    Value nan =
        c.nanSignMask ? ori(p.sign, s.u32(c.nanBits)) : s.u32(c.nanBits);
    return s.select(isNaN(p.absBits), s.fromBits(nan), rounded);
  }

  /// MiniFloatRounder::roundNotNaN: for finite inputs to a rounder that
  /// cannot overflow (saturating, or fp6/fp4).
  Value roundNotNaN(Value x) {
    Parts p = split(x);
    return s.fromBits(ori(s.bits(roundMagnitude(p)), p.sign));
  }

private:
  struct Parts {
    Value sign, absBits, exponentBits, t;
  };

  Value andi(Value a, uint32_t mask) {
    return arith::AndIOp::create(s.b, s.loc, a, s.u32(mask));
  }
  Value ori(Value a, Value other) {
    return arith::OrIOp::create(s.b, s.loc, a, other);
  }
  Value isNaN(Value absBits) {
    return s.cmpi(CmpIPredicate::ugt, absBits, s.u32(kInfBits));
  }

  Parts split(Value x) {
    OpBuilder &b = s.b;
    Value bits = s.bits(x);
    Value sign = andi(bits, kSignMask);
    Value absBits = andi(bits, kAbsMask);
    Value a = s.fromBits(absBits);
    Value limit = s.f32(c.inputLimit);
    // a < limit ? a : limit also maps NaN to the limit.
    a = s.select(s.cmpf(CmpFPredicate::OLT, a, limit), a, limit);
    Value minNormal = s.f32(c.minNormal);
    Value normalized =
        s.select(s.cmpf(CmpFPredicate::OGT, a, minNormal), a, minNormal);
    Value exponentBits = andi(s.bits(normalized), kExponentMask);
    Value up = s.fromBits(
        arith::SubIOp::create(b, s.loc, s.u32(c.upBase), exponentBits));
    Value t = arith::MulFOp::create(b, s.loc, a, up);
    return {sign, absBits, exponentBits, t};
  }

  Value roundMagnitude(const Parts &p) {
    OpBuilder &b = s.b;
    Value magic = s.f32(kMagic);
    Value shifted = arith::AddFOp::create(b, s.loc, p.t, magic);
    Value q = arith::SubFOp::create(b, s.loc, shifted, magic);
    Value down = s.fromBits(
        arith::SubIOp::create(b, s.loc, p.exponentBits, s.u32(c.downOffset)));
    return arith::MulFOp::create(b, s.loc, q, down);
  }

  ScalarBuilder &s;
  MiniFloatConstants c;
};

/// numerics::roundToBF16.
Value roundToBF16(ScalarBuilder &s, Value x, nx::Overflow overflow) {
  OpBuilder &b = s.b;
  Location loc = s.loc;
  Value bits = s.bits(x);
  Value absBits = arith::AndIOp::create(b, loc, bits, s.u32(kAbsMask));
  // Adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even.
  Value lowestKept = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, absBits, s.u32(16)), s.u32(1));
  Value sum = arith::AddIOp::create(
      b, loc, arith::AddIOp::create(b, loc, absBits, s.u32(0x7fffu)),
      lowestKept);
  Value rounded = arith::AndIOp::create(b, loc, sum, s.u32(0xffff0000u));
  Value limit =
      s.u32(overflow == nx::Overflow::Saturate ? 0x7f7f0000u : 0x7f800000u);
  rounded =
      s.select(s.cmpi(CmpIPredicate::ugt, rounded, limit), limit, rounded);
  Value quietNaN = arith::AndIOp::create(
      b, loc, arith::OrIOp::create(b, loc, bits, s.u32(0x00400000u)),
      s.u32(0xffff0000u));
  Value sign = arith::AndIOp::create(b, loc, bits, s.u32(kSignMask));
  Value finite = arith::OrIOp::create(b, loc, rounded, sign);
  Value isNaN = s.cmpi(CmpIPredicate::ugt, absBits, s.u32(kInfBits));
  return s.fromBits(s.select(isNaN, quietNaN, finite));
}

/// numerics::roundTo for F32: the identity, except that saturation turns
/// +-Inf into +-FLT_MAX.
Value roundToF32(ScalarBuilder &s, Value x, nx::Overflow overflow) {
  if (overflow == nx::Overflow::NonSaturating)
    return x;
  Value bits = s.bits(x);
  Value absBits = arith::AndIOp::create(s.b, s.loc, bits, s.u32(kAbsMask));
  Value sign = arith::AndIOp::create(s.b, s.loc, bits, s.u32(kSignMask));
  Value max = arith::OrIOp::create(s.b, s.loc, sign, s.u32(0x7f7fffffu));
  Value isInf = s.cmpi(CmpIPredicate::eq, absBits, s.u32(kInfBits));
  return s.select(isInf, s.fromBits(max), x);
}

/// The magnitude bits of an f32: integer order on them is magnitude order,
/// with Inf above every finite value and NaN above Inf.
Value absBitsOf(ScalarBuilder &s, Value x) {
  return arith::AndIOp::create(s.b, s.loc, s.bits(x), s.u32(kAbsMask));
}

/// The magnitude bits of a finite f32, and 0 for Inf and NaN (so that a max
/// over them is the largest finite magnitude, as maxFiniteAbs computes).
Value finiteAbsBitsOf(ScalarBuilder &s, Value x) {
  Value absBits = absBitsOf(s, x);
  Value finite = s.cmpi(CmpIPredicate::ult, absBits, s.u32(kInfBits));
  return s.select(finite, absBits, s.u32(0));
}

/// 2^e for an i32 e in [-127, 127], exactly (2^-127 is an f32 subnormal).
Value exactPowerOfTwo(ScalarBuilder &s, Value e) {
  Value normalBits = arith::ShLIOp::create(
      s.b, s.loc, arith::AddIOp::create(s.b, s.loc, e, s.i32(127)), s.u32(23));
  Value isNormal = s.cmpi(CmpIPredicate::sge, e, s.i32(-126));
  return s.fromBits(s.select(isNormal, normalBits, s.u32(0x00400000u)));
}

/// A tensor scale as the library computes it: `amax / divisor` unless that
/// is not a normal f32, then 1 (computeFP8TensorScale and
/// computeNVFP4TensorScale).
Value tensorScale(ScalarBuilder &s, Value amaxBits, float divisor) {
  Value scale =
      arith::DivFOp::create(s.b, s.loc, s.fromBits(amaxBits), s.f32(divisor));
  Value isNormal = s.cmpf(CmpFPredicate::OGE, scale,
                          s.f32(std::numeric_limits<float>::min()));
  return s.select(isNormal, scale, s.f32(1.0f));
}

/// Reduces `x` ([groups, rows, cols]) to one i32 per group: the max of
/// `key(element)` (unsigned), from 0.
Value reduceGroups(OpBuilder &b, Location loc, Value x,
                   Value (*key)(ScalarBuilder &, Value)) {
  MLIRContext *ctx = b.getContext();
  ScalarBuilder s(b, loc);
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  Value init = filledTensor(b, loc, {sizes[0]}, s.u32(0));
  AffineMap in = b.getMultiDimIdentityMap(3);
  AffineMap out = projection(ctx, 3, {0});
  return buildGeneric(b, loc, x, init, {in, out}, iteratorTypes(1, 2),
                      [&](OpBuilder &nb, Location nl, ValueRange args) {
                        ScalarBuilder ns(nb, nl);
                        return arith::MaxUIOp::create(nb, nl, key(ns, args[0]),
                                                      args[1])
                            .getResult();
                      });
}

/// The block magnitude maxima of `x` ([groups, rows, cols]), as i32 bits
/// [groups, rows, blocks]: each block is `block` consecutive columns, the
/// last one possibly partial (zero padding leaves its max unchanged).
Value blockMaxAbsBits(OpBuilder &b, Location loc, Value x, int64_t block) {
  ScalarBuilder s(b, loc);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t cols = type.getDimSize(2);
  int64_t blocks = (cols + block - 1) / block;
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  if (blocks * block != cols) {
    SmallVector<OpFoldResult> low(3, b.getIndexAttr(0));
    SmallVector<OpFoldResult> high = {b.getIndexAttr(0), b.getIndexAttr(0),
                                      b.getIndexAttr(blocks * block - cols)};
    SmallVector<int64_t> paddedShape(type.getShape());
    paddedShape[2] = blocks * block;
    auto paddedType = RankedTensorType::get(paddedShape, b.getF32Type());
    x = tensor::PadOp::create(b, loc, paddedType, x, low, high, s.f32(0.0f));
  }
  Value blocked = expandShape(
      b, loc, x, {{0}, {1}, {2, 3}},
      {sizes[0], sizes[1], b.getIndexAttr(blocks), b.getIndexAttr(block)});
  Value init = filledTensor(
      b, loc, {sizes[0], sizes[1], b.getIndexAttr(blocks)}, s.u32(0));
  AffineMap in = b.getMultiDimIdentityMap(4);
  AffineMap out = projection(b.getContext(), 4, {0, 1, 2});
  return buildGeneric(b, loc, blocked, init, {in, out}, iteratorTypes(3, 1),
                      [&](OpBuilder &nb, Location nl, ValueRange args) {
                        ScalarBuilder ns(nb, nl);
                        return arith::MaxUIOp::create(
                                   nb, nl, absBitsOf(ns, args[0]), args[1])
                            .getResult();
                      });
}

/// An element-wise generic over `x` ([groups, rows, cols]) that also reads
/// a per-group tensor (map (g, r, c) -> (g)) and/or per-block tensor (map
/// (g, r, c) -> (g, r, c floordiv block)).
Value mapWithScales(OpBuilder &b, Location loc, Value x, Value perGroup,
                    Value perBlock, int64_t block, GenericBody body) {
  MLIRContext *ctx = b.getContext();
  AffineMap identity = b.getMultiDimIdentityMap(3);
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {identity};
  if (perGroup) {
    inputs.push_back(perGroup);
    maps.push_back(projection(ctx, 3, {0}));
  }
  if (perBlock) {
    inputs.push_back(perBlock);
    AffineExpr g, r, c;
    bindDims(ctx, g, r, c);
    maps.push_back(AffineMap::get(3, 0, {g, r, c.floorDiv(block)}, ctx));
  }
  maps.push_back(identity);
  Value init = emptyTensor(b, loc, getSizes(b, loc, x), b.getF32Type());
  return buildGeneric(b, loc, inputs, init, maps, iteratorTypes(3), body);
}

/// Per-tensor FP8 (fakeQuantizePerTensor): x / scale rounded (saturating),
/// times the scale.
Value fakeQuantizeTensorF32(OpBuilder &b, Location loc, Value x,
                            nx::FloatFormat element) {
  Value amax = reduceGroups(b, loc, x, finiteAbsBitsOf);
  float maxNormal = nx::getFormatInfo(element).maxNormal;
  return mapWithScales(
      b, loc, x, amax, Value(), 0,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        Value scale = tensorScale(s, args[1], maxNormal);
        Value scaled = arith::DivFOp::create(nb, nl, args[0], scale);
        MiniFloatEmitter rounder(s, element, nx::Overflow::Saturate);
        return arith::MulFOp::create(nb, nl, rounder.round(scaled), scale)
            .getResult();
      });
}

/// OCP MX (fakeQuantizeMX): per block X = 2^clamp(floor(log2(amax)) -
/// emax, -127, 127); elements x / X rounded (saturating) times X; blocks
/// holding NaN or Inf become NaN.
Value fakeQuantizeMX(OpBuilder &b, Location loc, Value x,
                     const nx::QuantScheme &scheme) {
  Value amax = blockMaxAbsBits(b, loc, x, scheme.blockSize);
  int emax = nx::getFormatInfo(scheme.element).emax;
  return mapWithScales(
      b, loc, x, Value(), amax, scheme.blockSize,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        Value amaxBits = args[1];
        Value exponent = arith::SubIOp::create(
            nb, nl, arith::ShRUIOp::create(nb, nl, amaxBits, s.u32(23)),
            s.i32(127));
        Value shared = arith::SubIOp::create(nb, nl, exponent, s.i32(emax));
        shared = arith::MaxSIOp::create(nb, nl, shared, s.i32(-127));
        shared = arith::MinSIOp::create(nb, nl, shared, s.i32(127));
        Value scale = exactPowerOfTwo(s, shared);
        Value inverse =
            exactPowerOfTwo(s, arith::SubIOp::create(nb, nl, s.i32(0), shared));
        MiniFloatEmitter rounder(s, scheme.element, nx::Overflow::Saturate);
        Value element = rounder.roundNotNaN(
            arith::MulFOp::create(nb, nl, args[0], inverse));
        Value value = arith::MulFOp::create(nb, nl, element, scale);
        Value finite = s.cmpi(CmpIPredicate::ult, amaxBits, s.u32(kInfBits));
        return s.select(finite, value, s.fromBits(s.u32(kQuietNaNBits)));
      });
}

/// NVFP4 (fakeQuantizeNVFP4): global = amax / (6 * 448); block scale =
/// E4M3(amax(block) / (6 * global)), 0 replaced by 1; element =
/// E2M1(x / (scale * global)); value = (element * scale) * global.
Value fakeQuantizeNVFP4(OpBuilder &b, Location loc, Value x,
                        const nx::QuantScheme &scheme) {
  Value groupAmax = reduceGroups(b, loc, x, finiteAbsBitsOf);
  Value blockAmax = blockMaxAbsBits(b, loc, x, scheme.blockSize);
  return mapWithScales(
      b, loc, x, groupAmax, blockAmax, scheme.blockSize,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        Value global = tensorScale(s, args[1], 6.0f * 448.0f);
        Value denominator = arith::MulFOp::create(nb, nl, s.f32(6.0f), global);
        Value blockAmaxBits = args[2];
        Value ratio = arith::DivFOp::create(nb, nl, s.fromBits(blockAmaxBits),
                                            denominator);
        // decode(encode(r)) == round(r), and code 0 is exactly +0 here
        // (the ratio is not negative).
        MiniFloatEmitter e4m3(s, nx::FloatFormat::F8E4M3FN,
                              nx::Overflow::Saturate);
        Value rounded = e4m3.roundNotNaN(ratio);
        Value isZero = s.cmpf(CmpFPredicate::OEQ, rounded, s.f32(0.0f));
        Value blockScale = s.select(isZero, s.f32(1.0f), rounded);
        Value divisor = arith::MulFOp::create(nb, nl, blockScale, global);
        MiniFloatEmitter e2m1(s, scheme.element, nx::Overflow::Saturate);
        Value element =
            e2m1.roundNotNaN(arith::DivFOp::create(nb, nl, args[0], divisor));
        Value scaledByBlock =
            arith::MulFOp::create(nb, nl, element, blockScale);
        Value value = arith::MulFOp::create(nb, nl, scaledByBlock, global);
        Value finite =
            s.cmpi(CmpIPredicate::ult, blockAmaxBits, s.u32(kInfBits));
        return s.select(finite, value, s.fromBits(s.u32(kQuietNaNBits)));
      });
}

} // namespace

Value mixtile::cpu::buildRoundTo(OpBuilder &b, Location loc, Value x,
                                 nx::FloatFormat format,
                                 nx::Overflow overflow) {
  ScalarBuilder s(b, loc);
  switch (format) {
  case nx::FloatFormat::F32:
    return roundToF32(s, x, overflow);
  case nx::FloatFormat::BF16:
    return roundToBF16(s, x, overflow);
  case nx::FloatFormat::F8E8M0FNU:
    assert(false && "E8M0 is a scale format; nothing rounds to it at run time");
    return x;
  default:
    return MiniFloatEmitter(s, format, overflow).round(x);
  }
}

Value mixtile::cpu::buildRoundTensor(OpBuilder &b, Location loc, Value x,
                                     nx::FloatFormat format,
                                     nx::Overflow overflow) {
  return buildMap(b, loc, x, b.getF32Type(),
                  [&](OpBuilder &nb, Location nl, ValueRange args) {
                    return buildRoundTo(nb, nl, args[0], format, overflow);
                  });
}

Value mixtile::cpu::buildBF16Pairs(OpBuilder &b, Location loc, Value x) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), pair = getAffineDimExpr(1, ctx);
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  auto type = cast<RankedTensorType>(x.getType());
  assert(type.getDimSize(1) % 2 == 0 && "pairs along an even K");
  sizes[1] = b.getIndexAttr(type.getDimSize(1) / 2);
  Value init = emptyTensor(b, loc, sizes, b.getI32Type());
  return buildGeneric(
      b, loc, {x, x}, init,
      {AffineMap::get(2, 0, {m, pair * 2}, ctx),
       AffineMap::get(2, 0, {m, pair * 2 + 1}, ctx),
       b.getMultiDimIdentityMap(2)},
      iteratorTypes(2), [&](OpBuilder &nb, Location nl, ValueRange args) {
        ScalarBuilder s(nb, nl);
        // The codes as the top halves of two i32s.
        auto top = [&](Value value) -> Value {
          if (value.getType().isInteger(16))
            return arith::ShLIOp::create(
                nb, nl, arith::ExtUIOp::create(nb, nl, nb.getI32Type(), value),
                s.u32(16));
          Value rounded = roundToBF16(s, value, nx::Overflow::NonSaturating);
          return arith::AndIOp::create(nb, nl, s.bits(rounded),
                                       s.u32(0xffff0000u));
        };
        Value low = arith::ShRUIOp::create(nb, nl, top(args[1]), s.u32(16));
        return arith::OrIOp::create(nb, nl, top(args[0]), low).getResult();
      });
}

Value mixtile::cpu::buildFakeQuantize(OpBuilder &b, Location loc, Value x,
                                      const nx::QuantScheme &scheme) {
  switch (scheme.scale) {
  case nx::ScaleKind::None:
    // Unscaled formats round like a cast (BlockQuant.h).
    return buildRoundTensor(b, loc, x, scheme.element,
                            nx::Overflow::NonSaturating);
  case nx::ScaleKind::TensorF32:
    return fakeQuantizeTensorF32(b, loc, x, scheme.element);
  case nx::ScaleKind::BlockE8M0:
    return fakeQuantizeMX(b, loc, x, scheme);
  case nx::ScaleKind::BlockE4M3WithTensorF32:
    return fakeQuantizeNVFP4(b, loc, x, scheme);
  }
  llvm_unreachable("unknown scale kind");
}

Value mixtile::cpu::buildFakeQuantizeRows(OpBuilder &b, Location loc, Value x,
                                          const nx::QuantScheme &scheme) {
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  Value groups = expandShape(b, loc, x, {{0, 1}, {2}},
                             {sizes[0], b.getIndexAttr(1), sizes[1]});
  Value quantized = buildFakeQuantize(b, loc, groups, scheme);
  return collapseShape(b, loc, quantized, {{0, 1}, {2}});
}
