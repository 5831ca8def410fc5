//===- VectorizeRows.cpp - register-tiled kernels across output columns ---===//
//
// mixtile-cpu-vectorize-rows rewrites, on buffers, every linalg.generic of
// the form out[m, n] = body(inputs, out[m, n]) over loops (m, n, k) with k a
// reduction (the linears and matmuls of convert-xfmr-to-linalg) into a
// register-tiled kernel vectorized across n:
//
//   for each block of `depth` (fewer rows than a tile: `narrow-depth`)
//   values of k, in order:
//     for each group of `vectors` vectors of n (split over threads):
//       for each tile of `rows` rows m:
//         acc[r][j] = out[m + r, n + j * width : width]
//         for k in the block:  acc[r][j] = body(inputs at (m + r, n.., k), acc)
//         out[...] = acc
//
// The k blocks keep the weights a column group reads within one block in
// the L1 cache while every row tile reuses them, and make a block of all
// column groups read the K-major weights' rows from end to end; a partial
// sum rests in `out` between blocks, unchanged. With threads, each thread
// runs this nest over its own range of column groups.
//
// Every output element still receives the body's updates for k = 0, 1, ...
// in order, with the body's own operations, so the results are those of the
// scalar loop nest bit for bit: vectorizing across the independent output
// columns needs no reassociation. The body is vectorized operation by
// operation: a value that depends on n becomes a vector of `width` lanes,
// other values stay scalars (broadcast where a vector op uses them), and
// values that do not change with k are computed before the k loop; values
// that change with k only through k floordiv B (block scales) are computed once
// per period of B, in a loop around the k loop, when every block of k starts a
// period or lies within one. Inputs whose last index moves by one per
// lane of a vector of columns ([.., n], panels [n / P, .., n mod P], the
// words of fp4 nibble lanes) are read with one vector load (once per
// group where every vector's indices are the same), inputs
// indexed [.., n / 2] (two fp4 codes to a byte) with a half-width load
// whose bytes are duplicated, other inputs with scalar loads.
//
// With `scale-block-sums` (numerics=fast-products, which may reorder), a
// body fma(a, e * s, acc) whose s is a block scale (changes with k only
// every B values) sums fma(a, e, partial) from zero over each period of B
// and adds fma(partial, s, acc): one multiply per block, not per k.
//
// With `bf16-dot`, a body fma(low(a), low(w), fma(high(a), high(w), acc))
// of i32 pairs of bf16 codes (high(p), low(p): the f32s of the word's high
// and low code) takes one vdpbf16ps per accumulator and k. The instruction
// adds the high codes' exact product, then the low codes', each rounded to
// nearest even: the body's two FMAs, except that it flushes subnormal
// inputs and results to zero.
//
// With `threads`, the column groups are distributed over the runtime's
// threads: the kernel is outlined into a function of a column range, and a
// task function reading the kernel's operands from a context struct is
// handed to mixtile_parallel_for (CpuParallel.c). Columns are independent,
// so the split does not change any result.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Pipelines/Outlining.h"
#include "mixtile/Pipelines/ParallelFor.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/Support/MathExtras.h"

#include <numeric>

using namespace mlir;
using namespace mixtile;
using namespace mixtile::cpu;

namespace {

/// The loop dimensions a body value depends on. kOnKBlock: on k only
/// through k floordiv the plan's kBlock (a block scale's index).
enum Dependence : unsigned { kOnM = 1, kOnN = 2, kOnK = 4, kOnKBlock = 8 };

/// The limits within which a period of a block-scaled product,
/// acc = fma(a, e * s, acc) for the k of one block scale s, can be summed
/// as acc' = fma(a, e, acc') from acc' = acc / s and give acc = acc' * s
/// bit for bit (without the multiply per term):
///  - s = 2^x with |x| <= kMaxScaleExponent (checked per period);
///  - acc is +-0 or 2^kMinSumExponent <= |acc| <= 2^kMaxSumExponent at
///    the period's start (checked per period);
///  - every a of the period is +-0 or 2^-kActivationExponent <= |a| <=
///    2^kActivationExponent (checked after the period, which is redone
///    with the multiply if one is not);
///  - every e is a finite multiple of 2^-kWeightGridExponent of at most
///    2^kMaxWeightExponent (checked on the table at compile time), and a
///    period has at most 2^kMaxBlockExponent values of k.
/// Then every partial sum in either form is a multiple of 2^-87 (the
/// products a * e, multiples of 2^-63 * 2^-24, and acc / s, a multiple of
/// ulp(2^-32) / 2^32) below 2^93 in magnitude, so it and its multiple by s
/// (2^-119 to 2^125) are zero or normal floats: multiplying by the power of
/// two s commutes with every rounding, and acc' * s is the sum of the
/// multiplies (docs/CpuBackend.md, "Exact rescaled sums").
struct RescaleLimits {
  static constexpr int kMaxScaleExponent = 32;
  static constexpr int kMinSumExponent = -32, kMaxSumExponent = 60;
  static constexpr int kActivationExponent = 40;
  static constexpr int kWeightGridExponent = 24, kMaxWeightExponent = 16;
  static constexpr int kMaxBlockExponent = 16;
  /// The bits of the f32 2^exponent.
  static constexpr uint32_t powerOfTwoBits(int exponent) {
    return uint32_t(127 + exponent) << 23;
  }
};

/// How an input operand is read for one tile.
enum class InputKind {
  /// Indexed without n: one scalar load per (row, k) as needed.
  Scalar,
  /// The last index is n: one vector load per vector of columns.
  Columns,
  /// The last index is n / 2 (i8 fp4 codes, two to a byte): a half-width
  /// load with every byte duplicated.
  HalfColumns,
};

/// Where a generic can be vectorized across n, what its kernel needs.
struct RowKernelPlan {
  mutable linalg::GenericOp op;
  /// Lanes per vector (divides `columns`).
  int64_t width = 0;
  /// The kernel computes the columns [firstVector * width, columns) of the
  /// output: all of them, or those after a kernel of wider vectors (its
  /// tail).
  int64_t columns = 0;
  int64_t firstVector = 0;
  SmallVector<InputKind> inputs;
  /// Dependences of every value of the body.
  DenseMap<Value, unsigned> dependence;
  /// The B of the inputs indexed by k floordiv B (0: none).
  int64_t kBlock = 0;
  /// Whether an input is stored in panels of columns (indexed [n floordiv
  /// P, .., n mod P]): a column group then reads its whole range of k as
  /// one contiguous run.
  bool hasPanels = false;
  /// A body that yields fma(a, e * scale, acc) with `scale` changing with k
  /// only per kBlock (a weight's block scale): that product (null: none)
  /// and `scale`.
  mutable arith::MulFOp scaledProduct;
  Value scale;
  /// A body that yields fma(low(a), low(w), fma(high(a), high(w), acc))
  /// of i32 pairs of bf16 codes (their high and low codes widened), a an
  /// input on (m, k), w one on (n, k) read as columns: the inputs (a, w),
  /// which vdpbf16ps multiplies.
  std::optional<std::pair<unsigned, unsigned>> bf16Dot;
  /// With a scaled product, the fma's other factor (an activation).
  Value activation;
  /// Whether a one-row tile may sum the scaled product exactly as
  /// fma(activation, unscaled, acc / scale) and multiply the sum by the
  /// scale (see RescaleLimits): the unscaled factor is a lookup in a
  /// constant table within those limits and the activation a scalar.
  bool rescalable = false;
  /// The factor of `scaledProduct` that is not the scale.
  Value unscaled() const {
    Value lhs = scaledProduct.getLhs();
    return lhs == scale ? scaledProduct.getRhs() : lhs;
  }
};

/// The value of `expr` at column n = `column`; nullopt unless `expr` is a
/// function of n (dimension 1) and constants alone.
std::optional<int64_t> evaluateAtColumn(AffineExpr expr, int64_t column) {
  if (auto constant = dyn_cast<AffineConstantExpr>(expr))
    return constant.getValue();
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return dim.getPosition() == 1 ? std::optional<int64_t>(column)
                                  : std::nullopt;
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return std::nullopt;
  std::optional<int64_t> lhs = evaluateAtColumn(binary.getLHS(), column);
  std::optional<int64_t> rhs = evaluateAtColumn(binary.getRHS(), column);
  if (!lhs || !rhs)
    return std::nullopt;
  switch (binary.getKind()) {
  case AffineExprKind::Add:
    return *lhs + *rhs;
  case AffineExprKind::Mul:
    return *lhs * *rhs;
  case AffineExprKind::Mod:
    return *rhs > 0 ? std::optional<int64_t>(llvm::mod(*lhs, *rhs))
                    : std::nullopt;
  case AffineExprKind::FloorDiv:
    return *rhs > 0
               ? std::optional<int64_t>(llvm::divideFloorSigned(*lhs, *rhs))
               : std::nullopt;
  case AffineExprKind::CeilDiv:
    return *rhs > 0 ? std::optional<int64_t>(llvm::divideCeilSigned(*lhs, *rhs))
                    : std::nullopt;
  default:
    return std::nullopt;
  }
}

/// How an input's indices that use the column n move across the lanes of
/// every vector of columns.
struct ColumnIndex {
  /// The last index moves by one every two lanes (fp4 codes two to a
  /// byte), not every lane.
  bool halved = false;
  /// Another index uses n (the number of a panel of columns); it stays the
  /// same across the lanes.
  bool panelled = false;
};

/// Checks, at every vector of `width` columns below `columns`, that the
/// last index of `map` moves by one per lane (or per two lanes) and every
/// other index using n stays the same, so that one load at the first lane's
/// indices reads the vector: n, n mod P after n floordiv P (panels), the
/// nibble-lane word of fp4 codes (WeightPack.h), n floordiv 2. Evaluated,
/// not matched: any form of these indices is recognized.
FailureOr<ColumnIndex> matchColumnIndex(AffineMap map, int64_t columns,
                                        int64_t width) {
  ColumnIndex index;
  unsigned last = map.getNumResults() - 1;
  if (!map.getResult(last).isFunctionOfDim(1))
    return failure();
  auto step = [&](unsigned i, int64_t halved) -> FailureOr<bool> {
    AffineExpr result = map.getResult(i);
    for (int64_t n0 = 0; n0 < columns; n0 += width) {
      std::optional<int64_t> first = evaluateAtColumn(result, n0);
      if (!first)
        return failure();
      for (int64_t lane = 1; lane < width; ++lane) {
        int64_t expected = i != last ? *first : *first + (lane >> halved);
        if (evaluateAtColumn(result, n0 + lane) != expected)
          return false;
      }
    }
    return true;
  };
  for (unsigned i = 0; i < last; ++i) {
    if (!map.getResult(i).isFunctionOfDim(1))
      continue;
    FailureOr<bool> uniform = step(i, 0);
    if (failed(uniform) || !*uniform)
      return failure();
    index.panelled = true;
  }
  FailureOr<bool> contiguous = step(last, 0);
  if (failed(contiguous))
    return failure();
  if (*contiguous)
    return index;
  FailureOr<bool> halved = step(last, 1);
  if (failed(halved) || !*halved)
    return failure();
  index.halved = true;
  return index;
}

/// B if every use of k in `map` is k floordiv B for one constant B, 0 if
/// k is used otherwise (or not at all).
int64_t getKBlock(AffineMap map) {
  int64_t block = 0;
  for (AffineExpr result : map.getResults()) {
    if (!result.isFunctionOfDim(2))
      continue;
    auto div = dyn_cast<AffineBinaryOpExpr>(result);
    if (!div || div.getKind() != AffineExprKind::FloorDiv)
      return 0;
    auto lhs = dyn_cast<AffineDimExpr>(div.getLHS());
    auto rhs = dyn_cast<AffineConstantExpr>(div.getRHS());
    if (!lhs || lhs.getPosition() != 2 || !rhs || rhs.getValue() <= 1 ||
        (block && block != rhs.getValue()))
      return 0;
    block = rhs.getValue();
  }
  return block;
}

unsigned dimsOf(AffineMap map) {
  unsigned dims = 0;
  for (AffineExpr result : map.getResults())
    for (unsigned d = 0; d < 3; ++d)
      if (result.isFunctionOfDim(d))
        dims |= 1u << d;
  return dims;
}

/// A load from a table of at most 16 f32 values defined outside the
/// generic (decodeWeight's E2M1 values): vectorized as a lookup.
bool isTableLookup(Operation *op) {
  auto load = dyn_cast<memref::LoadOp>(op);
  if (!load || load.getIndices().size() != 1)
    return false;
  MemRefType type = load.getMemRefType();
  return type.getRank() == 1 && type.hasStaticShape() &&
         type.getDimSize(0) <= 16 && type.getElementType().isF32() &&
         type.getLayout().isIdentity() &&
         !op->getParentRegion()->isAncestor(load.getMemRef().getParentRegion());
}

bool isVectorizableBodyOp(Operation *op) {
  if (isa<linalg::IndexOp, linalg::YieldOp>(op) || isTableLookup(op))
    return true;
  if (op->getNumRegions() != 0 || op->getNumResults() != 1)
    return false;
  Dialect *dialect = op->getDialect();
  if (!dialect || !isa<arith::ArithDialect, math::MathDialect>(dialect))
    return false;
  return llvm::all_of(op->getResultTypes(),
                      [](Type type) { return type.isIntOrIndexOrFloat(); });
}

/// Finds a scaled product in the plan's body (RowKernelPlan::scaledProduct).
void matchScaledProduct(RowKernelPlan &plan) {
  Block *body = plan.op.getBlock();
  auto fma = body->getTerminator()->getOperand(0).getDefiningOp<math::FmaOp>();
  if (!fma || fma.getC() != body->getArguments().back())
    return;
  auto dependence = [&](Value value) { return plan.dependence.lookup(value); };
  for (Value factor : {fma.getA(), fma.getB()}) {
    auto mul = factor.getDefiningOp<arith::MulFOp>();
    if (!mul || !mul->hasOneUse() || mul->getBlock() != body)
      continue;
    for (unsigned i = 0; i < 2; ++i) {
      Value scale = mul->getOperand(i), unscaled = mul->getOperand(1 - i);
      if ((dependence(scale) & (kOnK | kOnKBlock)) != kOnKBlock ||
          !(dependence(unscaled) & kOnK))
        continue;
      plan.scaledProduct = mul;
      plan.scale = scale;
      return;
    }
  }
}

/// The values of the constant global table that `load` reads, if any.
std::optional<SmallVector<float>> getConstantTable(memref::LoadOp load) {
  auto getGlobal = load.getMemRef().getDefiningOp<memref::GetGlobalOp>();
  if (!getGlobal)
    return std::nullopt;
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      getGlobal, getGlobal.getNameAttr());
  auto values =
      global && global.getConstant()
          ? dyn_cast_or_null<DenseFPElementsAttr>(global.getConstantInitValue())
          : nullptr;
  if (!values)
    return std::nullopt;
  return llvm::to_vector(values.getValues<float>());
}

