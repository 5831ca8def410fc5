//===- Outlining.cpp - One function for equivalent ops --------------------===//
//
// getOutlinedOperands, haveSameOutline, getDisjointWrittenOperands and
// mixtile-cpu-outline-linalg.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Pipelines/Outlining.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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

/// A private function of getOutlinedOperands(op) that runs a clone of
/// `op`, named `name` or, if that is taken, a variant of it.
func::FuncOp outline(Operation *op, StringRef name, ArrayRef<unsigned> disjoint,
                     SymbolTable &symbols) {
  OpBuilder b(op->getContext());
  Location loc = op->getLoc();
  SmallVector<Value> operands = getOutlinedOperands(op);
  TypeRange inputs = ValueRange(operands).getTypes();
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
  IRMapping mapping;
  mapOutlinedValues(b, op, entry->getArguments(), mapping);
  b.clone(*op, mapping);
  func::ReturnOp::create(b, loc);
  return func;
}

/// Whether `op` is all a function of outline()'s does besides defining
/// constants.
bool isOutlined(Operation *op) {
  auto func = dyn_cast<func::FuncOp>(op->getParentOp());
  auto passthrough =
      func ? func->getAttrOfType<ArrayAttr>(kPassthrough) : nullptr;
  return passthrough && func.isPrivate() &&
         llvm::is_contained(passthrough.getValue(),
                            StringAttr::get(op->getContext(), "noinline")) &&
         llvm::all_of(*op->getBlock(), [&](Operation &other) {
           return &other == op || isa<arith::ConstantOp, func::ReturnOp>(other);
         });
}

class OutlineLinalgPass
    : public PassWrapper<OutlineLinalgPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(OutlineLinalgPass)

  StringRef getArgument() const final { return "mixtile-cpu-outline-linalg"; }
  StringRef getDescription() const final {
    return "Move every linalg op on buffers into a private never-inlined "
           "function, one for each group of equivalent ops (a model's layers "
           "share them), and call it";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<func::FuncDialect>();
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
    SmallVector<func::FuncOp> funcs;
    // A group's function writes without aliases where every call does.
    SmallVector<SmallVector<unsigned>> disjoint(firsts.size());
    SmallVector<bool> seen(firsts.size(), false);
    for (auto [op, group] : llvm::zip_equal(ops, groups)) {
      SmallVector<unsigned> operands = getDisjointWrittenOperands(op);
      if (!seen[group])
        disjoint[group] = operands;
      else
        llvm::erase_if(disjoint[group], [&](unsigned index) {
          return !llvm::is_contained(operands, index);
        });
      seen[group] = true;
    }
    for (auto [group, first] : llvm::enumerate(firsts)) {
      Operation *op = ops[first];
      auto parent = op->getParentOfType<func::FuncOp>();
      std::string name =
          (parent.getSymName() + "_loops" + Twine(funcs.size())).str();
      funcs.push_back(outline(op, name, disjoint[group], symbols));
    }
    for (auto [op, group] : llvm::zip_equal(ops, groups)) {
      OpBuilder b(op);
      func::CallOp::create(b, op->getLoc(), funcs[group],
                           getOutlinedOperands(op));
      op->erase();
    }
  }
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

std::unique_ptr<Pass> mixtile::cpu::createOutlineLinalgPass() {
  return std::make_unique<OutlineLinalgPass>();
}

void mixtile::cpu::registerOutlineLinalgPass() {
  PassRegistration<OutlineLinalgPass>();
  PassRegistration<ApplyNoAliasPointersPass>();
}
