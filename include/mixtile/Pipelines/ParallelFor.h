//===- ParallelFor.h - calls of the runtime's thread pool -------*- C++ -*-===//
//
// mixtile_parallel_for (lib/Runtime/CpuParallel.c) runs task(context,
// begin, end) over contiguous ranges of [0, count) on the runtime's
// threads. A kernel of a range, `kernel(args..., begin, end)`, is called
// through it with its args packed into a struct on the caller's stack,
// of the args' LLVM types, which a task function unpacks.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PIPELINES_PARALLELFOR_H
#define MIXTILE_PIPELINES_PARALLELFOR_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mixtile::cpu {

/// Emits calls of range kernels through the thread pool of one module,
/// creating each kernel's task once.
class ParallelForEmitter {
public:
  explicit ParallelForEmitter(mlir::ModuleOp module) : module(module) {}

  /// At `b`: kernel(args..., begin, end) over [0, count) in ranges that
  /// are multiples of `grain` (index values), on the runtime's threads.
  void emit(mlir::OpBuilder &b, mlir::Location loc, mlir::func::FuncOp kernel,
            mlir::ValueRange args, mlir::Value count, mlir::Value grain);

private:
  mlir::func::FuncOp getParallelFor();
  mlir::func::FuncOp createTask(mlir::func::FuncOp kernel,
                                mlir::TypeRange argTypes, mlir::Type context);

  mlir::ModuleOp module;
  llvm::DenseMap<mlir::Operation *, mlir::func::FuncOp> tasks;
};

} // namespace mixtile::cpu

#endif // MIXTILE_PIPELINES_PARALLELFOR_H
