//===- Outlining.cpp - One function for equivalent ops --------------------===//
//
// getOutlinedOperands, haveSameOutline, getDisjointWrittenOperands and
// mixtile-cpu-outline-linalg.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Pipelines/Outlining.h"
#include "mixtile/Pipelines/ParallelFor.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;
using namespace mixtile::cpu;

namespace {

/// The values `op` uses from above (its operands included), each once.
SetVector<Value> getUsedValuesFromAbove(Operation *op) {
  SetVector<Value> values(op->operand_begin(), op->operand_end());
  for (Region &region : op->getRegions())
    getUsedValuesDefinedAbove(region, values);
  return values;
}

/// Whether `value`, used in `op` or its regions, is defined outside `op`.
bool isDefinedAbove(Value value, Operation *op) {
  return !op->isAncestor(value.getParentRegion()->getParentOp());
}

/// Whether `a` and `b` use, at the same place, the values from above `lhs`
/// and `rhs`, given each value's position among their outlined operands.
bool haveSameSource(Value lhs, Value rhs,
                    const DenseMap<Value, unsigned> &lhsPosition,
                    const DenseMap<Value, unsigned> &rhsPosition) {
  auto lhsConstant = lhs.getDefiningOp<arith::ConstantOp>();
  auto rhsConstant = rhs.getDefiningOp<arith::ConstantOp>();
  if (lhsConstant || rhsConstant)
    return lhsConstant && rhsConstant &&
           lhsConstant.getValue() == rhsConstant.getValue();
  // mixtile-cpu-vectorize-rows reads constant tables when it compiles.
  auto lhsGlobal = lhs.getDefiningOp<memref::GetGlobalOp>();
  auto rhsGlobal = rhs.getDefiningOp<memref::GetGlobalOp>();
  if ((lhsGlobal || rhsGlobal) &&
      !(lhsGlobal && rhsGlobal &&
        lhsGlobal.getNameAttr() == rhsGlobal.getNameAttr()))
    return false;
  return lhsPosition.lookup(lhs) == rhsPosition.lookup(rhs);
}

DenseMap<Value, unsigned> getPositions(ArrayRef<Value> values) {
  DenseMap<Value, unsigned> position;
  for (auto [i, value] : llvm::enumerate(values))
    position[value] = i;
  return position;
}

/// The memory a memref value lies in: the buffer it views through
/// view-like ops, and the bytes of it it lies within where a memref.view at
/// a constant offset bounds it (the outermost such view).
struct BufferPart {
  Value base;
  std::optional<std::pair<int64_t, int64_t>> bytes;
};

BufferPart getBufferPart(Value memref) {
  BufferPart part{memref, std::nullopt};
  while (auto view = part.base.getDefiningOp<ViewLikeOpInterface>()) {
    if (auto byteView = dyn_cast<memref::ViewOp>(view.getOperation())) {
      std::optional<int64_t> shift =
          getConstantIntValue(byteView.getByteShift());
      MemRefType type = byteView.getType();
      if (shift && type.hasStaticShape() &&
          type.getElementType().isIntOrFloat())
        part.bytes = {*shift, *shift + type.getNumElements() *
                                           type.getElementTypeBitWidth() / 8};
      else
        part.bytes.reset();
    }
    part.base = view.getViewSource();
  }
  return part;
}

/// Whether `value` is memory no other buffer overlaps: an allocation.
bool isAllocation(Value value) {
  return value.getDefiningOp<memref::AllocOp>() ||
         value.getDefiningOp<memref::AllocaOp>();
}

bool areDisjoint(const BufferPart &a, const BufferPart &b) {
  if (a.base != b.base)
    return isAllocation(a.base) || isAllocation(b.base);
  return a.bytes && b.bytes &&
         (a.bytes->second <= b.bytes->first ||
          b.bytes->second <= a.bytes->first);
}

} // namespace

SmallVector<Value> mixtile::cpu::getOutlinedOperands(Operation *op) {
  SmallVector<Value> operands;
  for (Value value : getUsedValuesFromAbove(op))
    if (!value.getDefiningOp<arith::ConstantOp>())
      operands.push_back(value);
  return operands;
}

void mixtile::cpu::mapOutlinedValues(OpBuilder &b, Operation *op,
                                     ValueRange arguments, IRMapping &mapping) {
  mapping.map(getOutlinedOperands(op), arguments);
  for (Value value : getUsedValuesFromAbove(op))
    if (auto constant = value.getDefiningOp<arith::ConstantOp>())
      mapping.map(value, b.clone(*constant)->getResult(0));
}

