//===- ConvertXfmrToLinalg.cpp - the convert-xfmr-to-linalg pass ----------===//
//
// Builds @mixtile_forward next to @forward, maps every value of @forward to
// its lowered tensor, and swaps the functions once every op has lowered.
// The calling convention's buffers enter the tensor world through
// bufferization.to_tensor (weights and inputs read-only, KV caches
// writable) and leave it through bufferization.materialize_in_destination,
// so one-shot bufferization updates the caches in place.
//
//===----------------------------------------------------------------------===//

#include "Builders.h"
#include "Kernels.h"
#include "mixtile/Conversion/Passes.h"
#include "mixtile/Conversion/XfmrToLinalg/Quantization.h"
#include "mixtile/Conversion/XfmrToLinalg/WeightPack.h"
#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"

#include "mixtile/Evaluator/PrecisionSchemes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mixtile::conversion {
#define GEN_PASS_DEF_CONVERTXFMRTOLINALG
#include "mixtile/Conversion/Passes.h.inc"
} // namespace mixtile::conversion

using namespace mlir;
using namespace mixtile;
using namespace mixtile::cpu;
namespace nx = mixtile::numerics;

namespace {

/// A tensor viewed as a matrix of rows along its last axis, and how to
/// give a result of those rows the original leading dimensions back.
struct Rows {
  Value matrix;
  SmallVector<OpFoldResult> leading;
  int64_t rank;
};

Rows toRows(OpBuilder &b, Location loc, Value x) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  Rows rows{x, SmallVector<OpFoldResult>(sizes.begin(), sizes.end() - 1), rank};
  if (rank == 1) {
    rows.matrix =
        expandShape(b, loc, x, {{0, 1}}, {b.getIndexAttr(1), sizes.back()});
  } else if (rank > 2) {
    ReassociationIndices leading;
    for (int64_t d = 0; d + 1 < rank; ++d)
      leading.push_back(d);
    rows.matrix = collapseShape(b, loc, x, {leading, {rank - 1}});
  }
  return rows;
}

Value fromRows(OpBuilder &b, Location loc, Value matrix, const Rows &rows) {
  if (rows.rank == 2)
    return matrix;
  if (rows.rank == 1)
    return collapseShape(b, loc, matrix, {{0, 1}});
  ReassociationIndices leading;
  for (int64_t d = 0; d + 1 < rows.rank; ++d)
    leading.push_back(d);
  SmallVector<OpFoldResult> sizes(rows.leading);
  sizes.push_back(getSizes(b, loc, matrix)[1]);
  return expandShape(b, loc, matrix, {leading, {rows.rank - 1}}, sizes);
}

/// Lowers one @forward into @mixtile_forward.
class ForwardLowering {
public:
  ForwardLowering(func::FuncOp forward, const WeightPack &pack)
      : forward(forward), pack(pack), b(forward) {}

  /// Creates @mixtile_forward and the info functions and erases @forward;
  /// when an op fails to lower, erases @mixtile_forward instead.
  LogicalResult run();

private:
  LogicalResult checkSignature();
  void createEntry();
  void createInfoFunctions();
  LogicalResult lower(Operation *op);
  void finish(func::ReturnOp ret);

  LogicalResult lowerConstant(arith::ConstantOp op);
  LogicalResult lowerLinear(xfmr::LinearOp op);
  LogicalResult lowerMatmul(xfmr::MatmulOp op);
  LogicalResult lowerEmbedding(xfmr::EmbeddingOp op);
  LogicalResult lowerRope(xfmr::RopeOp op);
  LogicalResult lowerAttention(xfmr::AttentionOp op);
  LogicalResult lowerSoftmax(xfmr::SoftmaxOp op);

  /// The lowered value of `value`; an xfmr.weight is viewed in the pack as
  /// f32 values on first use.
  Value get(Value value);
  /// A read-only tensor over `array` of the weight pack.
  Value view(const PackedArray &array, Location loc);
  /// The transpose of the [rows, cols] `matrix`: a linear weight computed
  /// in the program, read K-major like the pack's, or attention's keys.
  Value transposed(Value matrix, Location loc);
  /// The tensors `user` reads its weight operand `weight` from under
  /// `scheme`.
  FailureOr<WeightTensors>
  getWeight(Operation *user, Value weight,
            const std::optional<nx::QuantScheme> &scheme);
  /// The schemes of `op`'s precision record; emits the error otherwise.
  FailureOr<OperandSchemes> getSchemes(Operation *op);
  /// `x` ([rows, cols]) quantized row by row, or `x` without a scheme.
  Value quantizeRows(Value x, const std::optional<nx::QuantScheme> &scheme,
                     Location loc);
  /// `x` ([seq, heads * headDim]) quantized head by head.
  Value quantizeHeads(Value x, int64_t headDim,
                      const std::optional<nx::QuantScheme> &scheme,
                      Location loc);