/// Whether every value of `table` is finite, at most 2^kMaxWeightExponent
/// in magnitude and a multiple of 2^-kWeightGridExponent (E2M1's are
/// multiples of 1/2 up to 6).
bool isWithinRescaleLimits(ArrayRef<float> table) {
  return llvm::all_of(table, [](float value) {
    float scaled = std::ldexp(value, RescaleLimits::kWeightGridExponent);
    return std::isfinite(value) &&
           std::fabs(value) <=
               std::ldexp(1.0f, RescaleLimits::kMaxWeightExponent) &&
           std::trunc(scaled) == scaled;
  });
}

/// Sets RescaleLimits' compile-time conditions for a plan with a scaled
/// product (RowKernelPlan::rescalable).
void matchRescalable(RowKernelPlan &plan) {
  auto fma = plan.op.getBlock()
                 ->getTerminator()
                 ->getOperand(0)
                 .getDefiningOp<math::FmaOp>();
  plan.activation =
      fma.getA() == plan.scaledProduct.getResult() ? fma.getB() : fma.getA();
  auto lookup = plan.unscaled().getDefiningOp<memref::LoadOp>();
  if (!lookup || !isTableLookup(lookup) ||
      plan.kBlock > (int64_t(1) << RescaleLimits::kMaxBlockExponent) ||
      (plan.dependence.lookup(plan.activation) & kOnN) ||
      !plan.activation.getType().isF32())
    return;
  std::optional<SmallVector<float>> table = getConstantTable(lookup);
  plan.rescalable = table && isWithinRescaleLimits(*table);
}

/// The block argument (an i32 pair of bf16 codes) whose high code `value`
/// widens to f32 (bitcast(andi(word, 0xffff0000)),
/// ScalarBuilder::fromHighBF16), or with `low` whose low code it widens
/// (bitcast(shli(word, 16)), fromLowBF16); else null.
BlockArgument getWidenedBF16Half(Value value, bool low) {
  auto cast = value.getDefiningOp<arith::BitcastOp>();
  if (!cast || !cast.getType().isF32())
    return {};
  Value word;
  if (auto shift = cast.getIn().getDefiningOp<arith::ShLIOp>();
      low && shift && getConstantIntValue(shift.getRhs()) == 16)
    word = shift.getLhs();
  // An i32 constant reads back sign-extended.
  if (auto mask = cast.getIn().getDefiningOp<arith::AndIOp>();
      !low && mask &&
      getConstantIntValue(mask.getRhs()) == int64_t(int32_t(0xffff0000u)))
    word = mask.getLhs();
  auto pair = dyn_cast_or_null<BlockArgument>(word);
  return pair && pair.getType().isInteger(32) ? pair : BlockArgument();
}

/// Finds a product of pairs of bf16 codes in the plan's body
/// (RowKernelPlan::bf16Dot): fma(low(a), low(w), fma(high(a), high(w),
/// acc)), either factor order.
void matchBF16Dot(RowKernelPlan &plan) {
  Block *body = plan.op.getBlock();
  auto second =
      body->getTerminator()->getOperand(0).getDefiningOp<math::FmaOp>();
  auto first = second ? second.getC().getDefiningOp<math::FmaOp>() : nullptr;
  if (!first || first.getC() != body->getArguments().back() || plan.width != 16)
    return;
  auto isRowInput = [&](BlockArgument pair) {
    return plan.dependence.lookup(pair) == (kOnM | kOnK);
  };
  auto isColumnInput = [&](BlockArgument pair) {
    return plan.dependence.lookup(pair) == (kOnN | kOnK) &&
           plan.inputs[pair.getArgNumber()] == InputKind::Columns;
  };
  // The row and column words of one fma's factors, high or low halves.
  auto factors = [&](math::FmaOp fma,
                     bool low) -> std::optional<std::pair<unsigned, unsigned>> {
    BlockArgument a = getWidenedBF16Half(fma.getA(), low);
    BlockArgument w = getWidenedBF16Half(fma.getB(), low);
    if (!a || !w)
      return std::nullopt;
    if (isColumnInput(a))
      std::swap(a, w);
    if (!isRowInput(a) || !isColumnInput(w))
      return std::nullopt;
    return std::pair(a.getArgNumber(), w.getArgNumber());
  };
  auto high = factors(first, /*low=*/false);
  if (high && high == factors(second, /*low=*/true))
    plan.bf16Dot = high;
}

