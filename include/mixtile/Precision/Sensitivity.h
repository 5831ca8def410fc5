//===- Sensitivity.h - how much each layer suffers per format ---*- C++ -*-===//
//
// The measurements the precision search stands on: which layers must share a
// format (groups), and how far the model's next-token distributions move from
// FP32 when one group is given a format (exact sensitivity, measured by
// running the reference evaluator on calibration sequences), and the cheap
// local proxy for models too large for the exact sweep.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PRECISION_SENSITIVITY_H
#define MIXTILE_PRECISION_SENSITIVITY_H

#include "mixtile/Analysis/Metrics.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mixtile {

class Evaluator;
class WeightStore;
namespace numerics {
struct QuantScheme;
} // namespace numerics

/// Layers that must be given one format together.
struct LayerGroup {
  /// The members' layer names, joined by ','.
  std::string name;
  std::vector<xfmr::PrecisionOpInterface> ops;
};

/// Groups the weight-bearing precision ops of `module`'s function
/// `function`: ops that read the same activation value (Q/K/V of a block,
/// gate/up of a SwiGLU) form one group, in program order; every other such
/// op is a group of its own. Ops without a weight operand (attention,
/// matmul) are not grouped.
std::vector<LayerGroup> groupLayers(mlir::ModuleOp module,
                                    llvm::StringRef function = "forward");

/// Each listed group's ops get the record paired with it.
using Assignment =
    std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>>;

/// Measures the divergence from FP32 of precision assignments on fixed
/// calibration sequences. The FP32 logits are computed once, at creation,
/// with every precision record of the module set aside.
class SensitivityMeasurer {
public:
  /// `sequences` are token sequences, each run from position 0. `threads`
  /// bounds how many runs measureAll() makes at once (0: every core).
  static llvm::Expected<std::unique_ptr<SensitivityMeasurer>>
  create(mlir::ModuleOp module, WeightStore &store,
         std::vector<std::vector<int32_t>> sequences, unsigned threads = 0);
  ~SensitivityMeasurer();

  /// Runs the model with `assignment` (each group's ops get its record; all
  /// other ops keep theirs) and compares with FP32 over every sequence.
  /// The module is left as it was.
  llvm::Expected<LogitComparison> measure(const Assignment &assignment);

  /// measure() of every assignment, running several at once (one evaluator
  /// per run, each single-threaded; results do not depend on the number of
  /// threads). `onDone` is called after each completed run with the count so
  /// far.
  llvm::Expected<std::vector<LogitComparison>>
  measureAll(llvm::ArrayRef<Assignment> assignments,
             llvm::function_ref<void(size_t)> onDone = nullptr);

  int64_t numTokens() const;

private:
  SensitivityMeasurer(mlir::ModuleOp module, WeightStore &store,
                      std::vector<std::vector<int32_t>> sequences,
                      unsigned threads);
  /// An evaluator for the module with `assignment`'s records (restored
  /// before returning).
  llvm::Expected<std::unique_ptr<Evaluator>>
  prepare(const Assignment &assignment, unsigned evaluatorThreads);
  llvm::Expected<LogitComparison> compare(Evaluator &eval);
  llvm::Expected<std::vector<std::vector<float>>> run(Evaluator &eval);

  mlir::ModuleOp module;
  WeightStore &store;
  std::vector<std::vector<int32_t>> sequences;
  std::vector<std::vector<float>> reference;
  unsigned threads;
  int64_t vocab = 0;
};

/// Local sensitivity: how much one group's own outputs change under a
/// format, without running the rest of the model per candidate. One FP32 run
/// over the calibration sequences records every linear layer's inputs (a
/// strided sample of at most `maxRows` rows per layer); a group's error
/// under a record is sum ||y_q - y||^2 / sum ||y||^2 over its layers, with
/// y = x W^T in FP32 and y_q computed from the record's quantized
/// activations and weights. Embeddings compare their quantized tables.
class LocalErrorModel {
public:
  static llvm::Expected<std::unique_ptr<LocalErrorModel>>
  create(mlir::ModuleOp module, WeightStore &store,
         const std::vector<std::vector<int32_t>> &sequences, int64_t maxRows);
  ~LocalErrorModel();

  /// The same model without data: every product's inputs are `rows`
  /// probe rows of independent standard normal values (seeded), which makes
  /// a weight format's error the expected error over inputs of any
  /// isotropic distribution. Works on any op with the precision interface
  /// whose weights are xfmr.weight or float constants (linalg products too).
  /// With `maxOutputs` > 0, a product with more outputs (weight rows) keeps
  /// `maxOutputs` of them, one drawn from each of as many equal strata, and
  /// its errors count for the outputs it stands for; only those rows are
  /// read, so a model larger than memory can be measured; per-tensor scales
  /// (fp8, nvfp4) still come from the whole tensor (WeightStore::maxFiniteAbs).
  static llvm::Expected<std::unique_ptr<LocalErrorModel>>
  createFromProbes(llvm::ArrayRef<LayerGroup> groups, WeightStore &store,
                   int64_t rows, uint64_t seed, int64_t maxOutputs = 0);

  /// The relative squared output error of `group` under `record`.
  llvm::Expected<double> relativeError(const LayerGroup &group,
                                       xfmr::PrecisionAttr record);

private:
  struct Layer;
  LocalErrorModel() = default;
  llvm::Error addLayers(llvm::ArrayRef<LayerGroup> groups, int64_t maxOutputs,
                        uint64_t seed);
  llvm::Expected<std::optional<float>>
  sampledTensorMaxAbs(Layer &layer, const numerics::QuantScheme &scheme);
  llvm::Error sampleOutputs(xfmr::PrecisionOpInterface op, Layer &layer,
                            int64_t maxOutputs, uint64_t seed);
  void computeReferences();
  llvm::Expected<Layer *> layer(xfmr::PrecisionOpInterface op);

  WeightStore *store = nullptr;
  llvm::DenseMap<mlir::Operation *, std::unique_ptr<Layer>> layers;
};

/// Spearman rank correlation of two equally long samples (ties get their
/// mean rank); 0 when either is constant.
double spearmanCorrelation(llvm::ArrayRef<double> a, llvm::ArrayRef<double> b);

} // namespace mixtile

#endif // MIXTILE_PRECISION_SENSITIVITY_H
