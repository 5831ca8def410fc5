//===- CostModel.h - analytical cost of layers on the target ----*- C++ -*-===//
//
// A roofline model over the TargetModel: a matrix product takes the longer of
// its tensor-unit time (MACs at the rate of its operand formats) and its HBM
// time (bytes of weights, activations and outputs at sustained bandwidth).
// The precision search ranks plans with it; the simulator refines it.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_COSTMODEL_H
#define MIXTILE_TARGET_COSTMODEL_H

#include "mixtile/Target/TargetModel.h"

namespace mixtile {

/// Storage of one operand: element bits plus its share of scale bits.
struct OperandStorage {
  unsigned elementBits = 16;
  /// Bits of one scale and elements per scale (0: one scale per tensor,
  /// whose cost is negligible).
  unsigned scaleBits = 0;
  int64_t block = 0;

  double bitsPerElement() const {
    return block > 0 ? elementBits + double(scaleBits) / block : elementBits;
  }
};

/// How one matrix product is stored and computed.
struct ProductFormats {
  OperandStorage weights, activations;
  /// Output element bits (results are written at 16 bits by default).
  unsigned outputBits = 16;

  /// The tensor unit's rate: W4A4 at FP4, an 8-bit operand at FP8, 16 bits
  /// and wider at BF16.
  ComputeClass computeClass() const;
};

struct LayerCost {
  double seconds = 0;
  double computeSeconds = 0, memorySeconds = 0;
  double macs = 0, bytes = 0;
  bool computeBound() const { return computeSeconds >= memorySeconds; }
};

/// Roofline cost of y[m, n] = x[m, k] * w[n, k]^T on `target`.
LayerCost estimateMatmul(const TargetModel &target, int64_t m, int64_t n,
                         int64_t k, const ProductFormats &formats);

} // namespace mixtile

#endif // MIXTILE_TARGET_COSTMODEL_H
