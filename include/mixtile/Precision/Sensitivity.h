//===- Sensitivity.h - how much each layer suffers per format ---*- C++ -*-===//
//
// The measurements the precision search stands on: which layers must share a
// format (groups), and how far the model's next-token distributions move from
// FP32 when one group is given a format (exact sensitivity, measured by
// running the reference evaluator on calibration sequences).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PRECISION_SENSITIVITY_H
#define MIXTILE_PRECISION_SENSITIVITY_H

#include "mixtile/Analysis/Metrics.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace mixtile {

class WeightStore;

/// Layers that must be given one format together.
struct LayerGroup {
  /// The members' layer names, joined by ','.
  std::string name;
  std::vector<xfmr::PrecisionOpInterface> ops;
};

/// Groups the weight-bearing precision ops of `module`'s @forward: ops that
/// read the same activation value (Q/K/V of a block, gate/up of a SwiGLU)
/// form one group, in program order; every other such op is a group of its
/// own. Ops without a weight operand (attention, matmul) are not grouped.
std::vector<LayerGroup> groupLayers(mlir::ModuleOp module);

/// Measures the divergence from FP32 of precision assignments on fixed
/// calibration sequences. The FP32 logits are computed once, at creation,
/// with every precision record of the module set aside.
class SensitivityMeasurer {
public:
  /// `sequences` are token sequences, each run from position 0.
  static llvm::Expected<std::unique_ptr<SensitivityMeasurer>>
  create(mlir::ModuleOp module, WeightStore &store,
         std::vector<std::vector<int32_t>> sequences);
  ~SensitivityMeasurer();

  /// Runs the model with `assignment` (each group's ops get its record; all
  /// other ops keep theirs) and compares with FP32 over every sequence.
  /// The module is left as it was.
  llvm::Expected<LogitComparison> measure(
      const std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>>
          &assignment);

private:
  SensitivityMeasurer(mlir::ModuleOp module, WeightStore &store,
                      std::vector<std::vector<int32_t>> sequences);
  llvm::Expected<std::vector<std::vector<float>>> run();

  mlir::ModuleOp module;
  WeightStore &store;
  std::vector<std::vector<int32_t>> sequences;
  std::vector<std::vector<float>> reference;
  int64_t vocab = 0;
};

} // namespace mixtile

#endif // MIXTILE_PRECISION_SENSITIVITY_H
