//===- MaiaRunner.h - run a model on the simulated Maia target --*- C++ -*-===//
//
// The Maia back end behind the evaluator's interface: each forward() call
// compiles the tokens at the current position into a program
// (lowerToMaia), runs it in the simulator (functional and timing), and
// carries the KV caches to the next call. The logits are the simulator's;
// they equal the reference evaluator's bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_CONVERSION_XFMRTOMAIA_MAIARUNNER_H
#define MIXTILE_CONVERSION_XFMRTOMAIA_MAIARUNNER_H

#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Target/Maia/Simulator.h"

#include <map>
#include <memory>

namespace mixtile {

class MaiaRunner {
public:
  /// `tiles` as in MaiaLoweringOptions. The module must outlive the runner.
  static llvm::Expected<std::unique_ptr<MaiaRunner>>
  create(mlir::ModuleOp module, WeightStore &store, TargetModel target,
         unsigned tiles = 0);

  /// Runs `tokens` at positions [position(), position() + tokens.size())
  /// and returns their logits, row-major [tokens.size(), vocabSize()].
  llvm::Expected<std::vector<float>> forward(llvm::ArrayRef<int32_t> tokens);

  int64_t position() const { return next; }
  /// Forgets the KV caches.
  void reset();
  int64_t vocabSize() const { return vocab; }
  int64_t maxSeqLen() const { return maxSeq; }

  /// Simulated time and cycles of every run so far, and the run count.
  double simulatedSeconds() const { return seconds; }
  uint64_t simulatedCycles() const { return cycles; }
  unsigned runs() const { return numRuns; }

private:
  MaiaRunner(mlir::ModuleOp module, WeightStore &store, TargetModel target,
             unsigned tiles)
      : module(module), store(store), target(std::move(target)), tiles(tiles) {}

  mlir::ModuleOp module;
  WeightStore &store;
  TargetModel target;
  unsigned tiles;
  int64_t next = 0, vocab = 0, maxSeq = 0;
  std::map<std::string, std::vector<uint8_t>> caches;
  double seconds = 0;
  uint64_t cycles = 0;
  unsigned numRuns = 0;
};

} // namespace mixtile

#endif // MIXTILE_CONVERSION_XFMRTOMAIA_MAIARUNNER_H
