//===- Outlining.h - One function for equivalent ops ------------*- C++ -*-===//
//
// Outlining an op into a function of the values it uses, and the test of
// whether two ops would outline into the same function. A model's layers
// repeat the same ops on other weights; compiling each once, shared by
// every layer, takes the code generator's time from growing with the
// number of layers (mixtile-cpu-vectorize-rows' kernels, and
// mixtile-cpu-outline-linalg's loop nests).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PIPELINES_OUTLINING_H
#define MIXTILE_PIPELINES_OUTLINING_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Operation.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace mixtile::cpu {

/// The operands of the function `op` outlines into: its operands, then the
/// values its regions use from above, each once and in order of first use,
/// without constants (which the function defines itself).
llvm::SmallVector<mlir::Value> getOutlinedOperands(mlir::Operation *op);

/// Maps, in `mapping`, getOutlinedOperands(op) to `arguments` (a function's,
/// in that order) and each constant `op` uses from above to a clone of it
/// at `b`'s insertion point: what a function that runs `op` starts with.
void mapOutlinedValues(mlir::OpBuilder &b, mlir::Operation *op,
                       mlir::ValueRange arguments, mlir::IRMapping &mapping);

/// Whether `a` and `b` outline into the same function: the same op with
/// the same attributes, types and regions, where each value from above is
/// an outlined operand at the same position (a constant table, one
/// `memref.get_global` of the same global) or a constant of the same
/// value.
bool haveSameOutline(mlir::Operation *a, mlir::Operation *b);

/// The positions, among getOutlinedOperands(op), of the memrefs `op` writes
/// (destination-style inits) whose memory no other outlined memref operand
/// overlaps: one of them is an allocation of its own, or both are slots
/// (memref.view at constant offsets) of one buffer that do not overlap.
llvm::SmallVector<unsigned> getDisjointWrittenOperands(mlir::Operation *op);

/// Groups `ops` by haveSameOutline: the index of each op's group, groups
/// numbered in order of their first op; `firsts` gets each group's first
/// op's index. All of `ops` must still be in the IR.
llvm::SmallVector<unsigned>
groupSameOutlines(llvm::ArrayRef<mlir::Operation *> ops,
                  llvm::SmallVectorImpl<unsigned> &firsts);

/// The attribute of an outlined function that lists, for the LLVM function
/// convert-func-to-llvm makes of it (memref descriptors expanded), the
/// positions of the aligned pointers of getDisjointWrittenOperands at every
/// call.
constexpr llvm::StringLiteral kNoAliasPointersAttr = "mixtile.noalias_pointers";

/// mixtile-cpu-outline-linalg: every linalg op on buffers outside the
/// functions it creates moves into a private, never inlined function of its
/// getOutlinedOperands, one function for each group of groupSameOutlines,
/// and is replaced by a call. The function records kNoAliasPointersAttr.
/// With `threads`, a generic with a parallel loop of a static trip count
/// (that its body does not read) runs in ranges of that loop, a function
/// of its own, on the runtime's threads (mixtile_parallel_for) when its
/// loop nest has at least `parallelWork` iterations: the ranges write
/// disjoint outputs and every reduction keeps its order, so the results do
/// not depend on the threads.
std::unique_ptr<mlir::Pass>
createOutlineLinalgPass(bool threads = false, int64_t parallelWork = 32768);
/// mixtile-cpu-apply-noalias-pointers: after convert-func-to-llvm, turns
/// each kNoAliasPointersAttr into llvm.noalias on the arguments it names.
std::unique_ptr<mlir::Pass> createApplyNoAliasPointersPass();
/// Registers both passes.
void registerOutlineLinalgPass();

} // namespace mixtile::cpu

#endif // MIXTILE_PIPELINES_OUTLINING_H
