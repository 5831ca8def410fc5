//===- XfmrOps.cpp - xfmr operation verifiers and interfaces --------------===//
//
// Shape and format invariants of the xfmr operations, and their
// PrecisionOpInterface implementations.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>

using namespace mlir;
using namespace mixtile::xfmr;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

/// Two extents agree when equal or when either is dynamic.
static bool dimsAgree(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

static bool shapesAgree(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip_equal(a, b))
    if (!dimsAgree(x, y))
      return false;
  return true;
}

static RankedTensorType tensorOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Requires every value to have the element type of the first.
static LogicalResult verifySameElementType(Operation *op, ValueRange values) {
  Type expected = tensorOf(values.front()).getElementType();
  for (Value value : values.drop_front())
    if (tensorOf(value).getElementType() != expected)
      return op->emitOpError("operand and result element types must match, "
                             "got ")
             << tensorOf(value).getElementType() << " and " << expected;
  return success();
}

/// Common checks of rms_norm and layer_norm: parameters are vectors of the
/// size of the input's last axis and epsilon is positive.
static LogicalResult verifyNorm(Operation *op, Value input,
                                ValueRange params, APFloat epsilon) {
  RankedTensorType inputType = tensorOf(input);
  if (inputType.getRank() < 1)
    return op->emitOpError("input must have at least one axis");
  int64_t features = inputType.getShape().back();
  for (Value param : params) {
    RankedTensorType paramType = tensorOf(param);
    if (paramType.getRank() != 1 ||
        !dimsAgree(paramType.getDimSize(0), features))
      return op->emitOpError("parameters must be vectors of the input's last "
                             "axis size (")
             << features << "), got " << paramType;
  }
  if (!(epsilon.convertToFloat() > 0.0f))
    return op->emitOpError("epsilon must be positive");
  SmallVector<Value> all{input};
  llvm::append_range(all, params);
  return verifySameElementType(op, all);
}

//===----------------------------------------------------------------------===//
// PrecisionOpInterface
//===----------------------------------------------------------------------===//

LogicalResult mixtile::xfmr::detail::verifyPrecisionOp(Operation *op) {
  auto precisionOp = cast<PrecisionOpInterface>(op);
  PrecisionAttr precision = precisionOp.getPrecisionRecord();
  if (!precision)
    return success();
  if (precision.getKvCache() && !precisionOp.hasKVCache())
    return op->emitOpError("precision sets a KV cache format but the op has "
                           "no KV cache");
  return success();
}

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getKey().empty())
    return emitOpError("key must not be empty");
  if (getFile().empty())
    return emitOpError("file must not be empty");
  if (std::optional<int64_t> offset = getOffset(); offset && *offset < 0)
    return emitOpError("offset must be non-negative, got ") << *offset;
  if (std::optional<Type> storage = getStorageType();
      storage && !isa<FloatType>(*storage))
    return emitOpError("storage_type must be a float type, got ") << *storage;
  return verifyStoredLayout();
}

SmallVector<int64_t> WeightOp::getStoredShapeOrResult() {
  if (std::optional<ArrayRef<int64_t>> stored = getStoredShape())
    return SmallVector<int64_t>(*stored);
  return SmallVector<int64_t>(getType().getShape());
}

LogicalResult WeightOp::verifyStoredLayout() {
  ArrayRef<int64_t> result = getType().getShape();
  SmallVector<int64_t> stored = getStoredShapeOrResult();
  if (stored.size() != result.size())
    return emitOpError("stored_shape must have the result's rank");
  if (llvm::any_of(stored, [](int64_t d) { return d < 0; }))
    return emitOpError("stored_shape must be non-negative");
  if (getTranspose()) {
    if (stored.size() != 2)
      return emitOpError("transpose needs a 2-D weight");
    std::swap(stored[0], stored[1]);
  }
  int64_t rowOffset = getRowOffset().value_or(0);
  if (result.empty())
    return success();
  if (rowOffset < 0 || rowOffset + result[0] > stored[0])
    return emitOpError("rows [")
           << rowOffset << ", " << rowOffset + result[0]
           << ") are outside the stored tensor's " << stored[0] << " rows";
  if (ArrayRef<int64_t>(stored).drop_front() != result.drop_front())
    return emitOpError("stored layout does not match the result beyond the "
                       "first dimension");
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  RankedTensorType table = getTable().getType();
  if (table.getRank() != 2)
    return emitOpError("table must be [vocab, dim], got ") << table;
  SmallVector<int64_t> expected(getTokens().getType().getShape());
  expected.push_back(table.getDimSize(1));
  if (!shapesAgree(getResult().getType().getShape(), expected))
    return emitOpError("result must have the shape of the tokens followed by "
                       "the embedding dim, got ")
           << getResult().getType();
  return verifySameElementType(*this, {getTable(), getResult()});
}

