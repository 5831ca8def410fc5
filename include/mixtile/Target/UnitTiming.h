//===- UnitTiming.h - how long the modeled units take ----------*- C++ -*-===//
//
// The durations the Maia simulator charges (docs/MaiaISA.md, "Timing
// model"), as functions of the target model: a tensor-unit product, a
// vector op, the rates of the DMA channels and the HBM latency. The
// simulator times every command with them and the cost model builds its
// kernel estimates from them, so the two agree on every unit by
// construction and differ only in how they schedule.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_UNITTIMING_H
#define MIXTILE_TARGET_UNITTIMING_H

#include "mixtile/Target/TargetModel.h"

#include <cstdint>

namespace mixtile {

/// The tensor unit's rate class of a product of operands of `aBits` and
/// `bBits` element bits: both at most 4 at FP4 (W4A4), one at most 8 at FP8
/// (W4A8, W8A8, FP6), wider at BF16.
ComputeClass computeClassOf(unsigned aBits, unsigned bBits);

/// MACs per cycle of one tile's tensor unit in `cls`.
int64_t macsPerCycle(const TargetModel &target, ComputeClass cls);

/// Cycles of one product of `macs` MACs that reads `readBytes` (A and B
/// codes and scales, C when accumulating) and writes `writeBytes` (C) of
/// TSRAM: the longer of the MACs at the class's rate and the TSRAM ports.
uint64_t ttuCycles(const TargetModel &target, ComputeClass cls, uint64_t macs,
                   uint64_t readBytes, uint64_t writeBytes);

/// Cycles of one vector op over `elements` elements that reads and writes
/// those TSRAM bytes; exp, rsqrt and silu are `transcendental`.
uint64_t tvpCycles(const TargetModel &target, uint64_t elements,
                   uint64_t readBytes, uint64_t writeBytes,
                   bool transcendental);

/// Bytes per cycle of the DMA channels: sustained HBM (shared by the
/// chip), a cluster's link to HBM, a tile's TSRAM port.
double hbmBytesPerCycle(const TargetModel &target);
double clusterLinkBytesPerCycle(const TargetModel &target);
double tileLinkBytesPerCycle(const TargetModel &target);

/// Cycles a channel of `bytesPerCycle` takes for `bytes`.
uint64_t channelCycles(uint64_t bytes, double bytesPerCycle);

/// The HBM latency added to every transfer that touches HBM, in cycles.
uint64_t hbmLatencyCycles(const TargetModel &target);

} // namespace mixtile

#endif // MIXTILE_TARGET_UNITTIMING_H