/// Checks `op` and computes the plan of its kernel for its first `columns`
/// columns (0: all) in vectors of the largest width from `maxWidth` down to
/// `minWidth`, halving, that divides them; fails for generics of another
/// form.
FailureOr<RowKernelPlan> planRowKernel(linalg::GenericOp op, int64_t maxWidth,
                                       int64_t columns = 0,
                                       int64_t minWidth = 4) {
  RowKernelPlan plan;
  plan.op = op;
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 3)
    return failure();
  auto iterators = op.getIteratorTypesArray();
  if (iterators[0] != utils::IteratorType::parallel ||
      iterators[1] != utils::IteratorType::parallel ||
      iterators[2] != utils::IteratorType::reduction)
    return failure();
  MLIRContext *ctx = op.getContext();
  OpOperand *init = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(init->get().getType());
  if (!outType || outType.getRank() != 2 || !outType.isLastDimUnitStride() ||
      !outType.getElementType().isF32() ||
      op.getMatchingIndexingMap(init) !=
          AffineMap::getMultiDimMapWithTargets(3, {0, 1}, ctx))
    return failure();
  plan.columns = outType.getDimSize(1);
  if (ShapedType::isDynamic(plan.columns))
    return failure();
  if (columns)
    plan.columns = columns;
  for (int64_t width = maxWidth; width >= minWidth && !plan.width; width /= 2)
    if (plan.columns % width == 0)
      plan.width = width;
  if (!plan.width)
    return failure();

  Block *body = op.getBlock();
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!type || type.getRank() == 0)
      return failure();
    unsigned dims = dimsOf(map);
    InputKind kind = InputKind::Scalar;
    if (dims & 2) {
      FailureOr<ColumnIndex> column =
          matchColumnIndex(map, plan.columns, plan.width);
      if (failed(column) || !type.isLastDimUnitStride())
        return failure();
      plan.hasPanels |= column->panelled;
      if (!column->halved)
        kind = InputKind::Columns;
      else if (type.getElementType().isInteger(8) && plan.width % 2 == 0)
        kind = InputKind::HalfColumns;
      else
        return failure();
    }
    plan.inputs.push_back(kind);
    unsigned onK = dims & 4 ? kOnK : 0;
    if (int64_t block = getKBlock(map);
        block && (!plan.kBlock || plan.kBlock == block)) {
      plan.kBlock = block;
      onK = kOnKBlock;
    }
    plan.dependence[body->getArgument(input->getOperandNumber())] =
        (dims & 1 ? kOnM : 0) | (dims & 2 ? kOnN : 0) | onK;
  }
  // The accumulator changes with every k.
  plan.dependence[body->getArguments().back()] = kOnM | kOnN | kOnK;
  for (Operation &bodyOp : body->without_terminator()) {
    if (!isVectorizableBodyOp(&bodyOp))
      return failure();
    unsigned deps = 0;
    if (auto index = dyn_cast<linalg::IndexOp>(bodyOp))
      deps = 1u << index.getDim();
    for (Value operand : bodyOp.getOperands())
      deps |= plan.dependence.lookup(operand);
    plan.dependence[bodyOp.getResult(0)] = deps;
  }
  Value yielded = body->getTerminator()->getOperand(0);
  if (!(plan.dependence.lookup(yielded) & kOnN))
    return failure();
  // The kernel reads a dynamic K from an operand indexed by k alone.
  if (ShapedType::isDynamic(op.getStaticLoopRanges()[2]) &&
      llvm::none_of(op.getIndexingMapsArray(), [&](AffineMap map) {
        return llvm::is_contained(map.getResults(), getAffineDimExpr(2, ctx));
      }))
    return failure();
  matchScaledProduct(plan);
  if (plan.scaledProduct)
    matchRescalable(plan);
  matchBF16Dot(plan);
  return plan;
}

/// Emits the kernel of one plan: the body vectorized for a tile of rows and
/// vectors of columns.
class RowKernelEmitter {
public:
  RowKernelEmitter(const RowKernelPlan &plan, OpBuilder &b, Location loc,
                   IRMapping &outer)
      : plan(plan), b(b), loc(loc), outer(outer) {}

  /// The loops over vectors [vBegin, vEnd) of columns, in groups of
  /// `vectors` (vBegin a multiple of it), and every row in tiles of `rows`.
  void emitColumnRange(Value vBegin, Value vEnd, int64_t rows, int64_t vectors,
                       int64_t depth, int64_t narrowDepth, int64_t rowBlock);