SmallVector<unsigned> mixtile::cpu::getDisjointWrittenOperands(Operation *op) {
  auto dps = dyn_cast<DestinationStyleOpInterface>(op);
  if (!dps)
    return {};
  SmallVector<Value> operands = getOutlinedOperands(op);
  SmallVector<BufferPart> parts;
  for (Value operand : operands)
    parts.push_back(getBufferPart(operand));
  SmallVector<unsigned> disjoint;
  auto isMemRef = [](Value value) { return isa<MemRefType>(value.getType()); };
  for (unsigned i = 0, e = operands.size(); i < e; ++i) {
    if (!isMemRef(operands[i]) ||
        !llvm::is_contained(dps.getDpsInits(), operands[i]))
      continue;
    bool alone = true;
    for (unsigned j = 0; j < e && alone; ++j)
      alone =
          j == i || !isMemRef(operands[j]) || areDisjoint(parts[i], parts[j]);
    if (alone)
      disjoint.push_back(i);
  }
  return disjoint;
}

bool mixtile::cpu::haveSameOutline(Operation *a, Operation *b) {
  // The structure: values defined within the ops must correspond as the
  // comparison found them; values from above are compared below.
  DenseMap<Value, Value> equivalent;
  auto check = [&](Value lhs, Value rhs) {
    if (isDefinedAbove(lhs, a))
      return success(isDefinedAbove(rhs, b));
    return success(equivalent.lookup(lhs) == rhs);
  };
  auto mark = [&](Value lhs, Value rhs) { equivalent[lhs] = rhs; };
  if (!OperationEquivalence::isEquivalentTo(
          a, b, check, mark, OperationEquivalence::IgnoreLocations))
    return false;
  // The values from above, which `check` let through (and any value both
  // use, which it never sees), by their place among the operands.
  SmallVector<Value> aOperands = getOutlinedOperands(a);
  SmallVector<Value> bOperands = getOutlinedOperands(b);
  if (aOperands.size() != bOperands.size())
    return false;
  DenseMap<Value, unsigned> aPosition = getPositions(aOperands);
  DenseMap<Value, unsigned> bPosition = getPositions(bOperands);
  SmallVector<Operation *> aOps, bOps;
  a->walk([&](Operation *op) { aOps.push_back(op); });
  b->walk([&](Operation *op) { bOps.push_back(op); });
  for (auto [aOp, bOp] : llvm::zip_equal(aOps, bOps))
    for (auto [lhs, rhs] :
         llvm::zip_equal(aOp->getOperands(), bOp->getOperands()))
      if (isDefinedAbove(lhs, a) &&
          !haveSameSource(lhs, rhs, aPosition, bPosition))
        return false;
  return true;
}

SmallVector<unsigned>
mixtile::cpu::groupSameOutlines(ArrayRef<Operation *> ops,
                                SmallVectorImpl<unsigned> &firsts) {
  SmallVector<unsigned> groups;
  for (Operation *op : ops) {
    auto same = llvm::find_if(firsts, [&](unsigned first) {
      return haveSameOutline(ops[first], op);
    });
    groups.push_back(same - firsts.begin());
    if (same == firsts.end())
      firsts.push_back(groups.size() - 1);
  }
  return groups;
}

