//===- ModelFormats.h - safetensors and GGUF models -------------*- C++ -*-===//
//
// Llama-family models in safetensors (Hugging Face config.json naming, or
// Meta naming with the config in the header's __metadata__) and GGUF v3
// (llama architecture): import to xfmr IR that references the file, and
// export xfmr IR + weights back to those files.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_MODELFORMATS_H
#define MIXTILE_IMPORT_MODELFORMATS_H

#include "mixtile/Import/ModelBuilder.h"

#include "llvm/Support/raw_ostream.h"

namespace mixtile {

class Tokenizer;
class WeightStore;

/// Imports a GGUF v3 file of architecture "llama".
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importGGUF(mlir::MLIRContext *ctx, llvm::StringRef path,
           llvm::ArrayRef<char> bytes);

/// Imports a safetensors file, or a sharded model through its
/// model.safetensors.index.json. The config comes from config.json beside it
/// (Hugging Face LlamaForCausalLM naming, rotate-half RoPE) or, failing that,
/// from the header's __metadata__ as written by exportSafetensors (Meta
/// naming, interleaved RoPE).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importSafetensors(mlir::MLIRContext *ctx, llvm::StringRef path,
                  llvm::ArrayRef<char> bytes);

/// Writes the weights of `module` (an imported Llama model) as f32
/// safetensors with Meta names and the config in __metadata__.
llvm::Error exportSafetensors(mlir::ModuleOp module, WeightStore &store,
                              llvm::raw_ostream &os);

/// Writes the weights of `module` as a GGUF v3 llama file with f32 tensors,
/// embedding `tokenizer`'s vocabulary when given.
llvm::Error exportGGUF(mlir::ModuleOp module, WeightStore &store,
                       llvm::raw_ostream &os,
                       const Tokenizer *tokenizer = nullptr);

/// Loads the llama vocabulary embedded in a GGUF file
/// (tokenizer.ggml.tokens/scores; sentencepiece's U+2581 becomes a space).
llvm::Expected<Tokenizer> loadGGUFTokenizer(llvm::StringRef path);

} // namespace mixtile

#endif // MIXTILE_IMPORT_MODELFORMATS_H