int64_t EmbeddingOp::getReductionSize() {
  return getTable().getType().getDimSize(1);
}

Value EmbeddingOp::getWeightOperand() { return getTable(); }

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getEpsilon());
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), {getWeight(), getBias()},
                    getEpsilon());
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  if (input.getRank() < 1)
    return emitOpError("input must have at least one axis");
  if (weight.getRank() != 2)
    return emitOpError("weight must be [out_features, in_features], got ")
           << weight;
  int64_t inFeatures = weight.getDimSize(1);
  int64_t outFeatures = weight.getDimSize(0);
  if (!dimsAgree(input.getShape().back(), inFeatures))
    return emitOpError("input features (")
           << input.getShape().back() << ") do not match the weight's "
           << "in_features (" << inFeatures << ")";
  if (Value bias = getBias()) {
    RankedTensorType biasType = tensorOf(bias);
    if (biasType.getRank() != 1 ||
        !dimsAgree(biasType.getDimSize(0), outFeatures))
      return emitOpError("bias must be a vector of out_features (")
             << outFeatures << ") elements, got " << biasType;
  }
  SmallVector<int64_t> expected(input.getShape());
  expected.back() = outFeatures;
  if (!shapesAgree(getResult().getType().getShape(), expected))
    return emitOpError("result must be [..., out_features], got ")
           << getResult().getType();
  SmallVector<Value> values{getInput(), getWeight(), getResult()};
  if (getBias())
    values.push_back(getBias());
  return verifySameElementType(*this, values);
}

int64_t LinearOp::getReductionSize() {
  return getWeight().getType().getDimSize(1);
}

Value LinearOp::getWeightOperand() { return getWeight(); }

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  ArrayRef<int64_t> lhs = getLhs().getType().getShape();
  ArrayRef<int64_t> rhs = getRhs().getType().getShape();
  if (lhs.size() < 2 || lhs.size() != rhs.size())
    return emitOpError("operands must have the same rank, at least 2");
  size_t batchRank = lhs.size() - 2;
  if (!shapesAgree(lhs.take_front(batchRank), rhs.take_front(batchRank)))
    return emitOpError("batch dimensions of the operands do not match");
  int64_t rhsK = getTransposeRhs() ? rhs.back() : rhs[batchRank];
  int64_t rhsN = getTransposeRhs() ? rhs[batchRank] : rhs.back();
  if (!dimsAgree(lhs.back(), rhsK))
    return emitOpError("reduction dimensions do not match (")
           << lhs.back() << " vs " << rhsK << ")";
  SmallVector<int64_t> expected(lhs.take_front(batchRank + 1));
  expected.push_back(rhsN);
  if (!shapesAgree(getResult().getType().getShape(), expected))
    return emitOpError("result must be [batch..., M, N], got ")
           << getResult().getType();
  return verifySameElementType(*this, {getLhs(), getRhs(), getResult()});
}

int64_t MatmulOp::getReductionSize() {
  return getLhs().getType().getShape().back();
}

Value MatmulOp::getWeightOperand() { return nullptr; }

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  RankedTensorType input = getInput().getType();
  int64_t headDim = getHeadDim();
  if (headDim <= 0 || headDim % 2 != 0)
    return emitOpError("head_dim must be positive and even, got ") << headDim;
  if (input.getRank() < 2)
    return emitOpError("input must be [..., seq, heads * head_dim]");
  int64_t features = input.getShape().back();
  if (!ShapedType::isDynamic(features) && features % headDim != 0)
    return emitOpError("features (")
           << features << ") are not a multiple of head_dim (" << headDim
           << ")";
  RankedTensorType positions = getPositions().getType();
  if (positions.getRank() != 1 ||
      !dimsAgree(positions.getDimSize(0), input.getShape().drop_back().back()))
    return emitOpError("positions must hold one entry per sequence row, got ")
           << positions;
  if (!(getTheta().convertToFloat() > 0.0f))
    return emitOpError("theta must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

int64_t AttentionOp::getHeadDim() {
  int64_t features = getQuery().getType().getShape().back();
  if (ShapedType::isDynamic(features) || getNHeads() <= 0)
    return ShapedType::kDynamic;
  return features / getNHeads();
}

float AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToFloat();
  return 1.0f / std::sqrt(static_cast<float>(getHeadDim()));
}

int64_t AttentionOp::getReductionSize() { return getHeadDim(); }

