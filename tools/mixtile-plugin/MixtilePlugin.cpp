//===- MixtilePlugin.cpp - Mixtile as a plugin of upstream mlir-opt -------===//
//
// Lets an unmodified mlir-opt of the same LLVM release work on Mixtile IR:
//
//   mlir-opt --load-dialect-plugin=MixtilePlugin.so \
//            --load-pass-plugin=MixtilePlugin.so ...
//
// The plugin links libMLIR.so, never a static copy of MLIR, so the dialects
// and passes it registers land in the host's registries.
//
//===----------------------------------------------------------------------===//

#include "mixtile/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

/// Registers the Mixtile passes once per process. The host already has the
/// upstream passes, so only ours are added. Both entry points call this: the
/// dialect plugin alone must make our passes usable too, and loading the
/// library as both kinds of plugin must not register a pass twice (a fatal
/// "pass registry conflict" in assertion-enabled builds of MLIR).
static void registerPassesOnce() {
  static const bool registered = [] {
    mixtile::registerMixtilePasses();
    return true;
  }();
  (void)registered;
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "Mixtile", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            mixtile::registerAllDialects(*registry);
            registerPassesOnce();
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "MixtilePasses", LLVM_VERSION_STRING,
          registerPassesOnce};
}