  /// The attention op that alone uses cache argument `cache`, as its keys
  /// (or values, by `values`), and returns it updated in its place; null if
  /// there is none.
  xfmr::AttentionOp getOwningAttention(BlockArgument cache, bool values);
  /// The type of `cache`'s slot of the state (CacheLayout).
  RankedTensorType getCacheStateType(BlockArgument cache);
  /// Stores `newRows` ([n, features], rounded to the cache format) into
  /// `cache` at `start`, maps `updated` to the result, and returns the
  /// first `numKeys` rows as attention reads them: keys transposed,
  /// [kv * d, keys]; values head-major, [kv, keys, d].
  Value storeInCache(Value newRows, Value cache, Value updated, Value start,
                     OpFoldResult numKeys, bool values,
                     const AttentionParams &params, Location loc);
  /// [n, kv * d] rows as attention reads them, as storeInCache returns.
  Value toAttentionLayout(Value rows, bool values,
                          const AttentionParams &params, Location loc);

  func::FuncOp forward, entry;
  const WeightPack &pack;
  OpBuilder b;
  IRMapping mapping;
  Value weights, state, logits;
  /// The view of every cache argument in the state buffer.
  SmallVector<Value> cacheBuffers;
  /// The caches the state holds in attention's layout: the keys of one
  /// attention transposed, [kv * d, positions], so that its scores read
  /// each feature of consecutive keys contiguously; the values of one
  /// attention head-major, [kv, positions, d], so that each head's values
  /// are one block (xfmr's caches are [positions, kv * d]).
  DenseSet<Value> cachesInAttentionLayout;
  uint64_t stateBytes = 0;
  int64_t vocab = 0, maxSeqLen = INT64_MAX;
  /// Rows of the smallest table indexed by the tokens / the positions.
  int64_t tokenLimit = INT64_MAX, positionLimit = INT64_MAX;
};

LogicalResult ForwardLowering::checkSignature() {
  FunctionType type = forward.getFunctionType();
  auto fail = [&](const Twine &message) {
    return forward.emitOpError("does not follow the importers' calling "
                               "convention: ")
           << message;
  };
  if (!llvm::hasSingleElement(forward.getBody()))
    return fail("expected a single block");
  if (type.getNumInputs() < 3 || type.getNumResults() < 1)
    return fail("expected (tokens, positions, start, caches...) -> (logits, "
                "caches...)");
  if (type.getNumInputs() - 3 != type.getNumResults() - 1)
    return fail("expected one updated cache per cache argument");
  auto tokenType =
      RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
  if (type.getInput(0) != tokenType || type.getInput(1) != tokenType)
    return fail("tokens and positions must be tensor<?xi32>");
  if (!type.getInput(2).isIndex())
    return fail("the start position must be an index");
  auto logitsType = dyn_cast<RankedTensorType>(type.getResult(0));
  if (!logitsType || logitsType.getRank() != 2 || !logitsType.isDynamicDim(0) ||
      logitsType.isDynamicDim(1) || !logitsType.getElementType().isF32())
    return fail("logits must be tensor<?xVOCABxf32>");
  vocab = logitsType.getDimSize(1);
  for (auto [i, cache] : llvm::enumerate(type.getInputs().drop_front(3))) {
    auto cacheType = dyn_cast<RankedTensorType>(cache);
    if (!cacheType || !cacheType.hasStaticShape() ||
        !cacheType.getElementType().isF32() || cacheType.getRank() < 1)
      return fail("caches must be statically shaped f32 tensors");
    if (type.getResult(1 + i) != cache)
      return fail("updated caches must have the type of their argument");
    maxSeqLen = cacheType.getDimSize(0);
  }
  return success();
}

