//===- Llama2C.h - import llama2.c checkpoints ------------------*- C++ -*-===//
//
// Reads llama2.c "legacy" checkpoints (a 7 x int32 header followed by f32
// arrays) into xfmr IR whose weights reference the file by offset.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_LLAMA2C_H
#define MIXTILE_IMPORT_LLAMA2C_H

#include "mixtile/Import/ModelBuilder.h"

#include "llvm/ADT/ArrayRef.h"

namespace mixtile {

/// Parses and checks the header of a llama2.c checkpoint held in `bytes`
/// (the file's contents) against the file size. `path` names the file in
/// errors.
llvm::Expected<ModelConfig> readLlama2CConfig(llvm::StringRef path,
                                              llvm::ArrayRef<char> bytes);

/// Imports the checkpoint `bytes` read from `path` as an xfmr module whose
/// xfmr.weight ops point at `path` with byte offsets. Rejects malformed
/// headers, sizes that do not match the header, and non-finite weights.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importLlama2C(mlir::MLIRContext *ctx, llvm::StringRef path,
              llvm::ArrayRef<char> bytes);

} // namespace mixtile

#endif // MIXTILE_IMPORT_LLAMA2C_H