namespace {

/// The attribute that keeps LLVM from inlining outline()'s functions.
constexpr StringLiteral kPassthrough = "passthrough";
/// The loop a function of outline()'s splits over the threads.
constexpr StringLiteral kThreadedLoopAttr = "mixtile.threaded_loop";

/// The position of argument `index`'s aligned pointer among the arguments
/// of the LLVM function convert-func-to-llvm makes of a function of
/// `inputs`: a memref of rank r expands into its descriptor's allocated and
/// aligned pointers, offset, r sizes and r strides.
int64_t getAlignedPointerPosition(TypeRange inputs, unsigned index) {
  int64_t position = 0;
  for (Type type : inputs.take_front(index)) {
    auto memref = dyn_cast<MemRefType>(type);
    position += memref ? 3 + 2 * memref.getRank() : 1;
  }
  return position + 1;
}

/// An empty private, never inlined function of getOutlinedOperands(op)
/// and then `extraInputs`, named `name` or, if that is taken, a variant of
/// it, whose arguments at `disjoint` alias no other (kNoAliasPointersAttr).
/// `mapping` gets the values `op` uses, at the start of its entry block.
func::FuncOp createOutlinedFunction(Operation *op, StringRef name,
                                    TypeRange extraInputs,
                                    ArrayRef<unsigned> disjoint,
                                    SymbolTable &symbols, IRMapping &mapping) {
  OpBuilder b(op->getContext());
  Location loc = op->getLoc();
  SmallVector<Value> operands = getOutlinedOperands(op);
  SmallVector<Type> inputs(ValueRange(operands).getTypes());
  llvm::append_range(inputs, extraInputs);
  auto func = func::FuncOp::create(b, loc, name, b.getFunctionType(inputs, {}));
  func.setPrivate();
  // Inlined at a call, the op would be compiled once more for every call.
  func->setAttr(kPassthrough, b.getArrayAttr({b.getStringAttr("noinline")}));
  // Without it LLVM assumes the written buffers may be read through the
  // other arguments, keeps every partial sum in memory and vectorizes none
  // of the loops.
  if (!disjoint.empty()) {
    SmallVector<int64_t> pointers;
    for (unsigned index : disjoint)
      pointers.push_back(getAlignedPointerPosition(inputs, index));
    func->setAttr(kNoAliasPointersAttr, b.getDenseI64ArrayAttr(pointers));
  }
  symbols.insert(func);
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  mapOutlinedValues(b, op, entry->getArguments().take_front(operands.size()),
                    mapping);
  return func;
}

/// A function of createOutlinedFunction that runs a clone of `op`.
func::FuncOp outline(Operation *op, StringRef name, ArrayRef<unsigned> disjoint,
                     SymbolTable &symbols) {
  IRMapping mapping;
  func::FuncOp func =
      createOutlinedFunction(op, name, {}, disjoint, symbols, mapping);
  OpBuilder b = OpBuilder::atBlockEnd(&func.getBody().front());
  b.clone(*op, mapping);
  func::ReturnOp::create(b, op->getLoc());
  return func;
}

/// Whether `op` is all a function of outline()'s does besides defining
/// constants (and, in a function of a range, the views of the range), or
/// the op of such a function's branch that runs on one thread.
bool isOutlined(Operation *op) {
  Operation *parent = op->getParentOp();
  if (isa<scf::IfOp>(parent))
    parent = parent->getParentOp();
  auto func = dyn_cast<func::FuncOp>(parent);
  auto passthrough =
      func ? func->getAttrOfType<ArrayAttr>(kPassthrough) : nullptr;
  if (!passthrough || !func.isPrivate() ||
      !llvm::is_contained(passthrough.getValue(),
                          StringAttr::get(op->getContext(), "noinline")))
    return false;
  if (op->getParentOp() != func)
    return func->hasAttr(kThreadedLoopAttr);
  return llvm::all_of(*op->getBlock(), [&](Operation &other) {
    return &other == op || isa<arith::ConstantOp, arith::SubIOp, memref::DimOp,
                               memref::SubViewOp, func::ReturnOp>(other);
  });
}

/// The loop of `op` its threads split: the outermost parallel loop of a
/// static trip count of at least 2 that the body does not read
/// (linalg.index), where every operand is indexed by a projected
/// permutation, used by the op once (so that it can be viewed in ranges
/// of the loop) and not from within the body.
std::optional<unsigned> getThreadedLoop(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return std::nullopt;
  SetVector<Value> fromAbove;
  getUsedValuesDefinedAbove(op.getRegion(), fromAbove);
  SmallPtrSet<Value, 4> seen;
  for (OpOperand &operand : op->getOpOperands())
    if (isa<MemRefType>(operand.get().getType()) &&
        (!seen.insert(operand.get()).second ||
         fromAbove.contains(operand.get())))
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned loop = 0; loop < iterators.size(); ++loop) {
    if (iterators[loop] != utils::IteratorType::parallel ||
        ShapedType::isDynamic(ranges[loop]) || ranges[loop] < 2)
      continue;
    bool read = false;
    op.getRegion().walk(
        [&](linalg::IndexOp index) { read |= index.getDim() == loop; });
    if (!read)
      return loop;
  }
  return std::nullopt;
}

