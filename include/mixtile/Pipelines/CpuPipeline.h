//===- CpuPipeline.h - xfmr to the LLVM dialect for the CPU -----*- C++ -*-===//
//
// mixtile-cpu-pipeline: convert-xfmr-to-linalg, one-shot bufferization,
// linalg to loops and the conversions to the LLVM dialect, with every
// function tagged for the target CPU (the host's by default). Nothing on
// the way reorders floating-point arithmetic: reductions become loops in
// the evaluator's order and no pass adds fast-math flags, so the compiled
// code keeps the evaluator's results bit for bit (docs/CpuBackend.md).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PIPELINES_CPUPIPELINE_H
#define MIXTILE_PIPELINES_CPUPIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mixtile::cpu {

struct CpuPipelineOptions
    : public mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> convertXfmr{
      *this, "convert-xfmr",
      llvm::cl::desc("Start with convert-xfmr-to-linalg (false: the input "
                     "is already linalg on tensors)"),
      llvm::cl::init(true)};
  Option<std::string> cpu{
      *this, "cpu",
      llvm::cl::desc("LLVM CPU name the functions are compiled for; "
                     "'native' is the host CPU"),
      llvm::cl::init("native")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("LLVM target features (e.g. '+avx2,+fma'); by default "
                     "the host's with cpu=native, none otherwise"),
      llvm::cl::init("")};
};

/// The target the functions are tagged with: `options.cpu` and
/// `options.features` with 'native' resolved to the host CPU.
struct CpuTarget {
  std::string triple, cpu, features;
};
CpuTarget resolveCpuTarget(llvm::StringRef cpu, llvm::StringRef features);

/// Adds the passes of mixtile-cpu-pipeline to `pm` (on builtin.module).
void buildCpuPipeline(mlir::OpPassManager &pm,
                      const CpuPipelineOptions &options);

/// Adds the dialects the pipeline produces and the external interface
/// models bufferization needs to `registry`.
void registerCpuPipelineDialects(mlir::DialectRegistry &registry);

/// Registers mixtile-cpu-pipeline and the passes only it uses.
void registerCpuPipeline();

} // namespace mixtile::cpu

#endif // MIXTILE_PIPELINES_CPUPIPELINE_H
