//===- Report.h - the compile report as one HTML page -----------*- C++ -*-===//
//
// A self-contained HTML page (inline CSS and SVG, no scripts, no external
// resources) that shows what a compile chose and what it costs: the
// per-layer precision map, the measured sensitivity of every layer group to
// every candidate format, the Pareto frontier of modeled latency against
// held-out error with the uniform plans, a roofline of the simulated
// kernels, and the weight footprint by format.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DRIVER_REPORT_H
#define MIXTILE_DRIVER_REPORT_H

#include "mixtile/Target/TargetModel.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mixtile {

/// One simulated kernel of the roofline chart.
struct RooflineKernel {
  /// The layer group and the product's shape ("wq m=32 n=64 k=64").
  std::string label;
  /// The candidate format the plan gave it.
  std::string format;
  ComputeClass computeClass = ComputeClass::BF16;
  /// 2 * m * n * k, the bytes the simulator moved across HBM, and the
  /// simulated time.
  double flops = 0, hbmBytes = 0, seconds = 0;
};

struct ReportInputs {
  std::string title;
  /// The plan xfmr-assign-precision wrote (plan=), its sweep (sweep-out=,
  /// an array; may be null) and its sensitivity table (sensitivities-out=;
  /// may be null).
  const llvm::json::Object *plan = nullptr;
  const llvm::json::Array *sweep = nullptr;
  const llvm::json::Object *sensitivities = nullptr;
  std::vector<RooflineKernel> kernels;
  TargetModel target;
  /// The compile summary (compileModel's result), shown as a table.
  const llvm::json::Object *summary = nullptr;
};

/// Writes the report page. Sections whose inputs are missing say so.
void writeReport(const ReportInputs &inputs, llvm::raw_ostream &os);

} // namespace mixtile

#endif // MIXTILE_DRIVER_REPORT_H
