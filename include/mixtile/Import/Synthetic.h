//===- Synthetic.h - seeded synthetic models --------------------*- C++ -*-===//
//
// Models of any Llama shape without a checkpoint: the IR references a virtual
// file "synthetic:<seed>" whose tensors the weight store generates on demand
// from (seed, key), with statistics like trained weights. A shapes-only
// variant references "shapes-only" and has no data at all (for timing
// studies of shapes that do not fit in memory).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_IMPORT_SYNTHETIC_H
#define MIXTILE_IMPORT_SYNTHETIC_H

#include "mixtile/Import/ModelBuilder.h"

#include "llvm/ADT/ArrayRef.h"

namespace mixtile {

/// Prefix of the virtual file of seeded synthetic weights.
inline constexpr llvm::StringLiteral kSyntheticFilePrefix = "synthetic:";
/// The virtual file of shapes-only models.
inline constexpr llvm::StringLiteral kShapesOnlyFile = "shapes-only";

/// Parses a JSON synthesis request: either {"preset": NAME} (tiny, 100m,
/// llama3-8b, llama3-70b, gpt2) or "arch" (llama or gpt2) and explicit dim, hidden_dim, n_layers, n_heads,
/// n_kv_heads, vocab_size, max_seq_len; plus optional "seed" (default 1) and
/// "weights": "seeded" (default) or "none". `source` names the input in
/// errors.
struct SynthesisRequest {
  ModelConfig config;
  uint64_t seed = 1;
  bool withWeights = true;
};
llvm::Expected<SynthesisRequest> parseSynthesisRequest(llvm::StringRef json,
                                                       llvm::StringRef source);

/// Builds the xfmr module of a synthetic model.
mlir::OwningOpRef<mlir::ModuleOp>
buildSyntheticModel(mlir::MLIRContext *ctx, const SynthesisRequest &request);

/// Fills `out` with the synthetic tensor `key` (row-major `shape`) of `seed`.
/// Linear weights are heavy-tailed with std 1/sqrt(fan_in) and a few input
/// channels scaled up (outliers); norm weights are near 1; embeddings have
/// std 1. Deterministic for a given (seed, key).
void generateSyntheticTensor(uint64_t seed, llvm::StringRef key,
                             llvm::ArrayRef<int64_t> shape,
                             llvm::MutableArrayRef<float> out);

/// Fills `out` with rows `rows` (in that order) of the 2-D synthetic tensor
/// `key` of `seed`, exactly as generateSyntheticTensor would; a row costs
/// its own elements only, so large models can be sampled by row. A 1-D
/// tensor has one row, 0.
void generateSyntheticRows(uint64_t seed, llvm::StringRef key,
                           llvm::ArrayRef<int64_t> shape,
                           llvm::ArrayRef<int64_t> rows,
                           llvm::MutableArrayRef<float> out);

/// The largest |value| of the synthetic tensor `key` of `seed`, equal to
/// the maximum over generateSyntheticTensor's output, without generating
/// the values (for the per-tensor scales of row-sampled measurements).
float syntheticMaxAbs(uint64_t seed, llvm::StringRef key,
                      llvm::ArrayRef<int64_t> shape);

} // namespace mixtile

#endif // MIXTILE_IMPORT_SYNTHETIC_H
