//===- ParallelFor.cpp - calls of the runtime's thread pool ---------------===//

#include "mixtile/Pipelines/ParallelFor.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mixtile::cpu;

func::FuncOp ParallelForEmitter::getParallelFor() {
  MLIRContext *ctx = module.getContext();
  StringRef name = "mixtile_parallel_for";
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  Type index = IndexType::get(ctx);
  auto task = FunctionType::get(ctx, {ptr, index, index}, {});
  OpBuilder b(module.getBody(), module.getBody()->begin());
  auto decl = func::FuncOp::create(
      b, module.getLoc(), name,
      FunctionType::get(ctx, {task, ptr, index, index}, {}));
  decl.setPrivate();
  return decl;
}

func::FuncOp ParallelForEmitter::createTask(func::FuncOp kernel,
                                            TypeRange argTypes, Type context) {
  MLIRContext *ctx = module.getContext();
  Location loc = kernel.getLoc();
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  Type index = IndexType::get(ctx);
  OpBuilder b(module.getBody(), module.getBody()->end());
  auto task =
      func::FuncOp::create(b, loc, (kernel.getSymName() + "_task").str(),
                           FunctionType::get(ctx, {ptr, index, index}, {}));
  task.setPrivate();
  Block *entry = task.addEntryBlock();
  b.setInsertionPointToStart(entry);
  auto fields = cast<LLVM::LLVMStructType>(context).getBody();
  SmallVector<Value> operands;
  for (auto [i, type] : llvm::enumerate(argTypes)) {
    auto address =
        LLVM::GEPOp::create(b, loc, ptr, context, entry->getArgument(0),
                            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
    Value loaded = LLVM::LoadOp::create(b, loc, fields[i], address);
    operands.push_back(
        UnrealizedConversionCastOp::create(b, loc, type, loaded).getResult(0));
  }
  operands.push_back(entry->getArgument(1));
  operands.push_back(entry->getArgument(2));
  func::CallOp::create(b, loc, kernel, operands);
  func::ReturnOp::create(b, loc);
  return task;
}

void ParallelForEmitter::emit(OpBuilder &b, Location loc, func::FuncOp kernel,
                              ValueRange args, Value count, Value grain) {
  MLIRContext *ctx = module.getContext();
  LLVMTypeConverter converter(ctx);
  SmallVector<Type> fields;
  for (Value arg : args)
    fields.push_back(converter.convertType(arg.getType()));
  auto context = LLVM::LLVMStructType::getLiteral(ctx, fields);
  func::FuncOp &task = tasks[kernel];
  if (!task)
    task = createTask(kernel, args.getTypes(), context);
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  Value one =
      LLVM::ConstantOp::create(b, loc, b.getI64Type(), b.getI64IntegerAttr(1));
  Value storage = LLVM::AllocaOp::create(b, loc, ptr, context, one);
  for (auto [i, arg] : llvm::enumerate(args)) {
    Value field =
        UnrealizedConversionCastOp::create(b, loc, fields[i], arg).getResult(0);
    auto address =
        LLVM::GEPOp::create(b, loc, ptr, context, storage,
                            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
    LLVM::StoreOp::create(b, loc, field, address);
  }
  Value taskRef = func::ConstantOp::create(b, loc, task.getFunctionType(),
                                           task.getSymName());
  func::CallOp::create(b, loc, getParallelFor(),
                       ValueRange{taskRef, storage, count, grain});
}
