//===- MaiaBench.cpp - simulated efficiency of Maia kernels ---------------===//
//
// Builds the lowering's matrix-product kernel for square GEMMs at MXFP4,
// MXFP8 and BF16, runs it in the simulator's timing mode, and prints the
// simulated time next to the tensor unit's roofline for the same MACs
// (peaks from the target description), plus the simulator's own speed.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Target/Maia/Simulator.h"

#include <chrono>
#include <cstdio>

using namespace mixtile;
using numerics::FloatFormat;

static double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int main(int argc, char **argv) {
  llvm::Expected<TargetModel> target =
      TargetModel::load(argc > 1 ? argv[1] : "maia200");
  if (!target) {
    std::fprintf(stderr, "%s\n", llvm::toString(target.takeError()).c_str());
    return 1;
  }
  struct Format {
    const char *name;
    MaiaOperandFormat operand;
    ComputeClass cls;
  };
  Format formats[] = {{"mxfp4",
                       {FloatFormat::F4E2M1FN, maia::ScaleMode::MX, 32},
                       ComputeClass::FP4},
                      {"mxfp8",
                       {FloatFormat::F8E4M3FN, maia::ScaleMode::MX, 32},
                       ComputeClass::FP8},
                      {"bf16",
                       {FloatFormat::BF16, maia::ScaleMode::None, 0},
                       ComputeClass::BF16}};
  std::printf("%-6s %6s %14s %14s %10s %16s\n", "format", "size",
              "simulated (us)", "roofline (us)", "efficiency", "sim cycles/s");
  for (const Format &f : formats)
    for (int64_t size : {1024, 2048, 4096, 8192}) {
      llvm::Expected<maia::Program> program =
          buildMatmulProgram(*target, size, size, size, f.operand, f.operand);
      if (!program) {
        std::fprintf(stderr, "%s\n",
                     llvm::toString(program.takeError()).c_str());
        return 1;
      }
      maia::SimOptions options;
      options.functional = false;
      double start = now();
      llvm::Expected<maia::SimResult> result =
          maia::simulate(*program, *target, options);
      double wall = now() - start;
      if (!result) {
        std::fprintf(stderr, "%s\n",
                     llvm::toString(result.takeError()).c_str());
        return 1;
      }
      double macs = double(size) * size * size;
      double roofline = macs / target->peakMacsPerSecond(f.cls);
      std::printf("%-6s %6lld %14.2f %14.2f %9.1f%% %16.3g\n", f.name,
                  (long long)size, result->report.seconds * 1e6, roofline * 1e6,
                  100 * roofline / result->report.seconds,
                  result->report.cycles / wall);
    }
  return 0;
}
