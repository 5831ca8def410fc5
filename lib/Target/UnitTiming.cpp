//===- UnitTiming.cpp - how long the modeled units take -------------------===//

#include "mixtile/Target/UnitTiming.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mixtile;

static uint64_t ceilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

ComputeClass mixtile::computeClassOf(unsigned aBits, unsigned bBits) {
  unsigned widest = std::max(aBits, bBits);
  if (widest <= 4)
    return ComputeClass::FP4;
  if (widest <= 8)
    return ComputeClass::FP8;
  return ComputeClass::BF16;
}

int64_t mixtile::macsPerCycle(const TargetModel &target, ComputeClass cls) {
  return cls == ComputeClass::FP4   ? target.macsPerCycleFP4
         : cls == ComputeClass::FP8 ? target.macsPerCycleFP8
                                    : target.macsPerCycleBF16;
}

static uint64_t tsramBound(const TargetModel &target, uint64_t readBytes,
                           uint64_t writeBytes) {
  return std::max(ceilDiv(readBytes, target.tsramReadBytesPerCycle),
                  ceilDiv(writeBytes, target.tsramWriteBytesPerCycle));
}

uint64_t mixtile::ttuCycles(const TargetModel &target, ComputeClass cls,
                            uint64_t macs, uint64_t readBytes,
                            uint64_t writeBytes) {
  uint64_t compute = ceilDiv(macs, macsPerCycle(target, cls));
  return std::max(
      {compute, tsramBound(target, readBytes, writeBytes), uint64_t(1)});
}

uint64_t mixtile::tvpCycles(const TargetModel &target, uint64_t elements,
                            uint64_t readBytes, uint64_t writeBytes,
                            bool transcendental) {
  uint64_t rate =
      transcendental ? target.tvpTranscendentalsPerCycle : target.tvpLanesF32;
  return std::max({ceilDiv(elements, rate),
                   tsramBound(target, readBytes, writeBytes), uint64_t(1)});
}

double mixtile::hbmBytesPerCycle(const TargetModel &target) {
  return target.sustainedHbmBytesPerSecond() / target.clockHz;
}

double mixtile::clusterLinkBytesPerCycle(const TargetModel &target) {
  return target.clusterDmaBytesPerSecond / target.clockHz;
}

double mixtile::tileLinkBytesPerCycle(const TargetModel &target) {
  return double(target.csramToTsramBytesPerCycle);
}

/// `cycles` rounded up to a whole count, saturated at 2^64 - 1: a target
/// description may make a rate tiny or a clock huge (found by fuzzing:
/// 1e47 Hz), and converting a larger double to uint64_t is undefined.
static uint64_t wholeCycles(double cycles) {
  double whole = std::ceil(cycles);
  if (!(whole < 0x1p64))
    return std::numeric_limits<uint64_t>::max();
  return whole > 0 ? uint64_t(whole) : 0;
}

uint64_t mixtile::channelCycles(uint64_t bytes, double bytesPerCycle) {
  return wholeCycles(double(bytes) / bytesPerCycle);
}

uint64_t mixtile::hbmLatencyCycles(const TargetModel &target) {
  return wholeCycles(std::round(target.hbmLatencySeconds * target.clockHz));
}
