//===- main.cpp - run a Mixtile pipeline from C++ -------------------------===//
//
// Usage: mixtile-consumer [model.mlir [pipeline]]
//
// Parses an xfmr module (a built-in one when no file is given), runs a
// textual pass pipeline on it and prints the result.
//
//===----------------------------------------------------------------------===//

#include "mixtile/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

// Two layers; `match=feed_forward` selects the second by its weight's key.
static constexpr llvm::StringLiteral kModel = R"mlir(
func.func @mlp(%x: tensor<4x64xf32>) -> tensor<4x172xf32> {
  %wq = xfmr.weight "layers.0.attention.wq" from "m.bin" : tensor<64x64xf32>
  %w1 = xfmr.weight "layers.0.feed_forward.w1" from "m.bin" : tensor<172x64xf32>
  %0 = xfmr.linear %x, %wq : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %1 = xfmr.linear %0, %w1 : (tensor<4x64xf32>, tensor<172x64xf32>) -> tensor<4x172xf32>
  return %1 : tensor<4x172xf32>
}
)mlir";

// Passes on the module, in the syntax of `mlir-opt --pass-pipeline` without
// the builtin.module(...) anchor.
static constexpr llvm::StringLiteral kPipeline =
    "xfmr-attach-target,xfmr-set-precision{weights=mxfp4 match=feed_forward}";

int main(int argc, char **argv) {
  if (argc > 3) {
    llvm::errs() << "usage: " << argv[0] << " [model.mlir [pipeline]]\n";
    return 2;
  }

  mlir::DialectRegistry registry;
  mixtile::registerAllDialects(registry);
  mixtile::registerAllPasses();
  mlir::MLIRContext context(registry);

  mlir::OwningOpRef<mlir::ModuleOp> module =
      argc > 1 ? mlir::parseSourceFile<mlir::ModuleOp>(argv[1], &context)
               : mlir::parseSourceString<mlir::ModuleOp>(kModel, &context);
  if (!module)
    return 1; // The parser has reported the error.

  mlir::PassManager pm(&context);
  llvm::StringRef pipeline = kPipeline;
  if (argc > 2)
    pipeline = argv[2];
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm)))
    return 1;
  if (mlir::failed(pm.run(*module)))
    return 1;

  module->print(llvm::outs());
  llvm::outs() << "\n";
  return 0;
}
