//===- ModelLoader.h - open any supported model file ------------*- C++ -*-===//
//
// One entry point for tools: xfmr .mlir files are parsed, model files are
// imported by their format (recognised from their contents).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_MODELLOADER_H
#define MIXTILE_IMPORT_MODELLOADER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace mixtile {

/// Loads `path` as an xfmr module: .mlir/.mlirbc files are parsed and
/// verified; other files are imported as GGUF or safetensors when their
/// first bytes say so, else as a llama2.c checkpoint. Errors name the file.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadModel(mlir::MLIRContext *ctx, llvm::StringRef path);

} // namespace mixtile

#endif // MIXTILE_IMPORT_MODELLOADER_H
