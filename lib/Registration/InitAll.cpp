//===- InitAll.cpp - register every Mixtile dialect and pass --------------===//
//
// The registration lists behind mixtile/InitAll.h.
//
//===----------------------------------------------------------------------===//

#include "mixtile/InitAll.h"

#include "mixtile/Conversion/Passes.h"
#include "mixtile/Dialect/Maia/IR/MaiaOps.h"
#include "mixtile/Dialect/Xfmr/Extensions/LinalgPrecision.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/Transforms/Passes.h"
#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Precision/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void mixtile::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<maia::MaiaDialect, xfmr::XfmrDialect,
                  mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
  mlir::func::registerInlinerExtension(registry);
  xfmr::registerLinalgPrecisionModels(registry);
  cpu::registerCpuPipelineDialects(registry);
}

void mixtile::registerMixtilePasses() {
  xfmr::registerXfmrPasses();
  precision::registerPrecisionPasses();
  conversion::registerConversionPasses();
  cpu::registerCpuPipeline();
}

void mixtile::registerAllPasses() {
  registerMixtilePasses();
  // Generic upstream passes users combine with ours.
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerInlinerPass();
  mlir::registerSymbolDCEPass();
  mlir::registerSCCPPass();
  mlir::registerLoopInvariantCodeMotionPass();
  mlir::registerStripDebugInfoPass();
  mlir::registerPrintOpStatsPass();
}