  /// Whether values that change with k only every kBlock values are
  /// computed once per kBlock: every block of k must then lie within one
  /// period of kBlock or start at one's beginning.
  bool hoistsKBlocks = false;
  /// Whether table lookups of 16 lanes may use AVX-512's vpermps (else
  /// they are gathers).
  bool permuteTables = false;
  /// How far ahead (bytes) one-row tiles prefetch the inputs they stream
  /// along k; 0: not at all.
  int64_t prefetchBytes = 0;
  /// Whether the plan's scaled product may be summed unscaled over each
  /// period of kBlock and scaled once per sum (numerics=fast-products
  /// only: this reassociates the reduction).
  bool scalesBlockSums = false;
  /// Whether one-row tiles may sum the plan's scaled product rescaled
  /// (RescaleLimits; exact, with checks and a fallback to the multiplies).
  bool rescalesSums = true;
  /// Whether the plan's product of pairs of bf16 codes
  /// (RowKernelPlan::bf16Dot) may use AVX512-BF16's vdpbf16ps (not in
  /// exact numerics: it flushes subnormals).
  bool bf16Dot = false;

private:
  Value constantIndex(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  VectorType vectorOf(Type element) const {
    return VectorType::get({plan.width}, element);
  }
  Value operand(unsigned i) { return outer.lookup(plan.op->getOperand(i)); }
  /// The trip count of the k loop, from the kernel's operands.
  Value reductionSize();
  Value output() { return operand(plan.op->getNumOperands() - 1); }

  /// The loops over rows [mBegin, mEnd) for the `vectors` vectors starting
  /// at column `n0`, over k in [kBegin, kEnd).
  void emitColumnGroup(Value n0, Value kBegin, Value kEnd, Value mBegin,
                       Value mEnd, int64_t rows, int64_t vectors);
  /// The loop over k in [kBegin, kEnd) of a `rows` x `vectors` tile at
  /// (m0, n0).
  void emitTile(Value m0, Value n0, Value kBegin, Value kEnd, int64_t rows,
                int64_t vectors);
  /// When body values are computed: before the k loops, once per period
  /// of kBlock, or in the k loop.
  enum Stage { Invariant, PerKBlock, Varying };
  Stage stageOf(Value value) const;
  /// The inputs and body ops of `stage`, at the builder's point.
  void emitStage(Stage stage);
  /// Whether every vector of a column group reads input `input` at the
  /// same indices (fp4 nibble lanes: one word per lane holds the codes of
  /// 8 vectors), so that one load serves the group.
  bool readsOncePerGroup(unsigned input) const;
  /// The loop over k in [from, to) of the tile's body from `accumulators`.
  /// With `tracksActivations`, it also carries, per row, the least bits - 1
  /// and the largest bits of |activation| (after the accumulators).
  SmallVector<Value> emitKLoop(Value from, Value to, ValueRange accumulators,
                               bool tracksActivations = false);
  /// The k loop summing the scaled product unscaled from zero, then each
  /// accumulator's fma(sum, scale, accumulator) (scalesBlockSums).
  SmallVector<Value> emitBlockSumKLoop(Value from, Value to,
                                       ValueRange accumulators);
  /// The k loop of one period of kBlock summing the scaled product
  /// rescaled (RescaleLimits), else, or if its activations turn out to be
  /// out of range, with the multiplies.
  SmallVector<Value> emitRescaledKLoop(Value from, Value to,
                                       ValueRange accumulators);
  /// Whether the period's scales and starting `accumulators` are within
  /// RescaleLimits (an i1).
  Value emitRescaleCheck(ValueRange accumulators);
  /// A vector of i32 lanes `bits`.
  Value splatBits(uint32_t bits);
  /// The value of block argument / op result `value` of the body for row r
  /// and vector j, emitted at the builder's point.
  void emitBodyOps(ArrayRef<Operation *> ops, unsigned tileRows,
                   unsigned tileVectors);
  Value emitInput(unsigned input, unsigned r, unsigned j);
  /// The indices of input `input` for row r, vector j and `kValue`, and
  /// (`dims`) the loop values they are computed from.
  SmallVector<Value> emitIndices(unsigned input, unsigned r, unsigned j,
                                 Value kValue, SmallVectorImpl<Value> &dims);
  /// The loop over k in [kBegin, kEnd) (pairs of codes) of a tile with the
  /// plan's bf16 dot: one vdpbf16ps per accumulator and k.
  SmallVector<Value> emitDotLoop(Value kBegin, Value kEnd,
                                 ValueRange accumulators);
  /// In a one-row tile, a prefetch of the line input `input` (indexed by
  /// `map`, at `dims`) will read for vector j `prefetchBytes` ahead of
  /// `kValue` along k (null: outside the k loops), when vector j starts a
  /// cache line.
  void emitPrefetch(unsigned input, AffineMap map, ValueRange dims, unsigned j,
                    Value kValue);
  /// The table lookup `load` for the vector of indices `indices`.
  Value emitLookup(memref::LoadOp load, Value indices);
  /// The body value whose lanes index the table of `load`: its index, or
  /// with vpermps (which reads the low 4 bits of each lane) the value an
  /// `and 15` of it masks.
  Value lookupIndex(memref::LoadOp load);
  bool usesPermute(memref::LoadOp load) const;
  Value emitIndex(linalg::IndexOp index, unsigned r, unsigned j);
  Value asVector(Value value, unsigned deps);

  /// Lane values of the tile: value of the body -> [r][j].
  Value &lane(Value value, unsigned r, unsigned j) {
    return lanes[value][r * maxVectors + j];
  }
  /// The lane (r, j) of `value`, accounting for values that do not vary
  /// with the row or the vector.
  Value get(Value value, unsigned r, unsigned j) {
    unsigned deps = plan.dependence.lookup(value);
    if (!plan.dependence.count(value))
      return outer.lookupOrDefault(value);
    auto it = lanes.find(value);
    assert(it != lanes.end() && "body value used before it was emitted");
    return it
        ->second[(deps & kOnM ? r : 0) * maxVectors + (deps & kOnN ? j : 0)];
  }

  const RowKernelPlan &plan;
  OpBuilder &b;
  Location loc;
  IRMapping &outer;
  DenseMap<Value, SmallVector<Value>> lanes;
  unsigned maxVectors = 0;
  Value m0, n0, k;
  /// The rows of the current tile.
  int64_t tileRows = 0;
  /// An op at the start of the current tile, before its loops over k.
  Operation *tileStart = nullptr;
  /// The current tile's inputs and body ops by stage.
  SmallVector<Operation *> stageOps[3];
  /// Whether the current tile sums the plan's scaled product unscaled.
  bool sumsUnscaled = false;
  /// Whether the body ops being emitted use the scaled product's unscaled
  /// factor in its place.
  bool dropsScale = false;
};

void RowKernelEmitter::emitColumnRange(Value vBegin, Value vEnd, int64_t rows,
                                       int64_t vectors, int64_t depth,
                                       int64_t narrowDepth, int64_t rowBlock) {
  auto nests = [&](int64_t step) {
    return step % plan.kBlock == 0 || plan.kBlock % step == 0;
  };
  // The k blocks are the outer loop: one block over the range's column
  // groups reads `depth` rows of the K-major weights from end to end, a few
  // long streams, where a whole column group at a time would read a short
  // strip of every row (a page per k: the TLB misses bound batch-1
  // products). Each output still sees k in order. With fewer rows than a
  // tile nothing reuses the weights: blocks of `narrowDepth`, or with
  // panels all of k at once (the range's panels are one contiguous run).
  Value kSize = reductionSize();
  Value rowCount = memref::DimOp::create(b, loc, output(), 0);
  Value narrow = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                       rowCount, constantIndex(rows));
  Value narrowStep =
      plan.hasPanels
          ? arith::MaxUIOp::create(b, loc, kSize, constantIndex(1)).getResult()
          : constantIndex(narrowDepth);
  hoistsKBlocks =
      plan.kBlock && nests(depth) && (plan.hasPanels || nests(narrowDepth));
  Value kStep =
      arith::SelectOp::create(b, loc, narrow, narrowStep, constantIndex(depth));
  scf::ForOp blocks =
      scf::ForOp::create(b, loc, constantIndex(0), kSize, kStep);
  OpBuilder::InsertionGuard blockGuard(b);
  b.setInsertionPointToStart(blocks.getBody());
  Value kBegin = blocks.getInductionVar();
  Value kEnd = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, kBegin, kStep), kSize);
  // Within a block of k, blocks of rows: the inputs of one row block (a
  // whole number of tiles) stay in the L2 cache while every column group
  // reuses them.
  Value blockRows = constantIndex(llvm::divideCeil(rowBlock, rows) * rows);
  scf::ForOp rowBlocks =
      scf::ForOp::create(b, loc, constantIndex(0), rowCount, blockRows);
  b.setInsertionPointToStart(rowBlocks.getBody());
  Value mBegin = rowBlocks.getInductionVar();
  Value mEnd = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, mBegin, blockRows), rowCount);
  // Whole groups first, then single vectors. The range starts at a whole
  // group (its callers split at multiples of `vectors`), so the first
  // column of a group is the group's number times its columns: an affine
  // multiple, which lets the composed indices of the tile's inputs fold
  // (a panel's number, the place of a vector in it, its fp4 bytes).
  Value group = constantIndex(vectors);
  Value groupsBegin = arith::DivUIOp::create(b, loc, vBegin, group);
  Value groupsEnd = arith::DivUIOp::create(b, loc, vEnd, group);
  auto columnLoop = [&](Value begin, Value end, int64_t n) {
    scf::ForOp loop = scf::ForOp::create(b, loc, begin, end, constantIndex(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    AffineExpr index = getAffineDimExpr(0, b.getContext());
    Value n0 = affine::makeComposedAffineApply(b, loc, index * (n * plan.width),
                                               {loop.getInductionVar()})
                   .getResult();
    emitColumnGroup(n0, kBegin, kEnd, mBegin, mEnd, rows, n);
  };
  columnLoop(groupsBegin, groupsEnd, vectors);
  if (vectors > 1)
    columnLoop(arith::MulIOp::create(b, loc, groupsEnd, group), vEnd, 1);
}

void RowKernelEmitter::emitColumnGroup(Value n0, Value kBegin, Value kEnd,
                                       Value mBegin, Value mEnd, int64_t rows,
                                       int64_t vectors) {
  Value tileRows = constantIndex(rows);
  Value rowCount = arith::SubIOp::create(b, loc, mEnd, mBegin);
  Value wholeRows = arith::AddIOp::create(
      b, loc, mBegin,
      arith::MulIOp::create(b, loc,
                            arith::DivUIOp::create(b, loc, rowCount, tileRows),
                            tileRows));
  auto rowLoop = [&](Value begin, Value end, int64_t tile) {
    scf::ForOp loop =
        scf::ForOp::create(b, loc, begin, end, constantIndex(tile));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    emitTile(loop.getInductionVar(), n0, kBegin, kEnd, tile, vectors);
  };
  rowLoop(mBegin, wholeRows, rows);
  if (rows > 1)
    rowLoop(wholeRows, mEnd, 1);
}

Value RowKernelEmitter::reductionSize() {
  int64_t size = plan.op.getStaticLoopRanges()[2];
  if (!ShapedType::isDynamic(size))
    return constantIndex(size);
  // An operand indexed by k alone in some dimension has K there.
  AffineExpr kExpr = getAffineDimExpr(2, plan.op.getContext());
  for (OpOperand &input : plan.op->getOpOperands()) {
    AffineMap map = plan.op.getMatchingIndexingMap(&input);
    for (auto [position, result] : llvm::enumerate(map.getResults()))
      if (result == kExpr)
        return memref::DimOp::create(b, loc, outer.lookup(input.get()),
                                     position);
  }
  llvm_unreachable("planRowKernel checks that K can be read");
}

Value RowKernelEmitter::asVector(Value value, unsigned deps) {
  if (isa<VectorType>(value.getType()))
    return value;
  return vector::BroadcastOp::create(b, loc, vectorOf(value.getType()), value);
}

Value RowKernelEmitter::emitIndex(linalg::IndexOp index, unsigned r,
                                  unsigned j) {
  switch (index.getDim()) {
  case 0:
    return arith::AddIOp::create(b, loc, m0, constantIndex(r));
  case 1: {
    Value first =
        arith::AddIOp::create(b, loc, n0, constantIndex(j * plan.width));
    Value step = vector::StepOp::create(b, loc, vectorOf(b.getIndexType()));
    return arith::AddIOp::create(b, loc, asVector(first, kOnN), step);
  }
  default:
    return k;
  }
}

SmallVector<Value> RowKernelEmitter::emitIndices(unsigned input, unsigned r,
                                                 unsigned j, Value kValue,
                                                 SmallVectorImpl<Value> &dims) {
  AffineMap map =
      plan.op.getMatchingIndexingMap(plan.op.getDpsInputOperand(input));
  Value row, col;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(tileStart);
    row = arith::AddIOp::create(b, loc, m0, constantIndex(r));
    AffineExpr first = getAffineDimExpr(0, b.getContext());
    col = affine::makeComposedAffineApply(b, loc, first + j * plan.width, {n0})
              .getResult();
  }
  dims.assign({row, col, kValue ? kValue : constantIndex(0)});
  SmallVector<Value> indices;
  for (unsigned i = 0; i < map.getNumResults(); ++i) {
    // An index that does not change with k (a panel, a column within it)
    // is computed once per tile, before the loops over k: LLVM does not
    // hoist the signed floordiv / mod sequences out of them.
    bool onK = map.getResult(i).isFunctionOfDim(2);
    OpBuilder::InsertionGuard guard(b);
    if (!onK)
      b.setInsertionPoint(tileStart);
    indices.push_back(
        affine::makeComposedAffineApply(b, loc, map.getSubMap({i}),
                                        getAsOpFoldResult(ValueRange(dims)))
            .getResult());
  }
  return indices;
}

Value RowKernelEmitter::emitInput(unsigned input, unsigned r, unsigned j) {
  OpOperand *operandRef = plan.op.getDpsInputOperand(input);
  AffineMap map = plan.op.getMatchingIndexingMap(operandRef);
  Value memref = outer.lookup(operandRef->get());
  SmallVector<Value> dims;
  SmallVector<Value> indices = emitIndices(input, r, j, k, dims);
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  switch (plan.inputs[input]) {
  case InputKind::Scalar:
    return memref::LoadOp::create(b, loc, memref, indices);
  case InputKind::Columns:
    emitPrefetch(input, map, dims, j, k);
    return vector::LoadOp::create(b, loc, vectorOf(element), memref, indices);
  case InputKind::HalfColumns: {
    auto half = VectorType::get({plan.width / 2}, element);
    Value bytes = vector::LoadOp::create(b, loc, half, memref, indices);
    SmallVector<int64_t> duplicate;
    for (int64_t lane = 0; lane < plan.width; ++lane)
      duplicate.push_back(lane / 2);
    return vector::ShuffleOp::create(b, loc, bytes, bytes, duplicate);
  }
  }
  llvm_unreachable("unknown input kind");
}

