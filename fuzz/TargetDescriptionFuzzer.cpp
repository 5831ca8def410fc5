//===- TargetDescriptionFuzzer.cpp - fuzz the target description parser ---===//
//
// The input is a target description (targets/*.json). One that parses must
// print (toJSON) to a description that parses to the same target, and must
// drive the compiler: a small shapes-only Llama with MXFP4 feed-forward
// layers is compiled for it by convert-xfmr-to-maia, and the program must
// pass verifyProgram for that target and run in the timing simulator.
// Targets too big to compile for quickly (many tiles, tiny TSRAM: millions
// of instructions) are only parsed.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mixtile/Dialect/Maia/IR/MaiaOps.h"
#include "mixtile/Dialect/Maia/IR/MaiaProgram.h"
#include "mixtile/Target/Maia/Simulator.h"
#include "mixtile/Target/TargetModel.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mixtile;

static constexpr int64_t kMaxCompiledTiles = 64;
static constexpr int64_t kMinCompiledTsramBytes = 4096;

static void checkRoundTrip(const TargetModel &target) {
  std::string printed;
  llvm::raw_string_ostream(printed) << target.toJSON();
  llvm::Expected<TargetModel> reparsed =
      TargetModel::fromJSON(printed, "printed");
  if (!reparsed)
    fuzz::fail("a printed target description does not parse: " +
                   llvm::toString(reparsed.takeError()),
               printed);
  if (reparsed->toJSON() != target.toJSON())
    fuzz::fail("a target description changes when printed and re-parsed",
               printed);
}

static void compileFor(const TargetModel &target, llvm::StringRef path) {
  std::unique_ptr<mlir::MLIRContext> ctx = fuzz::makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      fuzz::buildSmallModel(ctx.get(), /*layers=*/1);
  std::string pipeline =
      llvm::formatv("xfmr-set-precision{{weights=mxfp4 activations=mxfp8-e4m3 "
                    "match=feed_forward},xfmr-attach-target{{target={0}},"
                    "convert-xfmr-to-maia{{num-tokens=3 tiles=4}",
                    path);
  if (!fuzz::runPipelineAndVerify(*module, pipeline))
    return; // E.g. the weights do not fit the target's HBM.
  auto programs = module->getOps<maia::ProgramOp>();
  if (programs.empty())
    fuzz::fail("convert-xfmr-to-maia succeeded without a maia.program");
  maia::ExportOptions options;
  options.includeData = false;
  llvm::Expected<maia::Program> program =
      maia::exportProgram(*programs.begin(), options);
  if (!program)
    fuzz::fail("the compiled program does not export: " +
               llvm::toString(program.takeError()));
  if (llvm::Error error = maia::verifyProgram(*program, target))
    fuzz::fail("the compiler emitted a program its target rejects: " +
               llvm::toString(std::move(error)));
  maia::SimOptions timingOnly;
  timingOnly.functional = false;
  llvm::Expected<maia::SimResult> result =
      maia::simulate(*program, target, timingOnly);
  if (!result)
    fuzz::fail("the compiled program does not run: " +
               llvm::toString(result.takeError()));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text = fuzz::asText(data, size);
  llvm::Expected<TargetModel> target = TargetModel::fromJSON(text, "input");
  if (!target) {
    fuzz::ignore(target.takeError());
    return 0;
  }
  checkRoundTrip(*target);
  if (target->clusters > kMaxCompiledTiles ||
      target->tilesPerCluster > kMaxCompiledTiles ||
      target->numTiles() > kMaxCompiledTiles ||
      target->tsramBytesPerTile < kMinCompiledTsramBytes)
    return 0;
  static fuzz::ScratchFile file("json");
  file.write(text);
  compileFor(*target, file.path());
  return 0;
}
