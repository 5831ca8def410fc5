//===- Outlining.cpp - One function for equivalent ops --------------------===//
//
// getOutlinedOperands, haveSameOutline and mixtile-cpu-outline-linalg.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Pipelines/Outlining.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
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

/// A private function of getOutlinedOperands(op) that runs a clone of
/// `op`, named `name` or, if that is taken, a variant of it.
func::FuncOp outline(Operation *op, StringRef name, SymbolTable &symbols) {
  OpBuilder b(op->getContext());
  Location loc = op->getLoc();
  SmallVector<Value> operands = getOutlinedOperands(op);
  auto func = func::FuncOp::create(
      b, loc, name, b.getFunctionType(ValueRange(operands).getTypes(), {}));
  func.setPrivate();
  // Inlined at a call, the op would be compiled once more for every call.
  func->setAttr(kPassthrough, b.getArrayAttr({b.getStringAttr("noinline")}));
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
    for (unsigned first : firsts) {
      Operation *op = ops[first];
      auto parent = op->getParentOfType<func::FuncOp>();
      std::string name =
          (parent.getSymName() + "_loops" + Twine(funcs.size())).str();
      funcs.push_back(outline(op, name, symbols));
    }
    for (auto [op, group] : llvm::zip_equal(ops, groups)) {
      OpBuilder b(op);
      func::CallOp::create(b, op->getLoc(), funcs[group],
                           getOutlinedOperands(op));
      op->erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass> mixtile::cpu::createOutlineLinalgPass() {
  return std::make_unique<OutlineLinalgPass>();
}

void mixtile::cpu::registerOutlineLinalgPass() {
  PassRegistration<OutlineLinalgPass>();
}
