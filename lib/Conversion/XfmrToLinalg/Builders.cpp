//===- Builders.cpp - small IR-building helpers for the CPU lowering ------===//

#include "Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mixtile::cpu;

Value ScalarBuilder::f32(float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value ScalarBuilder::u32(uint32_t value) {
  return arith::ConstantOp::create(
      b, loc, b.getI32IntegerAttr(static_cast<int32_t>(value)));
}

Value ScalarBuilder::index(int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value ScalarBuilder::bits(Value f) {
  return arith::BitcastOp::create(b, loc, b.getI32Type(), f);
}

Value ScalarBuilder::fromBits(Value i) {
  return arith::BitcastOp::create(b, loc, b.getF32Type(), i);
}

Value ScalarBuilder::select(Value condition, Value a, Value other) {
  return arith::SelectOp::create(b, loc, condition, a, other);
}

Value ScalarBuilder::cmpf(arith::CmpFPredicate predicate, Value a, Value rhs) {
  return arith::CmpFOp::create(b, loc, predicate, a, rhs);
}

Value ScalarBuilder::cmpi(arith::CmpIPredicate predicate, Value a, Value rhs) {
  return arith::CmpIOp::create(b, loc, predicate, a, rhs);
}

Value ScalarBuilder::loopIndex(int64_t dim) {
  return linalg::IndexOp::create(b, loc, dim);
}

Value ScalarBuilder::fromBF16Code(Value code) {
  Value wide = arith::ExtUIOp::create(b, loc, b.getI32Type(), code);
  return fromBits(arith::ShLIOp::create(b, loc, wide, u32(16)));
}

Value ScalarBuilder::fromHighBF16(Value word) {
  return fromBits(arith::AndIOp::create(b, loc, word, u32(0xffff0000u)));
}

Value ScalarBuilder::fromLowBF16(Value word) {
  return fromBits(arith::ShLIOp::create(b, loc, word, u32(16)));
}

Value ScalarBuilder::toF32(Value integer) {
  Value wide = integer;
  if (integer.getType().isIndex())
    wide = arith::IndexCastOp::create(b, loc, b.getI64Type(), integer);
  else if (integer.getType().getIntOrFloatBitWidth() < 64)
    wide = arith::ExtSIOp::create(b, loc, b.getI64Type(), integer);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), wide);
}

Value ScalarBuilder::toIndex(Value integer) {
  if (integer.getType().isIndex())
    return integer;
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), integer);
}

Value ScalarBuilder::codeToIndex(Value code) {
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), code);
}

SmallVector<OpFoldResult> mixtile::cpu::getSizes(OpBuilder &b, Location loc,
                                                 Value value) {
  return tensor::getMixedSizes(b, loc, value);
}

Value mixtile::cpu::emptyTensor(OpBuilder &b, Location loc,
                                ArrayRef<OpFoldResult> sizes,
                                Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value mixtile::cpu::filledTensor(OpBuilder &b, Location loc,
                                 ArrayRef<OpFoldResult> sizes, Value value) {
  Value empty = emptyTensor(b, loc, sizes, value.getType());
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

Value mixtile::cpu::buildGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                                 Value init, ArrayRef<AffineMap> maps,
                                 ArrayRef<utils::IteratorType> iterators,
                                 GenericBody body) {
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = body(nested, nestedLoc, args);
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return generic.getResult(0);
}

Value mixtile::cpu::buildMap(OpBuilder &b, Location loc, ValueRange inputs,
                             Type elementType, GenericBody body) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  unsigned rank = type.getRank();
  Value init =
      emptyTensor(b, loc, getSizes(b, loc, inputs.front()), elementType);
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              b.getMultiDimIdentityMap(rank));
  return buildGeneric(b, loc, inputs, init, maps, iteratorTypes(rank), body);
}

SmallVector<utils::IteratorType>
mixtile::cpu::iteratorTypes(unsigned parallel, unsigned reductions) {
  SmallVector<utils::IteratorType> types(parallel,
                                         utils::IteratorType::parallel);
  types.append(reductions, utils::IteratorType::reduction);
  return types;
}

AffineMap mixtile::cpu::projection(MLIRContext *ctx, unsigned numDims,
                                   ArrayRef<unsigned> results) {
  SmallVector<AffineExpr> exprs;
  for (unsigned dim : results)
    exprs.push_back(getAffineDimExpr(dim, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

Value mixtile::cpu::expandShape(OpBuilder &b, Location loc, Value source,
                                ArrayRef<ReassociationIndices> groups,
                                ArrayRef<OpFoldResult> sizes) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  auto type = RankedTensorType::get(shape, sourceType.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, type, source, groups, sizes);
}

Value mixtile::cpu::collapseShape(OpBuilder &b, Location loc, Value source,
                                  ArrayRef<ReassociationIndices> groups) {
  return tensor::CollapseShapeOp::create(b, loc, source, groups);
}
