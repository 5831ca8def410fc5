//===- InitAll.h - register every Mixtile dialect and pass ------*- C++ -*-===//
//
// One place that lists what Mixtile's tools (and plugins) register.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_INITALL_H
#define MIXTILE_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mixtile {

/// Adds the Mixtile dialects and the upstream dialects our IR mixes with.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers the Mixtile passes only: what a host that already has the
/// upstream passes (mlir-opt loading our plugin) adds.
void registerMixtilePasses();

/// Registers the Mixtile passes and the chosen upstream generic passes.
void registerAllPasses();

} // namespace mixtile

#endif // MIXTILE_INITALL_H
