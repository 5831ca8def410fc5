//===- MLIRVerifyFuzzer.cpp - fuzz parsing and verifying Mixtile IR -------===//
//
// The input is MLIR text (xfmr, maia and the upstream dialects they mix
// with). What parses and verifies must print, in the custom and in the
// generic form, to text that parses, verifies and prints the same again:
// the custom parsers, printers and verifiers of our dialects agree.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static std::string print(ModuleOp module, bool generic) {
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  if (generic)
    flags.printGenericOpForm();
  module->print(os, flags);
  return text;
}

static void checkRoundTrip(ModuleOp module, bool generic) {
  std::string printed = print(module, generic);
  // A fresh context: one context renames a second dense_resource blob of
  // the same name ("x" -> "x_1"), which is not a round-trip problem.
  std::unique_ptr<MLIRContext> ctx = mixtile::fuzz::makeContext();
  ParserConfig config(ctx.get());
  OwningOpRef<ModuleOp> reparsed = parseSourceString<ModuleOp>(printed, config);
  const char *form = generic ? "generic" : "custom";
  if (!reparsed)
    mixtile::fuzz::fail(std::string("printed IR (") + form +
                            " form) does not parse or verify",
                        printed);
  if (print(*reparsed, generic) != printed)
    mixtile::fuzz::fail(std::string("IR changes when printed (") + form +
                            " form) and parsed again",
                        printed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<MLIRContext> ctx = mixtile::fuzz::makeContext();
  ParserConfig config(ctx.get());
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(mixtile::fuzz::asMLIRSource(data, size),
                                  config);
  if (!module)
    return 0;
  checkRoundTrip(*module, /*generic=*/false);
  checkRoundTrip(*module, /*generic=*/true);
  return 0;
}