SmallVector<Value> RowKernelEmitter::emitDotLoop(Value kBegin, Value kEnd,
                                                 ValueRange accumulators) {
  auto [rowInput, columnInput] = *plan.bf16Dot;
  auto pairs = VectorType::get({2 * plan.width}, b.getBF16Type());
  auto words = VectorType::get({plan.width}, b.getI32Type());
  Value rowWords = operand(rowInput), columnWords = operand(columnInput);
  AffineMap columnMap =
      plan.op.getMatchingIndexingMap(plan.op.getDpsInputOperand(columnInput));
  auto loop =
      scf::ForOp::create(b, loc, kBegin, kEnd, constantIndex(1), accumulators);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value kValue = loop.getInductionVar();
  SmallVector<Value> dims;
  // Row r's pair in every lane.
  SmallVector<Value> rowPairs;
  for (int64_t r = 0; r < tileRows; ++r) {
    Value word = memref::LoadOp::create(
        b, loc, rowWords, emitIndices(rowInput, r, 0, kValue, dims));
    rowPairs.push_back(vector::BitCastOp::create(
        b, loc, pairs, vector::BroadcastOp::create(b, loc, words, word)));
  }
  SmallVector<Value> next(tileRows * maxVectors);
  for (int64_t j = 0; j < maxVectors; ++j) {
    SmallVector<Value> indices = emitIndices(columnInput, 0, j, kValue, dims);
    emitPrefetch(columnInput, columnMap, dims, j, kValue);
    Value columnPairs = vector::BitCastOp::create(
        b, loc, pairs,
        vector::LoadOp::create(b, loc, words, columnWords, indices));
    for (int64_t r = 0; r < tileRows; ++r) {
      int64_t acc = r * maxVectors + j;
      next[acc] = LLVM::CallIntrinsicOp::create(
                      b, loc, vectorOf(b.getF32Type()),
                      b.getStringAttr("llvm.x86.avx512bf16.dpbf16ps.512"),
                      ValueRange{loop.getRegionIterArgs()[acc], rowPairs[r],
                                 columnPairs})
                      .getResult(0);
    }
  }
  scf::YieldOp::create(b, loc, next);
  return SmallVector<Value>(loop.getResults());
}

void RowKernelEmitter::emitPrefetch(unsigned input, AffineMap map,
                                    ValueRange dims, unsigned j, Value kValue) {
  // Only a one-row tile streams its weights (a batch-1 product: nothing
  // reuses them); bigger tiles read them from the cache blocks of k.
  if (!prefetchBytes || tileRows != 1 || !kValue)
    return;
  Value memref = operand(plan.op.getDpsInputOperand(input)->getOperandNumber());
  auto type = cast<MemRefType>(memref.getType());
  auto kPosition = map.getResultPosition(getAffineDimExpr(2, b.getContext()));
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!kPosition || failed(type.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(strides[*kPosition]))
    return;
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  constexpr int64_t kLineBytes = 64;
  if (j * plan.width * elementBytes % kLineBytes != 0)
    return;
  int64_t bytesPerK = strides[*kPosition] * elementBytes;
  int64_t ahead =
      std::max<int64_t>(1, llvm::divideCeil(prefetchBytes, bytesPerK));
  // The last k at most: an index past the array's end would be undefined
  // for a memref, even where the instruction would not fault.
  Value lastK;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(tileStart);
    lastK = arith::SubIOp::create(b, loc, reductionSize(), constantIndex(1));
  }
  SmallVector<Value> aheadDims(dims);
  aheadDims[2] = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, kValue, constantIndex(ahead)),
      lastK);
  SmallVector<Value> indices;
  for (unsigned i = 0; i < map.getNumResults(); ++i) {
    // As in emitIndices: an index that does not change with k (the panel)
    // once per tile.
    OpBuilder::InsertionGuard guard(b);
    if (!map.getResult(i).isFunctionOfDim(2))
      b.setInsertionPoint(tileStart);
    indices.push_back(affine::makeComposedAffineApply(
                          b, loc, map.getSubMap({i}),
                          getAsOpFoldResult(ValueRange(aheadDims)))
                          .getResult());
  }
  memref::PrefetchOp::create(b, loc, memref, indices, /*isWrite=*/false,
                             /*localityHint=*/3, /*isDataCache=*/true);
}

void RowKernelEmitter::emitBodyOps(ArrayRef<Operation *> ops, unsigned tileRows,
                                   unsigned tileVectors) {
  for (Operation *op : ops) {
    Value result = op->getResult(0);
    unsigned deps = plan.dependence.lookup(result);
    unsigned rs = deps & kOnM ? tileRows : 1;
    unsigned js = deps & kOnN ? tileVectors : 1;
    auto &values = lanes[result];
    values.assign(tileRows * maxVectors, Value());
    for (unsigned r = 0; r < rs; ++r)
      for (unsigned j = 0; j < js; ++j) {
        Value value;
        if (dropsScale && op == plan.scaledProduct) {
          // The scale is applied to the partial sum instead.
          value = get(plan.unscaled(), r, j);
          if (deps & kOnN)
            value = asVector(value, deps);
        } else if (auto index = dyn_cast<linalg::IndexOp>(op)) {
          value = emitIndex(index, r, j);
        } else if (isTableLookup(op) && (deps & kOnN)) {
          auto load = cast<memref::LoadOp>(op);
          value = emitLookup(
              load, asVector(get(lookupIndex(load), r, j), deps | kOnN));
        } else {
          SmallVector<Value> operands;
          for (Value operand : op->getOperands()) {
            Value mapped = get(operand, r, j);
            operands.push_back(deps & kOnN ? asVector(mapped, deps) : mapped);
          }
          Type type = result.getType();
          OperationState state(op->getLoc(), op->getName(), operands,
                               deps & kOnN ? Type(vectorOf(type)) : type,
                               op->getAttrs());
          value = b.create(state)->getResult(0);
        }
        values[r * maxVectors + j] = value;
      }
  }
}

Value RowKernelEmitter::lookupIndex(memref::LoadOp load) {
  Value index = load.getIndices()[0];
  if (!usesPermute(load))
    return index;
  auto cast = index.getDefiningOp<arith::IndexCastOp>();
  auto mask = cast ? cast.getIn().getDefiningOp<arith::AndIOp>() : nullptr;
  if (!mask || !mask.getType().isInteger(32) ||
      getConstantIntValue(mask.getRhs()) != 15)
    return index;
  // The masked value, not yet an index: emitLookup casts it to i32.
  return mask.getLhs();
}

bool RowKernelEmitter::usesPermute(memref::LoadOp load) const {
  return permuteTables && plan.width == 16 &&
         load.getMemRefType().getDimSize(0) == 16;
}

Value RowKernelEmitter::emitLookup(memref::LoadOp load, Value indices) {
  Value table = outer.lookupOrDefault(load.getMemRef());
  auto i32s = VectorType::get({plan.width}, b.getI32Type());
  Value lanes = indices;
  if (cast<VectorType>(indices.getType()).getElementType().isIndex())
    lanes = arith::IndexCastOp::create(b, loc, i32s, indices);
  if (usesPermute(load)) {
    // vpermps: every lane picks the table entry its index names.
    Value values;
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(tileStart);
      values = vector::LoadOp::create(b, loc, vectorOf(b.getF32Type()), table,
                                      ValueRange{constantIndex(0)});
    }
    return LLVM::CallIntrinsicOp::create(
               b, loc, vectorOf(b.getF32Type()),
               b.getStringAttr("llvm.x86.avx512.permvar.sf.512"),
               ValueRange{values, lanes})
        .getResult(0);
  }
  auto mask = VectorType::get({plan.width}, b.getI1Type());
  Value all = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(mask, /*value=*/true));
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vectorOf(b.getF32Type()), 0.0f));
  return vector::GatherOp::create(b, loc, vectorOf(b.getF32Type()), table,
                                  ValueRange{constantIndex(0)}, lanes, all,
                                  zero);
}

RowKernelEmitter::Stage RowKernelEmitter::stageOf(Value value) const {
  unsigned deps = plan.dependence.lookup(value);
  if (deps & kOnK)
    return Varying;
  if (deps & kOnKBlock)
    return hoistsKBlocks ? PerKBlock : Varying;
  return Invariant;
}

void RowKernelEmitter::emitStage(Stage stage) {
  Block *body = plan.op.getBlock();
  for (unsigned i = 0; i < plan.inputs.size(); ++i) {
    Value arg = body->getArgument(i);
    if (stageOf(arg) != stage)
      continue;
    unsigned deps = plan.dependence.lookup(arg);
    auto &values = lanes[arg];
    values.assign(tileRows * maxVectors, Value());
    bool once = readsOncePerGroup(i);
    for (unsigned r = 0; r < (deps & kOnM ? tileRows : 1); ++r)
      for (unsigned j = 0; j < (deps & kOnN ? maxVectors : 1); ++j)
        values[r * maxVectors + j] =
            once && j ? values[r * maxVectors] : emitInput(i, r, j);
  }
  emitBodyOps(stageOps[stage], tileRows, maxVectors);
}

bool RowKernelEmitter::readsOncePerGroup(unsigned input) const {
  if (plan.inputs[input] != InputKind::Columns || maxVectors == 1)
    return false;
  AffineMap map =
      plan.op.getMatchingIndexingMap(plan.op.getDpsInputOperand(input));
  int64_t groupColumns = maxVectors * plan.width;
  for (AffineExpr result : map.getResults()) {
    if (!result.isFunctionOfDim(1))
      continue;
    for (int64_t first = 0; first + groupColumns <= plan.columns;
         first += groupColumns) {
      std::optional<int64_t> index = evaluateAtColumn(result, first);
      for (int64_t j = 1; j < maxVectors; ++j)
        if (!index || evaluateAtColumn(result, first + j * plan.width) != index)
          return false;
    }
  }
  return true;
}

