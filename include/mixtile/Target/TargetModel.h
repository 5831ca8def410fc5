//===- TargetModel.h - facts about the modeled accelerator ------*- C++ -*-===//
//
// Every hardware number Mixtile uses lives in a TargetModel, read from a
// target description (JSON) that users can copy and edit; `maia200` is the
// built-in default (targets/maia200.json). Passes and cost models ask the
// target model; none hard-codes a hardware figure.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_TARGETMODEL_H
#define MIXTILE_TARGET_TARGETMODEL_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace mixtile {

/// The tensor unit's rate classes: W4A4 runs at the FP4 rate, anything with
/// an 8-bit operand (W4A8, W8A8) at the FP8 rate, 16-bit operands at BF16.
enum class ComputeClass { FP4, FP8, BF16 };

struct TargetModel {
  std::string name;
  double clockHz = 0;
  int64_t clusters = 0, tilesPerCluster = 0;
  double hbmBytes = 0, hbmBytesPerSecond = 0, hbmEfficiency = 0;
  double hbmLatencySeconds = 0;
  int64_t tsramBytesPerTile = 0, csramBytesPerCluster = 0;
  int64_t macsPerCycleFP4 = 0, macsPerCycleFP8 = 0, macsPerCycleBF16 = 0;
  int64_t tvpLanesF32 = 0, tvpTranscendentalsPerCycle = 0;
  int64_t tsramReadBytesPerCycle = 0, tsramWriteBytesPerCycle = 0;
  int64_t csramToTsramBytesPerCycle = 0;
  double clusterDmaBytesPerSecond = 0;
  int64_t dmaQueuesPerTile = 0, dmaQueuesPerCluster = 0, dmaSetupCycles = 0;
  int64_t semaphoresPerTile = 0;
  /// Cycles from a semaphore signal until a waiter sees it: waiter on the
  /// signalling tile, on another tile of its cluster, in another cluster.
  int64_t semWaitCyclesSameTile = 0, semWaitCyclesSameCluster = 0,
          semWaitCyclesOtherCluster = 0;
  int64_t mxBlock = 0;

  int64_t numTiles() const { return clusters * tilesPerCluster; }
  /// Total on-die SRAM (TSRAM of every tile plus CSRAM of every cluster).
  int64_t sramBytes() const {
    return numTiles() * tsramBytesPerTile + clusters * csramBytesPerCluster;
  }
  /// Dense MACs per second of the whole chip in `cls`.
  double peakMacsPerSecond(ComputeClass cls) const;
  /// Sustained HBM bandwidth (peak times efficiency).
  double sustainedHbmBytesPerSecond() const {
    return hbmBytesPerSecond * hbmEfficiency;
  }

  /// Parses a target description; errors name `source` and the field.
  static llvm::Expected<TargetModel> fromJSON(llvm::StringRef text,
                                              llvm::StringRef source);
  /// Loads a built-in target by name ("maia200") or a description file.
  static llvm::Expected<TargetModel> load(llvm::StringRef nameOrPath);
  /// The description, in the same schema fromJSON reads.
  llvm::json::Value toJSON() const;
};

} // namespace mixtile

#endif // MIXTILE_TARGET_TARGETMODEL_H
