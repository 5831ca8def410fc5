//===- Sensitivity.cpp - how much each layer suffers per format -----------===//
//
// Layer grouping and exact sensitivity measurement through the evaluator.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Precision/Sensitivity.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Evaluator/Evaluator.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace mixtile;

/// The activation operand of a weight-bearing op (its first operand).
static Value activationOperand(xfmr::PrecisionOpInterface op) {
  return op->getOperand(0);
}

std::vector<LayerGroup> mixtile::groupLayers(ModuleOp module) {
  std::vector<LayerGroup> groups;
  llvm::DenseMap<Value, size_t> groupOfInput;
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward)
    return groups;
  forward.walk([&](xfmr::PrecisionOpInterface op) {
    if (!op.getWeightOperand())
      return;
    // Embeddings read token ids, not an activation to share.
    bool shares = !isa<xfmr::EmbeddingOp>(op.getOperation());
    Value input = activationOperand(op);
    auto it = shares ? groupOfInput.find(input) : groupOfInput.end();
    if (it == groupOfInput.end()) {
      if (shares)
        groupOfInput[input] = groups.size();
      groups.push_back({xfmr::getLayerName(op), {op}});
      return;
    }
    LayerGroup &group = groups[it->second];
    group.name += "," + xfmr::getLayerName(op);
    group.ops.push_back(op);
  });
  return groups;
}

SensitivityMeasurer::SensitivityMeasurer(
    ModuleOp module, WeightStore &store,
    std::vector<std::vector<int32_t>> sequences)
    : module(module), store(store), sequences(std::move(sequences)) {}
SensitivityMeasurer::~SensitivityMeasurer() = default;

llvm::Expected<std::unique_ptr<SensitivityMeasurer>>
SensitivityMeasurer::create(ModuleOp module, WeightStore &store,
                            std::vector<std::vector<int32_t>> sequences) {
  if (sequences.empty())
    return llvm::createStringError("no calibration sequences");
  std::unique_ptr<SensitivityMeasurer> measurer(
      new SensitivityMeasurer(module, store, std::move(sequences)));
  // The reference is FP32: records already on the module are set aside.
  std::vector<std::pair<xfmr::PrecisionOpInterface, xfmr::PrecisionAttr>>
      saved;
  module.walk([&](xfmr::PrecisionOpInterface op) {
    if (xfmr::PrecisionAttr record = op.getPrecisionRecord()) {
      saved.push_back({op, record});
      op.setPrecisionRecord(nullptr);
    }
  });
  llvm::Expected<std::vector<std::vector<float>>> reference = measurer->run();
  for (auto &[op, record] : saved)
    op.setPrecisionRecord(record);
  if (!reference)
    return reference.takeError();
  measurer->reference = std::move(*reference);
  return measurer;
}

llvm::Expected<std::vector<std::vector<float>>> SensitivityMeasurer::run() {
  llvm::Expected<std::unique_ptr<Evaluator>> eval =
      Evaluator::create(module, store);
  if (!eval)
    return eval.takeError();
  vocab = (*eval)->vocabSize();
  std::vector<std::vector<float>> logits;
  for (const std::vector<int32_t> &sequence : sequences) {
    (*eval)->reset();
    llvm::Expected<std::vector<float>> out = (*eval)->forward(sequence);
    if (!out)
      return out.takeError();
    logits.push_back(std::move(*out));
  }
  return logits;
}

llvm::Expected<LogitComparison> SensitivityMeasurer::measure(
    const std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>>
        &assignment) {
  // Set the records, remembering what was there, and restore afterwards.
  std::vector<std::pair<xfmr::PrecisionOpInterface, xfmr::PrecisionAttr>>
      saved;
  for (const auto &[group, record] : assignment)
    for (xfmr::PrecisionOpInterface op : group->ops) {
      saved.push_back({op, op.getPrecisionRecord()});
      op.setPrecisionRecord(record);
    }
  llvm::Expected<std::vector<std::vector<float>>> logits = run();
  for (auto &[op, record] : llvm::reverse(saved))
    op.setPrecisionRecord(record);
  if (!logits)
    return logits.takeError();
  LogitComparison total;
  for (size_t i = 0; i < sequences.size(); ++i)
    total.add(compareLogits(reference[i].data(), (*logits)[i].data(),
                            sequences[i].size(), vocab));
  return total;
}