void ForwardLowering::createEntry() {
  MLIRContext *ctx = forward.getContext();
  Location loc = forward.getLoc();
  Type bytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  Type ids = MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
  Type logitsType =
      MemRefType::get({ShapedType::kDynamic, vocab}, b.getF32Type());
  auto type = FunctionType::get(
      ctx, {ids, ids, b.getIndexType(), bytes, bytes, logitsType}, {});
  entry = func::FuncOp::create(b, loc, kForwardFunction, type);
  entry->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *block = entry.addEntryBlock();
  b.setInsertionPointToStart(block);

  auto tokenTensor =
      RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
  Block &body = forward.getBody().front();
  for (int i : {0, 1})
    mapping.map(body.getArgument(i),
                bufferization::ToTensorOp::create(b, loc, tokenTensor,
                                                  block->getArgument(i),
                                                  /*restrict=*/true));
  mapping.map(body.getArgument(2), block->getArgument(2));
  weights = block->getArgument(3);
  state = block->getArgument(4);
  logits = block->getArgument(5);
  // Each cache gets a 64-byte aligned slot of the state buffer.
  for (BlockArgument cache : body.getArguments().drop_front(3)) {
    RankedTensorType cacheType = getCacheStateType(cache);
    auto bufferType =
        MemRefType::get(cacheType.getShape(), cacheType.getElementType());
    Value offset = arith::ConstantIndexOp::create(b, loc, stateBytes);
    Value buffer =
        memref::ViewOp::create(b, loc, bufferType, state, offset, {});
    cacheBuffers.push_back(buffer);
    mapping.map(cache, bufferization::ToTensorOp::create(
                           b, loc, cacheType, buffer, /*restrict=*/true,
                           /*writable=*/true));
    uint64_t cacheBytes = cacheType.getNumElements() * sizeof(float);
    stateBytes = llvm::alignTo(stateBytes + cacheBytes, kWeightPackAlignment);
  }
}

xfmr::AttentionOp ForwardLowering::getOwningAttention(BlockArgument cache,
                                                      bool values) {
  if (!cache.hasOneUse() ||
      cast<RankedTensorType>(cache.getType()).getRank() != 2)
    return nullptr;
  auto attention = dyn_cast<xfmr::AttentionOp>(*cache.getUsers().begin());
  if (!attention || attention.getKeyCache() == attention.getValueCache() ||
      (values ? attention.getValueCache() : attention.getKeyCache()) != cache)
    return nullptr;
  Value updated = attention.getUpdatedCaches()[values ? 1 : 0];
  Operation *ret = forward.getBody().front().getTerminator();
  unsigned result = 1 + cache.getArgNumber() - 3;
  if (!updated.hasOneUse() || ret->getOperand(result) != updated)
    return nullptr;
  return attention;
}

RankedTensorType ForwardLowering::getCacheStateType(BlockArgument cache) {
  auto type = cast<RankedTensorType>(cache.getType());
  for (bool values : {false, true}) {
    xfmr::AttentionOp attention = getOwningAttention(cache, values);
    if (!attention)
      continue;
    auto kvHeads = static_cast<int64_t>(attention.getNKvHeads());
    int64_t headDim = attention.getHeadDim();
    if (kvHeads * headDim != type.getDimSize(1))
      return type;
    cachesInAttentionLayout.insert(cache);
    if (!values)
      return RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)},
                                   b.getF32Type());
    return RankedTensorType::get({kvHeads, type.getDimSize(0), headDim},
                                 b.getF32Type());
  }
  return type;
}

Value ForwardLowering::toAttentionLayout(Value rows, bool values,
                                         const AttentionParams &params,
                                         Location loc) {
  if (!values)
    return transposed(rows, loc);
  OpFoldResult n = getSizes(b, loc, rows)[0];
  Value split = expandShape(
      b, loc, rows, {{0}, {1, 2}},
      {n, b.getIndexAttr(params.kvHeads), b.getIndexAttr(params.headDim)});
  Value init = emptyTensor(
      b, loc,
      {b.getIndexAttr(params.kvHeads), n, b.getIndexAttr(params.headDim)},
      b.getF32Type());
  return linalg::TransposeOp::create(b, loc, split, init,
                                     ArrayRef<int64_t>{1, 0, 2})
      ->getResult(0);
}