void RowKernelEmitter::emitTile(Value tileM, Value tileN, Value kBegin,
                                Value kEnd, int64_t rows, int64_t vectors) {
  m0 = tileM;
  n0 = tileN;
  k = Value();
  tileRows = rows;
  maxVectors = vectors;
  lanes.clear();
  Block *body = plan.op.getBlock();
  // Inputs and ops that do not change with k come before the k loop;
  // those that change every kBlock values of k, before a loop over k
  // within one period of kBlock.
  for (auto &ops : stageOps)
    ops.clear();
  for (Operation &op : body->without_terminator())
    stageOps[stageOf(op.getResult(0))].push_back(&op);
  // Index computations that do not change with k go before this marker,
  // which is erased once the tile is emitted.
  tileStart = arith::ConstantIndexOp::create(b, loc, 0);
  emitStage(Invariant);

  Value out = output();
  auto accType = vectorOf(b.getF32Type());
  SmallVector<Value> initial;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < vectors; ++j)
      initial.push_back(vector::LoadOp::create(
          b, loc, accType, out,
          ValueRange{arith::AddIOp::create(b, loc, m0, constantIndex(r)),
                     arith::AddIOp::create(b, loc, n0,
                                           constantIndex(j * plan.width))}));
  bool blockScaled = plan.scaledProduct && stageOf(plan.scale) == PerKBlock;
  sumsUnscaled = scalesBlockSums && blockScaled;
  // The multiply per term is what the rescaled sums save: worth their
  // checks where it is half the tile's arithmetic, in one-row tiles.
  bool rescales = rescalesSums && !sumsUnscaled && blockScaled &&
                  plan.rescalable && rows == 1;
  auto kLoop = [&](Value from, Value to,
                   ValueRange accumulators) -> SmallVector<Value> {
    if (rescales)
      return emitRescaledKLoop(from, to, accumulators);
    if (sumsUnscaled)
      return emitBlockSumKLoop(from, to, accumulators);
    return emitKLoop(from, to, accumulators);
  };
  bool perKBlock = llvm::any_of(body->getArguments(), [&](Value arg) {
    return stageOf(arg) == PerKBlock;
  });
  SmallVector<Value> results;
  if (bf16Dot && plan.bf16Dot && !perKBlock) {
    results = emitDotLoop(kBegin, kEnd, initial);
  } else if (!perKBlock) {
    results = kLoop(kBegin, kEnd, initial);
  } else {
    // Periods of kBlock: a block of k starts one or lies within one.
    Value period = constantIndex(plan.kBlock);
    auto loop = scf::ForOp::create(b, loc, kBegin, kEnd, period, initial);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    k = loop.getInductionVar();
    emitStage(PerKBlock);
    Value periodEnd = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, k, period), kEnd);
    scf::YieldOp::create(b, loc, kLoop(k, periodEnd, loop.getRegionIterArgs()));
    results.assign(loop.getResults().begin(), loop.getResults().end());
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < vectors; ++j)
      vector::StoreOp::create(
          b, loc, results[r * vectors + j], out,
          ValueRange{arith::AddIOp::create(b, loc, m0, constantIndex(r)),
                     arith::AddIOp::create(b, loc, n0,
                                           constantIndex(j * plan.width))});
  tileStart->erase();
  tileStart = nullptr;
}

SmallVector<Value> RowKernelEmitter::emitKLoop(Value from, Value to,
                                               ValueRange accumulators,
                                               bool tracksActivations) {
  SmallVector<Value> start(accumulators);
  int64_t activationRows = 0;
  if (tracksActivations) {
    // Per row of activations, the least |a|'s bits - 1 (0 wraps to the
    // largest) and the largest |a|'s bits.
    activationRows =
        plan.dependence.lookup(plan.activation) & kOnM ? tileRows : 1;
    for (int64_t r = 0; r < activationRows; ++r)
      start.append({arith::ConstantIntOp::create(b, loc, -1, 32),
                    arith::ConstantIntOp::create(b, loc, 0, 32)});
  }
  auto loop = scf::ForOp::create(b, loc, from, to, constantIndex(1), start);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  k = loop.getInductionVar();
  Block *body = plan.op.getBlock();
  auto iterArgs = loop.getRegionIterArgs();
  lanes[body->getArguments().back()].assign(
      iterArgs.begin(), iterArgs.begin() + accumulators.size());
  emitStage(Varying);
  Value yielded = body->getTerminator()->getOperand(0);
  SmallVector<Value> next;
  for (int64_t r = 0; r < tileRows; ++r)
    for (int64_t j = 0; j < maxVectors; ++j)
      next.push_back(asVector(get(yielded, r, j), kOnN));
  for (int64_t r = 0; r < activationRows; ++r) {
    Value magnitude = arith::AndIOp::create(
        b, loc,
        arith::BitcastOp::create(b, loc, b.getI32Type(),
                                 get(plan.activation, r, 0)),
        arith::ConstantIntOp::create(b, loc, 0x7fffffff, 32));
    Value belowMagnitude = arith::SubIOp::create(
        b, loc, magnitude, arith::ConstantIntOp::create(b, loc, 1, 32));
    size_t tracked = accumulators.size() + 2 * r;
    next.push_back(
        arith::MinUIOp::create(b, loc, iterArgs[tracked], belowMagnitude));
    next.push_back(
        arith::MaxUIOp::create(b, loc, iterArgs[tracked + 1], magnitude));
  }
  scf::YieldOp::create(b, loc, next);
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value>
RowKernelEmitter::emitBlockSumKLoop(Value from, Value to,
                                    ValueRange accumulators) {
  Value zeros;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(tileStart);
    zeros = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vectorOf(b.getF32Type()), 0.0f));
  }
  dropsScale = true;
  SmallVector<Value> sums =
      emitKLoop(from, to, SmallVector<Value>(accumulators.size(), zeros));
  dropsScale = false;
  SmallVector<Value> scaled;
  for (int64_t r = 0; r < tileRows; ++r)
    for (int64_t j = 0; j < maxVectors; ++j) {
      Value scale = asVector(get(plan.scale, r, j), kOnN);
      scaled.push_back(math::FmaOp::create(b, loc, sums[r * maxVectors + j],
                                           scale,
                                           accumulators[r * maxVectors + j]));
    }
  return scaled;
}

Value RowKernelEmitter::splatBits(uint32_t bits) {
  auto type = VectorType::get({plan.width}, b.getI32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, APInt(32, bits)));
}

Value RowKernelEmitter::emitRescaleCheck(ValueRange accumulators) {
  using Limits = RescaleLimits;
  auto i32s = VectorType::get({plan.width}, b.getI32Type());
  auto bitsOf = [&](Value value) -> Value {
    return arith::BitcastOp::create(b, loc, i32s, value);
  };
  // Each condition is on the least or largest of some bits, taken as a
  // balanced tree: the chain of one compare per vector would put ~20
  // dependent compares between the period's last FMA and its branch.
  auto fold = [&](SmallVector<Value> values, auto create) {
    while (values.size() > 1) {
      SmallVector<Value> next;
      for (size_t i = 0; i + 1 < values.size(); i += 2)
        next.push_back(create(b, loc, values[i], values[i + 1]));
      if (values.size() % 2)
        next.push_back(values.back());
      values = std::move(next);
    }
    return values.front();
  };
  auto largest = [&](SmallVector<Value> values) {
    return fold(std::move(values),
                [](OpBuilder &b, Location loc, Value lhs, Value rhs) -> Value {
                  return arith::MaxUIOp::create(b, loc, lhs, rhs);
                });
  };
  auto least = [&](SmallVector<Value> values) {
    return fold(std::move(values),
                [](OpBuilder &b, Location loc, Value lhs, Value rhs) -> Value {
                  return arith::MinUIOp::create(b, loc, lhs, rhs);
                });
  };
  auto anyBits = [&](SmallVector<Value> values) {
    return fold(std::move(values),
                [](OpBuilder &b, Location loc, Value lhs, Value rhs) -> Value {
                  return arith::OrIOp::create(b, loc, lhs, rhs);
                });
  };
  Value all;
  auto require = [&](arith::CmpIPredicate predicate, Value lhs, uint32_t rhs) {
    Value holds = arith::CmpIOp::create(b, loc, predicate, lhs, splatBits(rhs));
    all = all ? arith::AndIOp::create(b, loc, all, holds).getResult() : holds;
  };
  // Scales: a power of two (no sign, no fraction) in range.
  unsigned scaleDeps = plan.dependence.lookup(plan.scale);
  uint32_t leastScale = Limits::powerOfTwoBits(-Limits::kMaxScaleExponent);
  SmallVector<Value> scaleBits, scaleOffsets;
  for (int64_t r = 0; r < (scaleDeps & kOnM ? tileRows : 1); ++r)
    for (int64_t j = 0; j < (scaleDeps & kOnN ? maxVectors : 1); ++j) {
      Value bits = bitsOf(asVector(get(plan.scale, r, j), kOnN));
      scaleBits.push_back(bits);
      scaleOffsets.push_back(
          arith::SubIOp::create(b, loc, bits, splatBits(leastScale)));
    }
  require(arith::CmpIPredicate::ule, largest(scaleOffsets),
          Limits::powerOfTwoBits(Limits::kMaxScaleExponent) - leastScale);
  require(
      arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, anyBits(scaleBits), splatBits(0x7fffff)),
      0);
  // Sums: zero or in range (NaN and Inf are not). Zero's magnitude - 1
  // wraps to the largest.
  SmallVector<Value> magnitudes, belowMagnitudes;
  for (Value accumulator : accumulators) {
    Value magnitude = arith::AndIOp::create(b, loc, bitsOf(accumulator),
                                            splatBits(0x7fffffff));
    magnitudes.push_back(magnitude);
    belowMagnitudes.push_back(
        arith::SubIOp::create(b, loc, magnitude, splatBits(1)));
  }
  require(arith::CmpIPredicate::uge, least(belowMagnitudes),
          Limits::powerOfTwoBits(Limits::kMinSumExponent) - 1);
  require(arith::CmpIPredicate::ule, largest(magnitudes),
          Limits::powerOfTwoBits(Limits::kMaxSumExponent));
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::AND, all);
}

