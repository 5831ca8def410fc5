//===- ModelBuilder.h - build xfmr IR for a transformer family --*- C++ -*-===//
//
// Builds the xfmr forward function of a Llama-family model from its
// configuration; importers supply where each weight lives.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_MODELBUILDER_H
#define MIXTILE_IMPORT_MODELBUILDER_H

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mixtile {

/// Hyper-parameters of a decoder-only transformer: "llama" (RMSNorm, RoPE,
/// SwiGLU, GQA) or "gpt2" (LayerNorm, learned positions, GELU MLP, biases).
struct ModelConfig {
  std::string arch = "llama";
  int64_t dim = 0;
  int64_t hiddenDim = 0;
  int64_t nLayers = 0;
  int64_t nHeads = 0;
  int64_t nKVHeads = 0;
  int64_t vocabSize = 0;
  int64_t maxSeqLen = 0;
  float normEps = 1e-5f;
  float ropeTheta = 10000.0f;
  xfmr::RopeStyle ropeStyle = xfmr::RopeStyle::interleaved;
  bool tiedEmbeddings = true;
  /// The MLP activation of "gpt2" (GPT-2 itself uses the tanh form).
  xfmr::GeluApproximation gelu = xfmr::GeluApproximation::tanh;

  int64_t headDim() const { return dim / nHeads; }
  int64_t kvDim() const { return headDim() * nKVHeads; }

  /// Checks the invariants every builder relies on; the message says which
  /// one is broken.
  llvm::Error validate() const;

  /// Reads a config back from the module attribute the builder wrote.
  static llvm::Expected<ModelConfig> fromModule(mlir::ModuleOp module);
};

/// Where a weight's data is in a file (see xfmr.weight).
struct WeightLocation {
  WeightLocation(std::string file, std::optional<uint64_t> offset = {},
                 mlir::Type storage = {})
      : file(std::move(file)), offset(offset), storage(storage) {}

  std::string file;
  std::optional<uint64_t> offset;
  /// Element type on disk; null leaves the attribute off.
  mlir::Type storage;
  /// Shape on disk when it differs from the weight's (fused or transposed).
  llvm::SmallVector<int64_t> storedShape;
  bool transpose = false;
  std::optional<int64_t> rowOffset;
};

/// Builds the xfmr.weight op for `key` of `shape` at `location`.
mlir::Value createWeightOp(mlir::OpBuilder &builder, llvm::StringRef key,
                           llvm::ArrayRef<int64_t> shape,
                           const WeightLocation &location);

/// Where a named weight of the given shape lives; returns the value to use
/// (normally an xfmr.weight op built at `builder`'s insertion point).
using WeightProvider = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &builder, llvm::StringRef key,
    llvm::ArrayRef<int64_t> shape)>;

/// Builds a module holding `func.func @forward` for a Llama-family model:
///
///   @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>,
///            %start: index, %k_cache_0, %v_cache_0, ...)
///       -> (logits: tensor<?xVOCABxf32>, updated caches...)
///
/// Weight keys follow Meta's naming (tok_embeddings, layers.N.attention.wq,
/// layers.N.feed_forward.w1, norm, output; a tied head asks for "output" too,
/// and the provider maps it to the embedding's data). The config is stored as
/// the module attribute `xfmr.config`.
mlir::OwningOpRef<mlir::ModuleOp> buildLlamaModule(mlir::MLIRContext *ctx,
                                                   const ModelConfig &config,
                                                   WeightProvider weights,
                                                   mlir::Location loc);

/// Builds the @forward module of a GPT-2-family model (same calling
/// convention as buildLlamaModule). Weight keys: wte, wpe,
/// h.N.{ln_1,ln_2}.{weight,bias}, h.N.attn.{q,k,v,c_proj}.{weight,bias},
/// h.N.mlp.{c_fc,c_proj}.{weight,bias}, ln_f.{weight,bias}, output; linear
/// weights are [out, in] (providers re-lay Conv1D's [in, out] on load).
mlir::OwningOpRef<mlir::ModuleOp> buildGPT2Module(mlir::MLIRContext *ctx,
                                                  const ModelConfig &config,
                                                  WeightProvider weights,
                                                  mlir::Location loc);

/// Builds the module of `config.arch`.
mlir::OwningOpRef<mlir::ModuleOp> buildModule(mlir::MLIRContext *ctx,
                                              const ModelConfig &config,
                                              WeightProvider weights,
                                              mlir::Location loc);

/// Name of the module attribute holding the model configuration.
inline constexpr llvm::StringLiteral kConfigAttrName = "xfmr.config";

} // namespace mixtile

#endif // MIXTILE_IMPORT_MODELBUILDER_H
