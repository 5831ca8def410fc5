//===- Evaluator.h - reference execution of xfmr IR -------------*- C++ -*-===//
//
// Runs the @forward function of an xfmr model on the CPU in FP32, keeping the
// KV caches between calls (prefill, then incremental decode). It is the
// reference every back end and every precision plan is measured against.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_EVALUATOR_EVALUATOR_H
#define MIXTILE_EVALUATOR_EVALUATOR_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <vector>

namespace mixtile {

class WeightStore;

struct EvaluatorOptions {
  /// Worker threads for the matrix kernels; 0 uses every core. Results do
  /// not depend on this number.
  unsigned threads = 0;
  /// If set, called with the FP32 input of every xfmr.linear (row-major
  /// [rows, cols], before its activation format is applied), in program
  /// order: local sensitivity analysis records layer inputs through it.
  std::function<void(mlir::Operation *op, const float *rows, int64_t numRows,
                     int64_t cols)>
      observeLinearInput;
};

class Evaluator {
public:
  /// Prepares `module` (which must hold func.func @forward in the importer's
  /// calling convention) for execution: resolves and repacks every weight.
  /// The module must outlive the evaluator.
  static llvm::Expected<std::unique_ptr<Evaluator>>
  create(mlir::ModuleOp module, WeightStore &store,
         const EvaluatorOptions &options = {});
  ~Evaluator();

  /// Runs `tokens` at positions [position(), position() + tokens.size()) and
  /// returns their logits, row-major [tokens.size(), vocabSize()].
  llvm::Expected<std::vector<float>> forward(llvm::ArrayRef<int32_t> tokens);

  /// The position the next token will be run at.
  int64_t position() const;
  /// Forgets the KV cache: the next call starts at position 0.
  void reset();

  int64_t vocabSize() const;
  int64_t maxSeqLen() const;

private:
  class Impl;
  explicit Evaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

} // namespace mixtile

#endif // MIXTILE_EVALUATOR_EVALUATOR_H
