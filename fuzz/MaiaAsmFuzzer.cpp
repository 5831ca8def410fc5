//===- MaiaAsmFuzzer.cpp - fuzz the Maia assembly parser ------------------===//
//
// The input is a .masm file. A program parseAssembly accepts must survive
// the round trips and the simulation of MaiaChecks.h.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"
#include "MaiaChecks.h"

using namespace mixtile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::Expected<maia::Program> program =
      maia::parseAssembly(fuzz::asText(data, size), "input.masm");
  if (!program) {
    fuzz::ignore(program.takeError());
    return 0;
  }
  fuzz::checkAcceptedProgram(*program, "parseAssembly");
  return 0;
}
