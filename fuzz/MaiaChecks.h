//===- MaiaChecks.h - invariants of decoded Maia programs -------*- C++ -*-===//
//
// What must hold for any program the assembly parser or the binary decoder
// accepts; shared by the two Maia fuzz targets.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_FUZZ_MAIACHECKS_H
#define MIXTILE_FUZZ_MAIACHECKS_H

#include "mixtile/Target/Maia/ISA.h"

namespace mixtile::fuzz {

/// Checks a program `reader` accepted: it passes verifyStructure; its
/// assembly re-parses to the same assembly; its binary decodes to the same
/// assembly; it imports into the maia dialect, and when it also passes
/// verifyProgram for maia200 the IR verifies and exports back to the same
/// binary, and small programs simulate (functionally) without a crash.
void checkAcceptedProgram(const maia::Program &program, llvm::StringRef reader);

} // namespace mixtile::fuzz

#endif // MIXTILE_FUZZ_MAIACHECKS_H
