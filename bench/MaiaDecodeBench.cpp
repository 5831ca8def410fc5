//===- MaiaDecodeBench.cpp - simulated decode step vs the HBM bound -------===//
//
// Compiles one batch-1 decode step of a shapes-only Llama-3-8B (or any
// preset) for the Maia target with every linear layer in one format, runs it
// in the simulator's timing mode, and prints the simulated step time next
// to the HBM bound: the bytes the step must read (weights in their format,
// the KV cache rows attended over) at the target's sustained bandwidth.
//
//   mixtile-bench-maia-decode [preset] [position] [trace-dir]
//
// (defaults llama3-8b, 1024). With a trace directory, each format's
// program (FORMAT.masm) and its Chrome trace (FORMAT.trace.json) are
// written there, to see where the step waits.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "mixtile/Dialect/Xfmr/IR/PrecisionSchemes.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Import/Synthetic.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/InitAll.h"
#include "mixtile/Target/Maia/Simulator.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <string>

using namespace mixtile;

static double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Bytes one decode step reads from HBM: every weight once, in its
/// record's format, and the cache rows [0, keys) of every attention.
static double boundBytes(mlir::ModuleOp module, int64_t keys) {
  double bytes = 0;
  module.walk([&](mlir::Operation *op) {
    if (auto p = llvm::dyn_cast<xfmr::PrecisionOpInterface>(op))
      if (mlir::Value w = p.getWeightOperand()) {
        auto type = llvm::cast<mlir::RankedTensorType>(w.getType());
        // An embedding reads one row.
        double elements = llvm::isa<xfmr::EmbeddingOp>(op)
                              ? type.getDimSize(1)
                              : type.getNumElements();
        double bits = p.getPrecisionRecord()
                          ? xfmr::weightBitsPerElement(p.getPrecisionRecord())
                          : 32;
        bytes += elements * bits / 8;
      }
    if (auto a = llvm::dyn_cast<xfmr::AttentionOp>(op))
      if (a.getKeyCache()) {
        auto cache =
            llvm::cast<mlir::RankedTensorType>(a.getKeyCache().getType());
        bytes += 2.0 * keys * cache.getDimSize(1) * 4;
      }
  });
  return bytes;
}

/// Phases of the program: the barriers of its first stream.
static size_t countBarriers(const maia::Program &program) {
  size_t n = 0;
  for (const maia::Instruction &inst : program.tiles.front().instructions)
    n += std::holds_alternative<maia::BarrierInst>(inst);
  return n;
}

/// Writes `program` and the trace of `result` to DIR/FORMAT.masm and
/// DIR/FORMAT.trace.json.
static bool writeTraces(const std::string &dir, const char *format,
                        const maia::Program &program,
                        const maia::SimResult &result,
                        const TargetModel &target) {
  std::error_code ec;
  llvm::raw_fd_ostream masm(dir + "/" + format + ".masm", ec);
  if (!ec) {
    maia::printAssembly(program, masm);
    llvm::raw_fd_ostream trace(dir + "/" + format + ".trace.json", ec);
    if (!ec)
      trace << maia::toChromeTrace(result, target);
  }
  if (ec)
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), ec.message().c_str());
  return !ec;
}

int main(int argc, char **argv) {
  std::string preset = argc > 1 ? argv[1] : "llama3-8b";
  int64_t position = argc > 2 ? std::stoll(argv[2]) : 1024;
  std::string traceDir = argc > 3 ? argv[3] : "";
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  llvm::Expected<TargetModel> target = TargetModel::load("maia200");
  if (!target) {
    std::fprintf(stderr, "%s\n", llvm::toString(target.takeError()).c_str());
    return 1;
  }
  std::printf("%s decode step at position %lld on %s (batch 1)\n",
              preset.c_str(), (long long)position, target->name.c_str());
  std::printf("%-8s %14s %14s %10s %9s %12s %14s\n", "weights",
              "simulated (us)", "HBM bound (us)", "of bound", "HBM busy",
              "tokens/s", "sim cycles/s");
  for (const char *format : {"mxfp4", "mxfp8-e4m3", "bf16"}) {
    auto request = parseSynthesisRequest(
        "{\"preset\": \"" + preset + "\", \"weights\": \"none\"}", "bench");
    if (!request) {
      std::fprintf(stderr, "%s\n", llvm::toString(request.takeError()).c_str());
      return 1;
    }
    mlir::OwningOpRef<mlir::ModuleOp> module =
        buildSyntheticModel(&ctx, *request);
    // Weight-only formats: activations stay at bf16 (the TTU then runs at
    // the BF16 rate; a batch-1 step is bandwidth-bound either way).
    module->walk([&](xfmr::PrecisionOpInterface op) {
      if (!op.getWeightOperand())
        return;
      auto record = xfmr::buildPrecisionRecord(&ctx, format, "bf16", "",
                                               [&] { return op->emitError(); });
      if (mlir::succeeded(record))
        op.setPrecisionRecord(*record);
    });
    MaiaLoweringOptions options;
    options.numTokens = 1;
    options.start = position;
    options.withWeights = false;
    WeightStore store;
    double start = now();
    llvm::Expected<MaiaLoweredProgram> lowered =
        lowerToMaia(*module, store, *target, options);
    if (!lowered) {
      std::fprintf(stderr, "%s\n", llvm::toString(lowered.takeError()).c_str());
      return 1;
    }
    double compiled = now();
    maia::SimOptions sim;
    sim.functional = false;
    sim.trace = !traceDir.empty();
    llvm::Expected<maia::SimResult> result =
        maia::simulate(lowered->program, *target, sim);
    if (!result) {
      std::fprintf(stderr, "%s\n", llvm::toString(result.takeError()).c_str());
      return 1;
    }
    double simulated = now() - compiled;
    if (!traceDir.empty() &&
        !writeTraces(traceDir, format, lowered->program, *result, *target))
      return 1;
    double bound = boundBytes(*module, position + 1) /
                   target->sustainedHbmBytesPerSecond();
    double seconds = result->report.seconds;
    const maia::SimReport &report = result->report;
    double hbmBusy = report.getUtilization(
        report.kinds[size_t(maia::UnitKind::HBM)].busyCycles);
    std::printf("%-8s %14.1f %14.1f %9.1f%% %8.1f%% %12.1f %14.3g   "
                "(compile %.2f s, %zu phases)\n",
                format, seconds * 1e6, bound * 1e6, 100 * bound / seconds,
                100 * hbmBusy, 1 / seconds, report.cycles / simulated,
                compiled - start, countBarriers(lowered->program));
  }
  return 0;
}
