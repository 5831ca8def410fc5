//===- MaiaRunner.cpp - run a model on the simulated Maia target ----------===//

#include "mixtile/Conversion/XfmrToMaia/MaiaRunner.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstring>

using namespace mixtile;
using llvm::Expected;

Expected<std::unique_ptr<MaiaRunner>> MaiaRunner::create(mlir::ModuleOp module,
                                                         WeightStore &store,
                                                         TargetModel target,
                                                         unsigned tiles) {
  auto forward = module.lookupSymbol<mlir::func::FuncOp>("forward");
  if (!forward || forward.getFunctionType().getNumResults() < 1)
    return llvm::createStringError("maia: the module has no @forward");
  mlir::FunctionType type = forward.getFunctionType();
  auto logits = llvm::dyn_cast<mlir::RankedTensorType>(type.getResult(0));
  if (!logits || logits.getRank() != 2)
    return llvm::createStringError(
        "maia: @forward must return logits as tensor<?xVOCABxf32>");
  std::unique_ptr<MaiaRunner> runner(
      new MaiaRunner(module, store, std::move(target), tiles));
  runner->vocab = logits.getDimSize(1);
  runner->maxSeq = INT64_MAX;
  if (type.getNumInputs() > 3)
    if (auto cache = llvm::dyn_cast<mlir::RankedTensorType>(type.getInput(3)))
      runner->maxSeq = cache.getDimSize(0);
  return runner;
}

void MaiaRunner::reset() {
  next = 0;
  caches.clear();
}

Expected<std::vector<float>>
MaiaRunner::forward(llvm::ArrayRef<int32_t> tokens) {
  MaiaLoweringOptions options;
  options.tokens.assign(tokens.begin(), tokens.end());
  options.start = next;
  options.tiles = tiles;
  Expected<MaiaLoweredProgram> lowered =
      lowerToMaia(module, store, target, options);
  if (!lowered)
    return lowered.takeError();
  maia::SimOptions sim;
  for (auto &[name, bytes] : caches)
    sim.inputs.push_back({name, bytes});
  Expected<maia::SimResult> result =
      maia::simulate(lowered->program, target, sim);
  if (!result)
    return result.takeError();
  for (const std::vector<std::string> *names :
       {&lowered->keyCaches, &lowered->valueCaches})
    for (const std::string &name : *names) {
      Expected<std::vector<uint8_t>> bytes = result->readBuffer(name);
      if (!bytes)
        return bytes.takeError();
      caches[name] = std::move(*bytes);
    }
  Expected<std::vector<uint8_t>> bytes = result->readBuffer(lowered->logits);
  if (!bytes)
    return bytes.takeError();
  std::vector<float> logits(bytes->size() / sizeof(float));
  std::memcpy(logits.data(), bytes->data(), logits.size() * sizeof(float));
  next += tokens.size();
  seconds += result->report.seconds;
  cycles += result->report.cycles;
  ++numRuns;
  return logits;
}