/// A function of createOutlinedFunction, with a range [begin, end) of
/// `loop` after the op's values, that runs a clone of `op` on the operands'
/// views of the range.
func::FuncOp outlineRange(linalg::GenericOp op, unsigned loop, StringRef name,
                          ArrayRef<unsigned> disjoint, SymbolTable &symbols) {
  Location loc = op->getLoc();
  IRMapping mapping;
  Type index = IndexType::get(op->getContext());
  func::FuncOp func = createOutlinedFunction(op, name, {index, index}, disjoint,
                                             symbols, mapping);
  Block *entry = &func.getBody().front();
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  Value begin = entry->getArgument(entry->getNumArguments() - 2);
  Value end = entry->getArgument(entry->getNumArguments() - 1);
  Value length = arith::SubIOp::create(b, loc, end, begin);
  AffineExpr loopExpr = b.getAffineDimExpr(loop);
  for (OpOperand &operand : op->getOpOperands()) {
    Value memref = mapping.lookupOrDefault(operand.get());
    auto type = dyn_cast<MemRefType>(memref.getType());
    std::optional<unsigned> position =
        op.getMatchingIndexingMap(&operand).getResultPosition(loopExpr);
    if (!type || !position)
      continue;
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = memref::getMixedSizes(b, loc, memref);
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    offsets[*position] = begin;
    sizes[*position] = length;
    mapping.map(operand.get(), memref::SubViewOp::create(
                                   b, loc, memref, offsets, sizes, strides)
                                   .getResult());
  }
  b.clone(*op, mapping);
  func::ReturnOp::create(b, loc);
  return func;
}

/// A function of createOutlinedFunction that runs `op`: when the loop
/// nest has at least `parallelWork` iterations, calls of `range` over
/// ranges of `loop` on the runtime's threads; else `op` itself, on the
/// whole operands (whose static sizes LLVM's code keeps).
func::FuncOp outlineDispatch(linalg::GenericOp op, unsigned loop,
                             StringRef name, ArrayRef<unsigned> disjoint,
                             func::FuncOp range, int64_t parallelWork,
                             SymbolTable &symbols,
                             ParallelForEmitter &parallelFor) {
  IRMapping mapping;
  func::FuncOp func =
      createOutlinedFunction(op, name, {}, disjoint, symbols, mapping);
  Block &entry = func.getBody().front();
  OpBuilder b = OpBuilder::atBlockEnd(&entry);
  Location loc = op.getLoc();
  // The clone on the arguments gives the loop ranges, then moves into the
  // branch that runs it.
  Operation *clone = b.clone(*op, mapping);
  b.setInsertionPoint(clone);
  Value work = arith::ConstantIndexOp::create(b, loc, 1);
  for (Range loopRange : cast<linalg::LinalgOp>(clone).createLoopRanges(b, loc))
    work = arith::MulIOp::create(
        b, loc, work, getValueOrCreateConstantIndexOp(b, loc, loopRange.size));
  Value threshold = arith::ConstantIndexOp::create(b, loc, parallelWork);
  Value large =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, work, threshold);
  auto choice = scf::IfOp::create(b, loc, large, /*withElseRegion=*/true);
  b.setInsertionPointToStart(choice.thenBlock());
  Value count =
      arith::ConstantIndexOp::create(b, loc, op.getStaticLoopRanges()[loop]);
  parallelFor.emit(b, loc, range, entry.getArguments(), count,
                   arith::ConstantIndexOp::create(b, loc, 1));
  clone->moveBefore(choice.elseBlock()->getTerminator());
  b.setInsertionPointAfter(choice);
  func::ReturnOp::create(b, loc);
  func->setAttr(kThreadedLoopAttr, b.getI64IntegerAttr(loop));
  return func;
}