SmallVector<Value>
RowKernelEmitter::emitRescaledKLoop(Value from, Value to,
                                    ValueRange accumulators) {
  using Limits = RescaleLimits;
  auto f32s = vectorOf(b.getF32Type());
  auto i32s = VectorType::get({plan.width}, b.getI32Type());
  auto withMultiplies = [&] {
    scf::YieldOp::create(b, loc, emitKLoop(from, to, accumulators));
  };
  auto rescaled = [&] {
    // acc / s, exactly: 1 / 2^x has the bits 254 << 23 minus 2^x's.
    SmallVector<Value> scales, starts;
    for (int64_t r = 0; r < tileRows; ++r)
      for (int64_t j = 0; j < maxVectors; ++j) {
        Value scale = asVector(get(plan.scale, r, j), kOnN);
        Value inverse = arith::BitcastOp::create(
            b, loc, f32s,
            arith::SubIOp::create(
                b, loc, splatBits(Limits::powerOfTwoBits(127)),
                arith::BitcastOp::create(b, loc, i32s, scale)));
        scales.push_back(scale);
        starts.push_back(arith::MulFOp::create(
            b, loc, accumulators[r * maxVectors + j], inverse));
      }
    dropsScale = true;
    SmallVector<Value> sums =
        emitKLoop(from, to, starts, /*tracksActivations=*/true);
    dropsScale = false;
    Value activationsInRange;
    for (size_t i = accumulators.size(); i < sums.size(); i += 2) {
      auto cmp = [&](arith::CmpIPredicate predicate, Value lhs, uint32_t rhs) {
        return arith::CmpIOp::create(
            b, loc, predicate, lhs,
            arith::ConstantIntOp::create(b, loc, int64_t(rhs), 32));
      };
      Value row = arith::AndIOp::create(
          b, loc,
          cmp(arith::CmpIPredicate::uge, sums[i],
              Limits::powerOfTwoBits(-Limits::kActivationExponent) - 1),
          cmp(arith::CmpIPredicate::ule, sums[i + 1],
              Limits::powerOfTwoBits(Limits::kActivationExponent)));
      activationsInRange =
          activationsInRange
              ? arith::AndIOp::create(b, loc, activationsInRange, row)
                    .getResult()
              : row;
    }
    SmallVector<Value> products;
    for (size_t i = 0; i < accumulators.size(); ++i)
      products.push_back(arith::MulFOp::create(b, loc, sums[i], scales[i]));
    // An activation out of range: the period again, with the multiplies.
    auto redo = scf::IfOp::create(
        b, loc, activationsInRange,
        [&](OpBuilder &, Location) { scf::YieldOp::create(b, loc, products); },
        [&](OpBuilder &, Location) { withMultiplies(); });
    scf::YieldOp::create(b, loc, redo.getResults());
  };
  auto inRange = scf::IfOp::create(
      b, loc, emitRescaleCheck(accumulators),
      [&](OpBuilder &, Location) { rescaled(); },
      [&](OpBuilder &, Location) { withMultiplies(); });
  return SmallVector<Value>(inRange.getResults());
}

class VectorizeRowsPass
    : public PassWrapper<VectorizeRowsPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(VectorizeRowsPass)

  VectorizeRowsPass() = default;
  VectorizeRowsPass(const VectorizeRowsPass &other) : PassWrapper(other) {}
  explicit VectorizeRowsPass(const VectorizeRowsOptions &options) {
    width = options.width;
    rows = options.rows;
    vectors = options.vectors;
    singleRowVectors = options.singleRowVectors;
    singleRowDispatch = options.singleRowDispatch;
    depth = options.depth;
    narrowDepth = options.narrowDepth;
    rowBlock = options.rowBlock;
    permuteTables = options.permuteTables;
    prefetchDistance = options.prefetchDistance;
    scaleBlockSums = options.scaleBlockSums;
    rescaleSums = options.rescaleSums;
    bf16Dot = options.bf16Dot;
    dotRows = options.dotRows;
    dotVectors = options.dotVectors;
    dotDepth = options.dotDepth;
    threads = options.threads;
    parallelWork = options.parallelWork;
  }

  StringRef getArgument() const final { return "mixtile-cpu-vectorize-rows"; }
  StringRef getDescription() const final {
    return "Register-tile and vectorize (m, n, k) linalg.generic ops across "
           "n on buffers, keeping every reduction's order";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<affine::AffineDialect, arith::ArithDialect,
                    func::FuncDialect, LLVM::LLVMDialect, memref::MemRefDialect,
                    scf::SCFDialect, vector::VectorDialect>();
  }

  void runOnOperation() override;

private:
  /// The plans of `op`'s kernels: one for all its columns, or one in
  /// vectors of `width` and a tail in narrower vectors (none: not a linear
  /// this pass vectorizes).
  SmallVector<RowKernelPlan, 2> planKernels(linalg::GenericOp op) const;
  /// Replaces the generic of `plans` with calls of `kernels`, the functions
  /// of a vector range createKernel outlined from them or from a generic
  /// that haveSameOutline.
  void rewrite(ArrayRef<RowKernelPlan> plans, ArrayRef<func::FuncOp> kernels);
  /// A call at `b` of `kernel` over the vectors of `plan` (through the
  /// thread pool for large kernels).
  void emitCall(OpBuilder &b, const RowKernelPlan &plan, func::FuncOp kernel,
                ArrayRef<Value> args);
  func::FuncOp createKernel(const RowKernelPlan &plan, ArrayRef<Value> args,
                            StringRef name);
  /// The calls of the thread pool (set while the pass runs).
  std::optional<ParallelForEmitter> parallelFor;

  /// The register tile and k block of `plan`'s kernel.
  struct TileShape {
    int64_t rows, vectors, depth;
  };
  TileShape getTileShape(const RowKernelPlan &plan) const {
    if (bf16Dot && plan.bf16Dot)
      return {dotRows, dotVectors, dotDepth};
    if (plan.op.getStaticLoopRanges()[0] == 1)
      if (std::optional<TileShape> single = getSingleRowShape(plan))
        return *single;
    return {rows, vectors, depth};
  }
  /// The tile of `plan` for a single row: none for bf16 dot kernels (their
  /// tile serves one row too) or when the columns hold no whole group of
  /// it, which would then take them a vector at a time where the general
  /// tile's one-row tiles take `vectors`.
  std::optional<TileShape> getSingleRowShape(const RowKernelPlan &plan) const {
    if ((bf16Dot && plan.bf16Dot) ||
        plan.columns / plan.width < singleRowVectors)
      return std::nullopt;
    return TileShape{1, singleRowVectors, depth};
  }
  /// The tile the kernel of `plan` switches to at run time when its row
  /// count, unknown at compile time, is 1 (a decode step's linears): none
  /// when the row count is static or the tile would be the same.
  std::optional<TileShape>
  getRunTimeSingleRowShape(const RowKernelPlan &plan) const {
    if (!singleRowDispatch ||
        !ShapedType::isDynamic(plan.op.getStaticLoopRanges()[0]))
      return std::nullopt;
    std::optional<TileShape> single = getSingleRowShape(plan);
    TileShape shape = getTileShape(plan);
    if (single && shape.rows == 1 && shape.vectors == single->vectors)
      return std::nullopt;
    return single;
  }
  /// The multiple of vectors at which the kernel's range may be split
  /// among threads: each part must start at a whole group of every tile
  /// the kernel may use.
  int64_t getGrain(const RowKernelPlan &plan) const {
    int64_t grain = getTileShape(plan).vectors;
    if (std::optional<TileShape> single = getRunTimeSingleRowShape(plan))
      grain = std::lcm(grain, single->vectors);
    return grain;
  }

  /// The options' defaults are VectorizeRowsOptions' (one place).
  static inline const VectorizeRowsOptions kDefaults{};
  Option<int64_t> width{*this, "width",
                        llvm::cl::desc("Most lanes per f32 vector"),
                        llvm::cl::init(kDefaults.width)};
  Option<int64_t> rows{*this, "rows",
                       llvm::cl::desc("Rows m per register tile"),
                       llvm::cl::init(kDefaults.rows)};
  Option<int64_t> vectors{
      *this, "vectors",
      llvm::cl::desc("Vectors of columns n per tile (also of the one-row "
                     "tiles of the rows left over; a single row: see "
                     "single-row-vectors)"),
      llvm::cl::init(kDefaults.vectors)};
  Option<int64_t> singleRowVectors{
      *this, "single-row-vectors",
      llvm::cl::desc("Vectors of columns n per tile of a product with one "
                     "row m (at compile time, or at run time with "
                     "single-row-dispatch)"),
      llvm::cl::init(kDefaults.singleRowVectors)};
  Option<bool> singleRowDispatch{
      *this, "single-row-dispatch",
      llvm::cl::desc("Kernels of a row count unknown at compile time take "
                     "the single-row tile when it is 1 at run time"),
      llvm::cl::init(kDefaults.singleRowDispatch)};
  Option<int64_t> depth{
      *this, "depth",
      llvm::cl::desc("Values of k per block (the weights of a column group "
                     "read in one block stay in the L2 cache, and each block "
                     "reads and writes the output once)"),
      llvm::cl::init(kDefaults.depth)};
  Option<int64_t> narrowDepth{
      *this, "narrow-depth",
      llvm::cl::desc("Values of k per block for fewer rows than a tile "
                     "(batch-1 products: fewer weight rows in flight for the "
                     "prefetchers)"),
      llvm::cl::init(kDefaults.narrowDepth)};
  Option<int64_t> rowBlock{
      *this, "row-block",
      llvm::cl::desc("Rows per block within a block of k (their inputs stay "
                     "in the L2 cache while every column group reuses them)"),
      llvm::cl::init(kDefaults.rowBlock)};
  Option<bool> permuteTables{
      *this, "permute-tables",
      llvm::cl::desc("Look up tables of 16 f32 values with AVX-512 vpermps "
                     "(the target must have avx512f; else gathers; "
                     "mixtile-cpu-pipeline sets it from its features)"),
      llvm::cl::init(kDefaults.permuteTables)};
  Option<int64_t> prefetchDistance{
      *this, "prefetch-distance",
      llvm::cl::desc("Bytes ahead along k that one-row tiles (batch-1 "
                     "products) prefetch their streamed inputs (0: none)"),
      llvm::cl::init(kDefaults.prefetchDistance)};
  Option<bool> scaleBlockSums{
      *this, "scale-block-sums",
      llvm::cl::desc(
          "Sum a body's fma(a, e * s, acc) whose s changes with k "
          "only per block (a block scale) unscaled over the block "
          "and add fma(sum, s, acc): one multiply per block sum "
          "instead of per term (reassociates: numerics=fast-products)"),
      llvm::cl::init(kDefaults.scaleBlockSums)};
  Option<bool> rescaleSums{
      *this, "rescale-sums",
      llvm::cl::desc(
          "In one-row tiles, sum a body's fma(a, e * s, acc) whose s is a "
          "block scale and e a table's value as fma(a, e, acc / s) over the "
          "block and multiply by s, where checks at run time show that this "
          "gives the same bits (else the multiplies per term)"),
      llvm::cl::init(kDefaults.rescaleSums)};
  Option<bool> bf16Dot{
      *this, "bf16-dot",
      llvm::cl::desc("Multiply a body's pairs of bf16 codes, fma(low(a), "
                     "low(w), fma(high(a), high(w), acc)), with AVX512-BF16's "
                     "vdpbf16ps (the target must have avx512bf16; the FMAs, "
                     "but with subnormals flushed to zero)"),
      llvm::cl::init(kDefaults.bf16Dot)};
  Option<int64_t> dotRows{*this, "dot-rows",
                          llvm::cl::desc("Rows m per tile of bf16 dot kernels"),
                          llvm::cl::init(kDefaults.dotRows)};
  Option<int64_t> dotVectors{
      *this, "dot-vectors",
      llvm::cl::desc("Vectors of columns per tile of bf16 dot kernels "
                     "(batch-1 rows too: a group other than the weight "
                     "pack's 64-column panel splits panels, which slows "
                     "streaming them)"),
      llvm::cl::init(kDefaults.dotVectors)};
  Option<int64_t> dotDepth{
      *this, "dot-depth",
      llvm::cl::desc("Pairs of k per block of bf16 dot kernels"),
      llvm::cl::init(kDefaults.dotDepth)};
  Option<bool> threads{
      *this, "threads",
      llvm::cl::desc("Distribute column groups over the runtime's threads"),
      llvm::cl::init(kDefaults.threads)};
  Option<int64_t> parallelWork{
      *this, "parallel-work",
      llvm::cl::desc("Smallest N * K that is worth the threads"),
      llvm::cl::init(kDefaults.parallelWork)};
};