Value ForwardLowering::storeInCache(Value newRows, Value cache, Value updated,
                                    Value start, OpFoldResult numKeys,
                                    bool values, const AttentionParams &params,
                                    Location loc) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult rows = getSizes(b, loc, newRows)[0];
  if (!cachesInAttentionLayout.contains(cache)) {
    // xfmr's layout: rows in at `start`, attention's layout made on read.
    OpFoldResult features = getSizes(b, loc, newRows)[1];
    Value stored = tensor::InsertSliceOp::create(
        b, loc, newRows, get(cache), ArrayRef<OpFoldResult>{start, zero},
        ArrayRef<OpFoldResult>{rows, features},
        ArrayRef<OpFoldResult>{one, one});
    mapping.map(updated, stored);
    Value visible = tensor::ExtractSliceOp::create(
        b, loc, stored, ArrayRef<OpFoldResult>{zero, zero},
        ArrayRef<OpFoldResult>{numKeys, features},
        ArrayRef<OpFoldResult>{one, one});
    return toAttentionLayout(visible, values, params, loc);
  }
  // The state's layout is attention's: the new rows go in as its slice at
  // `start` (the keys' columns, the values' rows of every head).
  Value slice = toAttentionLayout(newRows, values, params, loc);
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, slice);
  // The positions are dimension 1 of both layouts.
  constexpr unsigned keyDim = 1;
  SmallVector<OpFoldResult> offsets(sizes.size(), zero);
  SmallVector<OpFoldResult> strides(sizes.size(), one);
  offsets[keyDim] = start;
  Value stored = tensor::InsertSliceOp::create(b, loc, slice, get(cache),
                                               offsets, sizes, strides);
  mapping.map(updated, stored);
  sizes[keyDim] = numKeys;
  offsets[keyDim] = zero;
  return tensor::ExtractSliceOp::create(b, loc, stored, offsets, sizes,
                                        strides);
}

void ForwardLowering::createInfoFunctions() {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forward);
  Location loc = forward.getLoc();
  auto define = [&](StringRef name, int64_t value) {
    auto func = func::FuncOp::create(
        b, loc, name, FunctionType::get(b.getContext(), {}, {b.getI64Type()}));
    OpBuilder::InsertionGuard bodyGuard(b);
    b.setInsertionPointToStart(func.addEntryBlock());
    Value constant =
        arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(value));
    func::ReturnOp::create(b, loc, constant);
  };
  define(kInfoAbiVersion, kCpuAbiVersion);
  define(kInfoVocabSize, vocab);
  define(kInfoMaxSeqLen, maxSeqLen);
  define(kInfoStateBytes, stateBytes);
  define(kInfoWeightBytes, pack.getPayloadBytes());
  define(kInfoWeightFingerprint, static_cast<int64_t>(pack.getFingerprint()));
  define(kInfoTokenLimit, tokenLimit);
  define(kInfoPositionLimit, positionLimit);
}

Value ForwardLowering::view(const PackedArray &array, Location loc) {
  auto bufferType = MemRefType::get(array.shape, array.elementType);
  Value offset = arith::ConstantIndexOp::create(b, loc, array.offset);
  Value buffer =
      memref::ViewOp::create(b, loc, bufferType, weights, offset, {});
  return bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(array.shape, array.elementType), buffer,
      /*restrict=*/true);
}

Value ForwardLowering::transposed(Value matrix, Location loc) {
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, matrix);
  Value init =
      emptyTensor(b, loc, {sizes[1], sizes[0]},
                  cast<RankedTensorType>(matrix.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, matrix, init,
                                     ArrayRef<int64_t>{1, 0})
      ->getResult(0);
}

Value ForwardLowering::get(Value value) {
  if (Value lowered = mapping.lookupOrNull(value))
    return lowered;
  auto weightOp = value.getDefiningOp<xfmr::WeightOp>();
  assert(weightOp && "value used before it was lowered");
  const PackedWeight *packed = pack.find(value, std::nullopt, false);
  assert(packed && "the pack plan lists every f32 use of a weight");
  Value tensor = view(packed->encoding.data, weightOp.getLoc());
  mapping.map(value, tensor);
  return tensor;
}

FailureOr<OperandSchemes> ForwardLowering::getSchemes(Operation *op) {
  auto precisionOp = cast<xfmr::PrecisionOpInterface>(op);
  llvm::Expected<OperandSchemes> schemes =
      getOperandSchemes(precisionOp.getPrecisionRecord());
  if (!schemes)
    return op->emitOpError(llvm::toString(schemes.takeError()));
  return *schemes;
}

