//===- CostModel.cpp - analytical cost of layers on the target ------------===//
//
// Roofline estimates from the target model's rates.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/CostModel.h"

#include <algorithm>

using namespace mixtile;

ComputeClass ProductFormats::computeClass() const {
  unsigned widest = std::max(weights.elementBits, activations.elementBits);
  if (widest <= 4)
    return ComputeClass::FP4;
  if (widest <= 8)
    return ComputeClass::FP8;
  return ComputeClass::BF16;
}

LayerCost mixtile::estimateMatmul(const TargetModel &target, int64_t m,
                                  int64_t n, int64_t k,
                                  const ProductFormats &formats) {
  LayerCost cost;
  cost.macs = double(m) * n * k;
  cost.bytes = (double(n) * k * formats.weights.bitsPerElement() +
                double(m) * k * formats.activations.bitsPerElement() +
                double(m) * n * formats.outputBits) /
               8;
  cost.computeSeconds =
      cost.macs / target.peakMacsPerSecond(formats.computeClass());
  cost.memorySeconds = cost.bytes / target.sustainedHbmBytesPerSecond();
  cost.seconds = std::max(cost.computeSeconds, cost.memorySeconds);
  return cost;
}
