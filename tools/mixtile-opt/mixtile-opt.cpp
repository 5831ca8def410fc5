//===- mixtile-opt.cpp - Mixtile's optimizer driver -----------------------===//
//
// MlirOptMain with the Mixtile dialects and passes plus the upstream dialects
// and generic passes our pipelines use.
//
//===----------------------------------------------------------------------===//

#include "mixtile/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mixtile::registerAllDialects(registry);
  mixtile::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Mixtile optimizer driver\n", registry));
}