/// Quantizes a constant weight now, into the arrays the pack would hold.
static WeightTensors quantizeConstant(OpBuilder &b, Location loc, bool kMajor,
                                      DenseElementsAttr values,
                                      const nx::QuantScheme &scheme) {
  auto type = cast<RankedTensorType>(values.getType());
  std::vector<float> data(values.getValues<float>().begin(),
                          values.getValues<float>().end());
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  nx::QuantizedMatrix q = nx::quantize(data.data(), rows, cols, scheme);
  WeightEncoding encoding =
      getWeightEncoding(b.getContext(), type.getShape(), scheme, kMajor);
  auto constant = [&](const PackedArray &array, ArrayRef<uint8_t> bytes) {
    auto tensorType = RankedTensorType::get(array.shape, array.elementType);
    auto raw = ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                              bytes.size());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::getFromRawBuffer(tensorType, raw));
  };
  WeightTensors weight;
  weight.scheme = scheme;
  std::vector<uint8_t> codes = packWeightCodes(q, kMajor);
  weight.data = constant(encoding.data, codes);
  if (encoding.blockScales)
    weight.blockScales =
        constant(*encoding.blockScales, packBlockScales(q, kMajor));
  if (encoding.tensorScale)
    weight.tensorScale =
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(q.tensorScale));
  if (encoding.fixUpFlag)
    weight.fixUpFlag = arith::ConstantIntOp::create(b, loc, b.getI32Type(),
                                                    needsFixUps(q) ? 1 : 0);
  return weight;
}