class OutlineLinalgPass
    : public PassWrapper<OutlineLinalgPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(OutlineLinalgPass)

  OutlineLinalgPass() = default;
  OutlineLinalgPass(const OutlineLinalgPass &other) : PassWrapper(other) {}
  OutlineLinalgPass(bool threadsOption, int64_t parallelWorkOption) {
    threads = threadsOption;
    parallelWork = parallelWorkOption;
  }

  StringRef getArgument() const final { return "mixtile-cpu-outline-linalg"; }
  StringRef getDescription() const final {
    return "Move every linalg op on buffers into a private never-inlined "
           "function, one for each group of equivalent ops (a model's layers "
           "share them), and call it";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect,
                    memref::MemRefDialect, scf::SCFDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    module.walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics() && !isOutlined(op) &&
          !op->getParentOfType<linalg::LinalgOp>())
        ops.push_back(op);
    });
    SmallVector<unsigned> firsts;
    SmallVector<unsigned> groups = groupSameOutlines(ops, firsts);
    SymbolTable symbols(module);
    ParallelForEmitter parallelFor(module);
    SmallVector<func::FuncOp> funcs;
    // A group's function writes without aliases where every call does.
    SmallVector<SmallVector<unsigned>> disjoint;
    for (unsigned first : firsts)
      disjoint.push_back(getDisjointWrittenOperands(ops[first]));
    for (auto [op, group] : llvm::zip_equal(ops, groups)) {
      SmallVector<unsigned> operands = getDisjointWrittenOperands(op);
      llvm::erase_if(disjoint[group], [&](unsigned index) {
        return !llvm::is_contained(operands, index);
      });
    }
    for (auto [group, first] : llvm::enumerate(firsts)) {
      Operation *op = ops[first];
      auto parent = op->getParentOfType<func::FuncOp>();
      std::string name =
          (parent.getSymName() + "_loops" + Twine(funcs.size())).str();
      funcs.push_back(
          outlineOp(op, name, disjoint[group], symbols, parallelFor));
    }
    for (auto [op, group] : llvm::zip_equal(ops, groups)) {
      OpBuilder b(op);
      func::CallOp::create(b, op->getLoc(), funcs[group],
                           getOutlinedOperands(op));
      op->erase();
    }
  }

private:
  /// The function `op` is outlined into: with threads, and a loop of
  /// getThreadedLoop(op), one that runs it in ranges of that loop through
  /// a function of a range; else one that runs it.
  func::FuncOp outlineOp(Operation *op, StringRef name,
                         ArrayRef<unsigned> disjoint, SymbolTable &symbols,
                         ParallelForEmitter &parallelFor) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    std::optional<unsigned> loop =
        threads && generic ? getThreadedLoop(generic) : std::nullopt;
    if (!loop)
      return outline(op, name, disjoint, symbols);
    func::FuncOp range = outlineRange(generic, *loop, (name + "_range").str(),
                                      disjoint, symbols);
    func::FuncOp func = outlineDispatch(generic, *loop, name, disjoint, range,
                                        parallelWork, symbols, parallelFor);
    // The function of the range reads after the one that calls it.
    range->moveAfter(func);
    return func;
  }

  Option<bool> threads{
      *this, "threads",
      llvm::cl::desc("Split each loop nest with a parallel loop of a static "
                     "trip count over the runtime's threads when it is large"),
      llvm::cl::init(false)};
  Option<int64_t> parallelWork{
      *this, "parallel-work",
      llvm::cl::desc("Fewest iterations of a loop nest worth the threads"),
      llvm::cl::init(32768)};
};

class ApplyNoAliasPointersPass
    : public PassWrapper<ApplyNoAliasPointersPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApplyNoAliasPointersPass)

  StringRef getArgument() const final {
    return "mixtile-cpu-apply-noalias-pointers";
  }
  StringRef getDescription() const final {
    return "Mark as llvm.noalias the LLVM function arguments that "
           "mixtile-cpu-outline-linalg found to alias no other argument";
  }

  void runOnOperation() override {
    StringRef noalias = LLVM::LLVMDialect::getNoAliasAttrName();
    WalkResult result = getOperation().walk([&](LLVM::LLVMFuncOp func) {
      auto pointers =
          func->getAttrOfType<DenseI64ArrayAttr>(kNoAliasPointersAttr);
      if (!pointers)
        return WalkResult::advance();
      for (int64_t position : pointers.asArrayRef()) {
        if (position < 0 || position >= func.getNumArguments() ||
            !isa<LLVM::LLVMPointerType>(func.getArgument(position).getType())) {
          func.emitOpError() << kNoAliasPointersAttr << ": argument "
                             << position << " is not a pointer";
          return WalkResult::interrupt();
        }
        func.setArgAttr(position, noalias, UnitAttr::get(&getContext()));
      }
      func->removeAttr(kNoAliasPointersAttr);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> mixtile::cpu::createApplyNoAliasPointersPass() {
  return std::make_unique<ApplyNoAliasPointersPass>();
}

std::unique_ptr<Pass>
mixtile::cpu::createOutlineLinalgPass(bool threads, int64_t parallelWork) {
  return std::make_unique<OutlineLinalgPass>(threads, parallelWork);
}

void mixtile::cpu::registerOutlineLinalgPass() {
  PassRegistration<OutlineLinalgPass>();
  PassRegistration<ApplyNoAliasPointersPass>();
}