Value AttentionOp::getWeightOperand() { return nullptr; }

bool AttentionOp::hasKVCache() { return getKeyCache() != nullptr; }

/// Checks the head counts and that q/k/v split into whole heads.
static LogicalResult verifyHeads(AttentionOp op) {
  int64_t nHeads = op.getNHeads(), nKVHeads = op.getNKvHeads();
  if (nHeads <= 0 || nKVHeads <= 0)
    return op.emitOpError("n_heads and n_kv_heads must be positive");
  if (nHeads % nKVHeads != 0)
    return op.emitOpError("n_heads (")
           << nHeads << ") must be a multiple of n_kv_heads (" << nKVHeads
           << ")";
  int64_t qFeatures = op.getQuery().getType().getShape().back();
  if (!ShapedType::isDynamic(qFeatures) && qFeatures % nHeads != 0)
    return op.emitOpError("query features (")
           << qFeatures << ") are not a multiple of n_heads (" << nHeads
           << ")";
  int64_t headDim = op.getHeadDim();
  int64_t kFeatures = op.getKey().getType().getShape().back();
  if (!ShapedType::isDynamic(headDim) &&
      !dimsAgree(kFeatures, nKVHeads * headDim))
    return op.emitOpError("key features must be n_kv_heads * head_dim = ")
           << nKVHeads * headDim << ", got " << kFeatures;
  return success();
}

/// Checks the optional KV cache operands and the results they imply.
static LogicalResult verifyCache(AttentionOp op) {
  bool hasKeyCache = op.getKeyCache() != nullptr;
  if (hasKeyCache != (op.getValueCache() != nullptr) ||
      hasKeyCache != (op.getPosition() != nullptr))
    return op.emitOpError("key_cache, value_cache and position must be given "
                          "together");
  size_t expectedCaches = hasKeyCache ? 2 : 0;
  if (op.getUpdatedCaches().size() != expectedCaches)
    return op.emitOpError("expected ")
           << expectedCaches << " updated cache results, got "
           << op.getUpdatedCaches().size();
  if (!hasKeyCache)
    return success();
  ArrayRef<int64_t> key = op.getKey().getType().getShape();
  for (Value cache : {op.getKeyCache(), op.getValueCache()}) {
    ArrayRef<int64_t> shape = tensorOf(cache).getShape();
    if (shape.size() != key.size() || !dimsAgree(shape.back(), key.back()) ||
        !shapesAgree(shape.drop_back(2), key.drop_back(2)))
      return op.emitOpError("caches must be [..., max_seq, features] with "
                            "the key's batch and feature sizes, got ")
             << cache.getType();
  }
  for (auto [cache, updated] :
       llvm::zip_equal(ValueRange{op.getKeyCache(), op.getValueCache()},
                       op.getUpdatedCaches()))
    if (cache.getType() != updated.getType())
      return op.emitOpError("updated caches must have the caches' types");
  return success();
}

LogicalResult AttentionOp::verify() {
  RankedTensorType query = getQuery().getType();
  RankedTensorType key = getKey().getType();
  if (query.getRank() < 2 || query.getRank() > 3 ||
      key.getRank() != query.getRank() ||
      getValue().getType().getRank() != query.getRank())
    return emitOpError("query, key and value must all be [seq, features] or "
                       "[batch, seq, features]");
  if (failed(verifyHeads(*this)))
    return failure();
  if (!shapesAgree(getValue().getType().getShape(), key.getShape()))
    return emitOpError("value shape must match key shape");
  if (!shapesAgree(query.getShape().drop_back(2), key.getShape().drop_back(2)))
    return emitOpError("batch dimensions of query and key do not match");
  if (failed(verifyCache(*this)))
    return failure();
  if (getCausal() && !getKeyCache() &&
      !dimsAgree(query.getShape().drop_back().back(),
                 key.getShape().drop_back().back()))
    return emitOpError("causal attention without a cache needs as many keys "
                       "as queries");
  if (!shapesAgree(getResult().getType().getShape(), query.getShape()))
    return emitOpError("result must have the query's shape, got ")
           << getResult().getType();
  if (std::optional<APFloat> scale = getScale();
      scale && !(scale->convertToFloat() > 0.0f))
    return emitOpError("scale must be positive");
  SmallVector<Value> values{getQuery(), getKey(), getValue(), getResult()};
  return verifySameElementType(*this, values);
}

//===----------------------------------------------------------------------===//
// SoftmaxOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxis();
  if (axis < -rank || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank " << rank;
  return success();
}

#define GET_OP_CLASSES
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.cpp.inc"