func::FuncOp VectorizeRowsPass::createKernel(const RowKernelPlan &plan,
                                             ArrayRef<Value> args,
                                             StringRef name) {
  ModuleOp module = getOperation();
  MLIRContext *ctx = module.getContext();
  Location loc = plan.op.getLoc();
  SmallVector<Type> types;
  for (Value arg : args)
    types.push_back(arg.getType());
  types.append(2, IndexType::get(ctx));
  OpBuilder b(module.getBody(), module.getBody()->end());
  auto kernel =
      func::FuncOp::create(b, loc, name, FunctionType::get(ctx, types, {}));
  kernel.setPrivate();
  Block *entry = kernel.addEntryBlock();
  b.setInsertionPointToStart(entry);
  // The generic's values from above are the kernel's arguments, but for
  // constants, which are cloned.
  IRMapping mapping;
  mapOutlinedValues(b, plan.op, entry->getArguments().take_front(args.size()),
                    mapping);
  RowKernelEmitter emitter(plan, b, loc, mapping);
  emitter.permuteTables = permuteTables;
  emitter.prefetchBytes = prefetchDistance;
  emitter.scalesBlockSums = scaleBlockSums;
  emitter.rescalesSums = rescaleSums;
  emitter.bf16Dot = bf16Dot;
  // A tile of several rows pays off only when there are rows to share the
  // decoded weights; the row loop handles any count. A single row (a
  // decode step) gets its own tile, whose registers all go to columns.
  Value vBegin = entry->getArgument(args.size());
  Value vEnd = entry->getArgument(args.size() + 1);
  auto emitRange = [&](TileShape shape) {
    emitter.emitColumnRange(vBegin, vEnd, shape.rows, shape.vectors,
                            shape.depth, narrowDepth, rowBlock);
  };
  std::optional<TileShape> single = getRunTimeSingleRowShape(plan);
  if (!single) {
    emitRange(getTileShape(plan));
  } else {
    Value output = mapping.lookup(plan.op.getDpsInits()[0]);
    Value rowCount = memref::DimOp::create(b, loc, output, 0);
    Value isSingle =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rowCount,
                              arith::ConstantIndexOp::create(b, loc, 1));
    auto ifOp = scf::IfOp::create(b, loc, isSingle, /*withElseRegion=*/true);
    b.setInsertionPointToStart(ifOp.thenBlock());
    emitRange(*single);
    b.setInsertionPointToStart(ifOp.elseBlock());
    emitRange(getTileShape(plan));
    b.setInsertionPointAfter(ifOp);
  }
  func::ReturnOp::create(b, loc);
  return kernel;
}

SmallVector<RowKernelPlan, 2>
VectorizeRowsPass::planKernels(linalg::GenericOp op) const {
  // Columns that `width` does not divide: the most of them in vectors of
  // `width`, the rest in the widest that divide the count (down to one
  // lane, which the scalar loops would not beat), from a whole group of
  // every tile the tail may take, as emitColumnRange expects. Failing
  // that, all of them in the narrower vectors if they have 4 lanes or more.
  FailureOr<RowKernelPlan> whole = planRowKernel(op, width, 0, 1);
  if (failed(whole))
    return {};
  if (whole->width < width) {
    int64_t groups = std::max({vectors.getValue(), singleRowVectors.getValue(),
                               dotVectors.getValue()});
    int64_t align = std::lcm(width.getValue(), whole->width * groups);
    int64_t mainColumns = whole->columns / align * align;
    FailureOr<RowKernelPlan> main = failure();
    if (mainColumns)
      main = planRowKernel(op, width, mainColumns);
    if (succeeded(main)) {
      whole->firstVector = mainColumns / whole->width;
      return {std::move(*main), std::move(*whole)};
    }
  }
  if (whole->width < 4)
    return {};
  return {std::move(*whole)};
}

void VectorizeRowsPass::rewrite(ArrayRef<RowKernelPlan> plans,
                                ArrayRef<func::FuncOp> kernels) {
  linalg::GenericOp op = plans.front().op;
  SmallVector<Value> args = getOutlinedOperands(op);
  OpBuilder b(op);
  for (auto [plan, kernel] : llvm::zip_equal(plans, kernels))
    emitCall(b, plan, kernel, args);
  op.erase();
}

void VectorizeRowsPass::emitCall(OpBuilder &b, const RowKernelPlan &plan,
                                 func::FuncOp kernel, ArrayRef<Value> args) {
  linalg::GenericOp op = plan.op;
  Location loc = op.getLoc();
  Value first = arith::ConstantIndexOp::create(b, loc, plan.firstVector);
  int64_t vectorCount = plan.columns / plan.width;
  Value count = arith::ConstantIndexOp::create(b, loc, vectorCount);
  int64_t reduction = op.getStaticLoopRanges()[2];
  int64_t grain = getGrain(plan);
  // A tail is too short to be worth the threads.
  bool parallel = threads && !plan.firstVector && vectorCount >= 2 * grain &&
                  !ShapedType::isDynamic(reduction) &&
                  plan.columns * reduction >= parallelWork;
  if (!parallel) {
    SmallVector<Value> operands(args);
    operands.append({first, count});
    func::CallOp::create(b, loc, kernel, operands);
    return;
  }
  Value grainValue = arith::ConstantIndexOp::create(b, loc, grain);
  parallelFor->emit(b, loc, kernel, args, count, grainValue);
}

} // namespace

void VectorizeRowsPass::runOnOperation() {
  parallelFor.emplace(getOperation());
  for (auto [name, value] : {std::pair<StringRef, int64_t>{"width", width},
                             {"rows", rows},
                             {"vectors", vectors},
                             {"single-row-vectors", singleRowVectors},
                             {"depth", depth},
                             {"dot-rows", dotRows},
                             {"dot-vectors", dotVectors},
                             {"dot-depth", dotDepth},
                             {"narrow-depth", narrowDepth},
                             {"row-block", rowBlock}})
    if (value <= 0) {
      getOperation().emitError() << "mixtile-cpu-vectorize-rows: " << name
                                 << " must be positive, got " << value;
      return signalPassFailure();
    }
  if (prefetchDistance < 0) {
    getOperation().emitError()
        << "mixtile-cpu-vectorize-rows: prefetch-distance must not be "
           "negative, got "
        << prefetchDistance.getValue();
    return signalPassFailure();
  }
  std::vector<SmallVector<RowKernelPlan, 2>> plans;
  getOperation().walk([&](linalg::GenericOp op) {
    SmallVector<RowKernelPlan, 2> opPlans = planKernels(op);
    if (!opPlans.empty())
      plans.push_back(std::move(opPlans));
  });
  // Every generic is compared before any is rewritten (which erases it).
  // Generics alike have the same types, hence the same plans.
  SmallVector<Operation *> ops;
  for (const auto &opPlans : plans)
    ops.push_back(opPlans.front().op);
  SmallVector<unsigned> firsts;
  SmallVector<unsigned> kernelsOf = groupSameOutlines(ops, firsts);
  SmallVector<SmallVector<func::FuncOp, 2>> kernels;
  unsigned id = 0;
  for (unsigned first : firsts) {
    auto &groupKernels = kernels.emplace_back();
    for (const RowKernelPlan &plan : plans[first]) {
      auto parent = plan.op->getParentOfType<func::FuncOp>();
      std::string name =
          (parent.getSymName() + "_rows" + llvm::Twine(id++)).str();
      groupKernels.push_back(
          createKernel(plan, getOutlinedOperands(plan.op), name));
    }
  }
  for (auto [opPlans, group] : llvm::zip_equal(plans, kernelsOf))
    rewrite(opPlans, kernels[group]);
}

std::unique_ptr<Pass>
mixtile::cpu::createVectorizeRowsPass(const VectorizeRowsOptions &options) {
  return std::make_unique<VectorizeRowsPass>(options);
}

void mixtile::cpu::registerVectorizeRowsPass() {
  PassRegistration<VectorizeRowsPass>();
}