FailureOr<WeightTensors>
ForwardLowering::getWeight(Operation *user, Value weight,
                           const std::optional<nx::QuantScheme> &scheme) {
  Location loc = user->getLoc();
  WeightTensors tensors;
  tensors.scheme = scheme;
  bool kMajor = isa<xfmr::LinearOp>(user);
  if (weight.getDefiningOp<xfmr::WeightOp>()) {
    const PackedWeight *packed = pack.find(weight, scheme, kMajor);
    assert(packed && "the pack plan lists every weight use");
    const WeightEncoding &encoding = packed->encoding;
    tensors.data = view(encoding.data, loc);
    if (encoding.blockScales)
      tensors.blockScales = view(*encoding.blockScales, loc);
    if (encoding.tensorScale)
      tensors.tensorScale = tensor::ExtractOp::create(
          b, loc, view(*encoding.tensorScale, loc),
          ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
    if (encoding.fixUpFlag)
      tensors.fixUpFlag = tensor::ExtractOp::create(
          b, loc, view(*encoding.fixUpFlag, loc),
          ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
  } else if (!scheme) {
    tensors.data = kMajor ? transposed(get(weight), loc) : get(weight);
  } else {
    DenseElementsAttr values;
    if (!matchPattern(weight, m_Constant(&values)))
      return user->emitOpError("quantizes its weights, which must come from "
                               "an xfmr.weight or a constant");
    tensors = quantizeConstant(b, loc, kMajor, values, *scheme);
  }
  tensors.rows = cast<RankedTensorType>(weight.getType()).getDimSize(0);
  return tensors;
}

Value ForwardLowering::quantizeRows(
    Value x, const std::optional<nx::QuantScheme> &scheme, Location loc) {
  return scheme ? buildFakeQuantizeRows(b, loc, x, *scheme) : x;
}

Value ForwardLowering::quantizeHeads(
    Value x, int64_t headDim, const std::optional<nx::QuantScheme> &scheme,
    Location loc) {
  if (!scheme)
    return x;
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  int64_t heads = cast<RankedTensorType>(x.getType()).getDimSize(1) / headDim;
  Value split =
      expandShape(b, loc, x, {{0}, {1, 2}},
                  {sizes[0], b.getIndexAttr(heads), b.getIndexAttr(headDim)});
  Value perHead = collapseShape(b, loc, split, {{0, 1}, {2}});
  Value quantized = buildFakeQuantizeRows(b, loc, perHead, *scheme);
  Value back =
      expandShape(b, loc, quantized, {{0, 1}, {2}},
                  {sizes[0], b.getIndexAttr(heads), b.getIndexAttr(headDim)});
  return collapseShape(b, loc, back, {{0}, {1, 2}});
}

/// Whether the activation scheme can be applied along a reduction of
/// `size` (block scales need a static length).
static LogicalResult checkReduction(Operation *op, int64_t size,
                                    const std::optional<nx::QuantScheme> &s) {
  if (s && nx::hasBlockScales(*s) && ShapedType::isDynamic(size))
    return op->emitOpError("block-scaled activations need a static reduction "
                           "size");
  return success();
}

LogicalResult ForwardLowering::lowerConstant(arith::ConstantOp op) {
  auto type = dyn_cast<RankedTensorType>(op.getType());
  if (!type || !type.getElementType().isF32() ||
      !isa<DenseElementsAttr>(op.getValue()))
    return op.emitOpError("only f32 tensor constants are supported by the "
                          "CPU back end");
  mapping.map(op.getResult(), b.clone(*op)->getResult(0));
  return success();
}

LogicalResult ForwardLowering::lowerLinear(xfmr::LinearOp op) {
  Location loc = op.getLoc();
  FailureOr<OperandSchemes> schemes = getSchemes(op);
  if (failed(schemes))
    return failure();
  FailureOr<WeightTensors> weight =
      getWeight(op, op.getWeight(), schemes->weights);
  if (failed(weight))
    return failure();
  Rows rows = toRows(b, loc, get(op.getInput()));
  // BF16 activations of weights stored in bf16 pairs are kept as pairs of
  // codes too: the kernel reads half the bytes, and may multiply them with
  // the AVX512-BF16 dot product (mixtile-cpu-vectorize-rows' bf16-dot).
  Value x = isPlainBF16(schemes->activations) && weight->isBF16Pairs()
                ? buildBF16Pairs(b, loc, rows.matrix)
                : quantizeRows(rows.matrix, schemes->activations, loc);
  Value bias = op.getBias() ? get(op.getBias()) : Value();
  Value y = buildLinear(b, loc, x, *weight, bias);
  mapping.map(op.getResult(), fromRows(b, loc, y, rows));
  return success();
}

LogicalResult ForwardLowering::lowerMatmul(xfmr::MatmulOp op) {
  Location loc = op.getLoc();
  FailureOr<OperandSchemes> schemes = getSchemes(op);
  if (failed(schemes))
    return failure();
  const std::optional<nx::QuantScheme> &scheme = schemes->activations;
  auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
  int64_t rank = lhsType.getRank();
  if (failed(checkReduction(op, lhsType.getDimSize(rank - 1), scheme)))
    return failure();
  // Batch dimensions collapse into one: [B, M, K] x [B, K, N] / [B, N, K].
  auto toBatched = [&](Value x) {
    if (rank == 2) {
      SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
      return expandShape(b, loc, x, {{0, 1}, {2}},
                         {b.getIndexAttr(1), sizes[0], sizes[1]});
    }
    ReassociationIndices batch;
    for (int64_t d = 0; d + 2 < rank; ++d)
      batch.push_back(d);
    return collapseShape(b, loc, x, {batch, {rank - 2}, {rank - 1}});
  };
  // Rows of the last axis of a [B, R, C] tensor, quantized one by one.
  auto quantizeLastAxis = [&](Value x) {
    if (!scheme)
      return x;
    SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
    Value flat = collapseShape(b, loc, x, {{0, 1}, {2}});
    Value quantized = buildFakeQuantizeRows(b, loc, flat, *scheme);
    return expandShape(b, loc, quantized, {{0, 1}, {2}}, sizes);
  };
  Value lhs = quantizeLastAxis(toBatched(get(op.getLhs())));
  Value rhs = toBatched(get(op.getRhs()));
  bool transposed = op.getTransposeRhs();
  if (scheme && transposed) {
    rhs = quantizeLastAxis(rhs);
  } else if (scheme) {
    // K runs down the columns of each [K, N] batch: quantize its transpose,
    // each batch one matrix, as the evaluator does.
    SmallVector<OpFoldResult> sizes = getSizes(b, loc, rhs);
    Value init =
        emptyTensor(b, loc, {sizes[0], sizes[2], sizes[1]}, b.getF32Type());
    Value t = linalg::TransposeOp::create(b, loc, rhs, init,
                                          ArrayRef<int64_t>{0, 2, 1})
                  .getResult()[0];
    rhs = buildFakeQuantize(b, loc, t, *scheme);
    transposed = true;
  }
  Value y = buildMatmul(b, loc, lhs, rhs, transposed);
  if (rank == 2) {
    y = collapseShape(b, loc, y, {{0, 1}, {2}});
  } else {
    SmallVector<OpFoldResult> sizes = getSizes(b, loc, get(op.getLhs()));
    sizes.back() = getSizes(b, loc, y)[2];
    ReassociationIndices batch;
    for (int64_t d = 0; d + 2 < rank; ++d)
      batch.push_back(d);
    y = expandShape(b, loc, y, {batch, {rank - 2}, {rank - 1}}, sizes);
  }
  mapping.map(op.getResult(), y);
  return success();
}

LogicalResult ForwardLowering::lowerEmbedding(xfmr::EmbeddingOp op) {
  FailureOr<OperandSchemes> schemes = getSchemes(op);
  if (failed(schemes))
    return failure();
  FailureOr<WeightTensors> table =
      getWeight(op, op.getTable(), schemes->weights);
  if (failed(table))
    return failure();
  auto tableType = cast<RankedTensorType>(op.getTable().getType());
  // Ids index the table unchecked; the runtime checks the call's tokens
  // and positions against these limits. (The only integer tensors are
  // those two arguments, both 1-D.)
  Block &body = forward.getBody().front();
  if (op.getTokens() == body.getArgument(0))
    tokenLimit = std::min(tokenLimit, tableType.getDimSize(0));
  if (op.getTokens() == body.getArgument(1))
    positionLimit = std::min(positionLimit, tableType.getDimSize(0));
  mapping.map(op.getResult(),
              buildEmbedding(b, op.getLoc(), get(op.getTokens()), *table,
                             tableType.getDimSize(1)));
  return success();
}

LogicalResult ForwardLowering::lowerRope(xfmr::RopeOp op) {
  auto type = cast<RankedTensorType>(op.getInput().getType());
  int64_t headDim = op.getHeadDim();
  if (type.getRank() != 2 || type.isDynamicDim(1))
    return op.emitOpError("only [seq, features] inputs with static features "
                          "are supported");
  Value y =
      buildRope(b, op.getLoc(), get(op.getInput()), get(op.getPositions()),
                headDim, op.getTheta().convertToFloat(), op.getStyle());
  mapping.map(op.getResult(), y);
  return success();
}

LogicalResult ForwardLowering::lowerAttention(xfmr::AttentionOp op) {
  Location loc = op.getLoc();
  FailureOr<OperandSchemes> schemes = getSchemes(op);
  if (failed(schemes))
    return failure();
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keyType = cast<RankedTensorType>(op.getKey().getType());
  if (queryType.getRank() != 2 || keyType.getRank() != 2 ||
      queryType.isDynamicDim(1) || keyType.isDynamicDim(1))
    return op.emitOpError("only [seq, features] attention with static "
                          "features is supported");
  AttentionParams params{static_cast<int64_t>(op.getNHeads()),
                         static_cast<int64_t>(op.getNKvHeads()),
                         op.getHeadDim(), op.getEffectiveScale(),
                         op.getCausal()};
  const std::optional<nx::QuantScheme> &scheme = schemes->activations;
  // Activations are quantized per head (blocks along head features).
  Value q = quantizeHeads(get(op.getQuery()), params.headDim, scheme, loc);
  Value k = quantizeHeads(get(op.getKey()), params.headDim, scheme, loc);
  Value v = quantizeHeads(get(op.getValue()), params.headDim, scheme, loc);
  Value start;
  if (op.getKeyCache()) {
    // The new rows go into the caches at `start` (rounded to the cache
    // format, saturating), and the queries see cache rows [0, start + n).
    start = get(op.getPosition());
    OpFoldResult rows = getSizes(b, loc, k)[0];
    OpFoldResult numKeys = getAsOpFoldResult(arith::AddIOp::create(
        b, loc, start, getValueOrCreateConstantIndexOp(b, loc, rows)));
    SmallVector<Value> visible;
    SmallVector<Value> newKV = {k, v};
    SmallVector<Value> caches = {op.getKeyCache(), op.getValueCache()};
    for (auto [i, newRows, cache, updated] :
         llvm::enumerate(newKV, caches, op.getUpdatedCaches())) {
      Value rowsToStore = newRows;
      if (schemes->kvCache)
        rowsToStore = buildRoundTensor(b, loc, newRows, *schemes->kvCache,
                                       nx::Overflow::Saturate);
      visible.push_back(storeInCache(rowsToStore, cache, updated, start,
                                     numKeys, /*values=*/i == 1, params, loc));
    }
    k = visible[0];
    v = visible[1];
  } else {
    start = arith::ConstantIndexOp::create(b, loc, 0);
    k = toAttentionLayout(k, /*values=*/false, params, loc);
    v = toAttentionLayout(v, /*values=*/true, params, loc);
  }
  mapping.map(op.getResult(), buildAttention(b, loc, q, k, v, start, params));
  return success();
}

LogicalResult ForwardLowering::lowerSoftmax(xfmr::SoftmaxOp op) {
  int64_t rank = cast<RankedTensorType>(op.getType()).getRank();
  // The attribute is an I64Attr, which ODS hands out as uint64_t.
  int64_t axis = static_cast<int64_t>(op.getAxis());
  if (axis < 0)
    axis += rank;
  mapping.map(op.getResult(),
              buildSoftmax(b, op.getLoc(), get(op.getInput()), axis));
  return success();
}

LogicalResult ForwardLowering::lower(Operation *op) {
  Location loc = op->getLoc();
  auto map = [&](Value result, Value lowered) {
    mapping.map(result, lowered);
    return success();
  };
  auto rowWise = [&](Value input, auto buildRows) {
    Rows rows = toRows(b, loc, get(input));
    return fromRows(b, loc, buildRows(rows.matrix), rows);
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      // Weights are viewed in the pack by their users.
      .Case([](xfmr::WeightOp) { return success(); })
      .Case([&](arith::ConstantOp op) { return lowerConstant(op); })
      .Case([&](xfmr::LinearOp op) { return lowerLinear(op); })
      .Case([&](xfmr::MatmulOp op) { return lowerMatmul(op); })
      .Case([&](xfmr::EmbeddingOp op) { return lowerEmbedding(op); })
      .Case([&](xfmr::RopeOp op) { return lowerRope(op); })
      .Case([&](xfmr::AttentionOp op) { return lowerAttention(op); })
      .Case([&](xfmr::SoftmaxOp op) { return lowerSoftmax(op); })
      .Case([&](xfmr::RMSNormOp op) {
        float eps = op.getEpsilon().convertToFloat();
        Value w = get(op.getWeight());
        return map(op.getResult(), rowWise(op.getInput(), [&](Value x) {
                     return buildRMSNorm(b, loc, x, w, eps);
                   }));
      })
      .Case([&](xfmr::LayerNormOp op) {
        float eps = op.getEpsilon().convertToFloat();
        Value w = get(op.getWeight()), bias = get(op.getBias());
        return map(op.getResult(), rowWise(op.getInput(), [&](Value x) {
                     return buildLayerNorm(b, loc, x, w, bias, eps);
                   }));
      })
      .Case([&](xfmr::SiluOp op) {
        return map(op.getResult(), buildSilu(b, loc, get(op.getInput())));
      })
      .Case([&](xfmr::GeluOp op) {
        return map(op.getResult(),
                   buildGelu(b, loc, get(op.getInput()), op.getApproximate()));
      })
      .Case([&](xfmr::AddOp op) {
        return map(op.getResult(),
                   buildAdd(b, loc, get(op.getLhs()), get(op.getRhs())));
      })
      .Case([&](xfmr::MulOp op) {
        return map(op.getResult(),
                   buildMul(b, loc, get(op.getLhs()), get(op.getRhs())));
      })
      .Default([](Operation *op) {
        return op->emitOpError("is not supported by the CPU back end");
      });
}

void ForwardLowering::finish(func::ReturnOp ret) {
  Location loc = ret.getLoc();
  bufferization::MaterializeInDestinationOp::create(
      b, loc, TypeRange{}, get(ret.getOperand(0)), logits, /*restrict=*/true,
      /*writable=*/true);
  for (auto [buffer, updated] :
       llvm::zip_equal(cacheBuffers, ret.getOperands().drop_front()))
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange{}, get(updated), buffer, /*restrict=*/true,
        /*writable=*/true);
  func::ReturnOp::create(b, loc);
}

LogicalResult ForwardLowering::run() {
  if (failed(checkSignature()))
    return failure();
  createEntry();
  Block &body = forward.getBody().front();
  for (Operation &op : body.without_terminator()) {
    if (failed(lower(&op))) {
      entry.erase();
      return failure();
    }
  }
  finish(cast<func::ReturnOp>(body.getTerminator()));
  createInfoFunctions();
  forward.erase();
  return success();
}

} // namespace

LogicalResult mixtile::cpu::lowerXfmrToLinalg(ModuleOp module) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.isExternal())
    return module.emitError("convert-xfmr-to-linalg: the module has no "
                            "func.func @forward with a body");
  if (module.lookupSymbol(kForwardFunction))
    return module.emitError("convert-xfmr-to-linalg: the module already has "
                            "a @")
           << kForwardFunction;
  FailureOr<WeightPack> pack = WeightPack::plan(forward);
  if (failed(pack))
    return failure();
  return ForwardLowering(forward, *pack).run();
}

namespace {

class ConvertXfmrToLinalgPass
    : public conversion::impl::ConvertXfmrToLinalgBase<
          ConvertXfmrToLinalgPass> {
public:
  using ConvertXfmrToLinalgBase::ConvertXfmrToLinalgBase;

  void runOnOperation() override {
    if (failed(lowerXfmrToLinalg(getOperation())))
      signalPassFailure();
  }
};

} // namespace
