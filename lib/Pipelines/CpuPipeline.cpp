//===- CpuPipeline.cpp - xfmr to the LLVM dialect for the CPU -------------===//
//
// The pipeline is upstream passes in a fixed order plus two small passes of
// our own: one keeps the library free of MLIR's runtime (memref.copy of
// strided memrefs would call memrefCopy from the C runner utilities), the
// other tags every function with the target CPU.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Conversion/Passes.h"
#include "mixtile/Pipelines/Outlining.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mixtile;
using namespace mixtile::cpu;

namespace {

/// Rewrites memref.copy as linalg.copy, which lowers to loops: the
/// LLVM lowering of a copy between strided memrefs calls `memrefCopy` from
/// MLIR's C runner utilities, which the compiled library does not link.
class CopiesToLinalgPass
    : public PassWrapper<CopiesToLinalgPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CopiesToLinalgPass)

  StringRef getArgument() const final { return "mixtile-cpu-copies-to-linalg"; }
  StringRef getDescription() const final {
    return "Rewrite memref.copy as linalg.copy (no runtime library calls)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect>();
  }

  void runOnOperation() override {
    getOperation().walk([](memref::CopyOp copy) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), ValueRange{copy.getSource()},
                             ValueRange{copy.getTarget()});
      copy.erase();
    });
  }
};

/// Sets the module's target triple and every defined llvm.func's target
/// CPU and features, which the translation to LLVM IR turns into the
/// "target-cpu" / "target-features" attributes the code generator obeys.
class SetCpuTargetPass
    : public PassWrapper<SetCpuTargetPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SetCpuTargetPass)

  SetCpuTargetPass() = default;
  SetCpuTargetPass(const SetCpuTargetPass &other) : PassWrapper(other) {}
  SetCpuTargetPass(StringRef cpuName, StringRef featureList) {
    cpu = cpuName.str();
    features = featureList.str();
  }

  StringRef getArgument() const final { return "mixtile-set-cpu-target"; }
  StringRef getDescription() const final {
    return "Tag the module and its LLVM functions with a target CPU";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    CpuTarget target = resolveCpuTarget(cpu, features);
    module->setAttr(LLVM::LLVMDialect::getTargetTripleAttrName(),
                    StringAttr::get(ctx, target.triple));
    auto featureAttr = LLVM::TargetFeaturesAttr::get(ctx, target.features);
    module.walk([&](LLVM::LLVMFuncOp func) {
      if (func.isExternal())
        return;
      if (!target.cpu.empty())
        func.setTargetCpuAttr(StringAttr::get(ctx, target.cpu));
      if (!target.features.empty())
        func.setTargetFeaturesAttr(featureAttr);
    });
  }

private:
  Option<std::string> cpu{*this, "cpu",
                          llvm::cl::desc("LLVM CPU name ('native': the host)"),
                          llvm::cl::init("native")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("LLVM target features (default: the host's with "
                     "cpu=native)"),
      llvm::cl::init("")};
};

/// Fast numerics: every LLVM floating-point op may be reassociated and
/// contracted (`reassoc contract`, not `nnan`/`ninf`: NaN and Inf still
/// propagate), which lets the code generator vectorize the remaining
/// reductions (norms, attention, softmax) and fuse multiplies and adds.
class FastMathPass : public PassWrapper<FastMathPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FastMathPass)

  StringRef getArgument() const final { return "mixtile-cpu-fast-math"; }
  StringRef getDescription() const final {
    return "Allow reassociation and contraction of every LLVM "
           "floating-point op (the fast numerics mode)";
  }

  void runOnOperation() override {
    auto flags = LLVM::FastmathFlagsAttr::get(
        &getContext(),
        LLVM::FastmathFlags::reassoc | LLVM::FastmathFlags::contract);
    getOperation().walk([&](LLVM::FastmathFlagsInterface op) {
      // Calls carry the interface too; only arithmetic is meant.
      if (isa<LLVM::CallOp>(op) ||
          llvm::none_of(op->getResultTypes(), [](Type type) {
            return isa<FloatType>(getElementTypeOrSelf(type));
          }))
        return;
      op->setAttr(op.getFastmathAttrName(), flags);
    });
  }
};

} // namespace

CpuTarget mixtile::cpu::resolveCpuTarget(StringRef cpu, StringRef features) {
  CpuTarget target;
  target.triple = llvm::sys::getProcessTriple();
  if (cpu != "native") {
    target.cpu = cpu.str();
    target.features = features.str();
    return target;
  }
  target.cpu = llvm::sys::getHostCPUName().str();
  if (!features.empty()) {
    target.features = features.str();
    return target;
  }
  // Sorted, so that the same host always gives the same IR.
  SmallVector<std::string> list;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    list.push_back((feature.second ? "+" : "-") + feature.first().str());
  llvm::sort(list);
  target.features = llvm::join(list, ",");
  return target;
}

llvm::StringRef mixtile::cpu::stringifyCpuNumerics(CpuNumerics numerics) {
  switch (numerics) {
  case CpuNumerics::Exact:
    return "exact";
  case CpuNumerics::Fast:
    return "fast";
  case CpuNumerics::FastProducts:
    return "fast-products";
  }
  llvm_unreachable("unknown numerics mode");
}

/// Whether `cpu` (an LLVM CPU name) issues vdpbf16ps as often as an FMA,
/// so that the dot's two products per lane double the FMAs' rate: AMD's
/// cores from Zen 4 (Zen 5 measured here: the dot peak was twice the FMA
/// peak). On the Intel Xeon measured here (AMX, AVX512-BF16; LLVM names
/// the host rocketlake) the dot peak was half the FMA peak: two FMAs per
/// pair multiplied twice as fast.
static bool issuesBF16DotAtFMARate(StringRef cpu) {
  unsigned generation = 0;
  return cpu.consume_front("znver") && !cpu.getAsInteger(10, generation) &&
         generation >= 4;
}

void mixtile::cpu::buildCpuPipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  if (options.convertXfmr)
    pm.addPass(conversion::createConvertXfmrToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Tensors to buffers. @mixtile_forward takes buffers already; its caches
  // are written in place.
  bufferization::OneShotBufferizePassOptions bufferization;
  bufferization.bufferAlignment = 64;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(std::make_unique<CopiesToLinalgPass>());

  // Linears and matmuls become register-tiled kernels vectorized across
  // their independent output columns (each reduction keeps its order).
  if (options.vectorize) {
    VectorizeRowsOptions vectorize;
    vectorize.threads = options.threads;
    vectorize.scaleBlockSums = options.numerics == CpuNumerics::FastProducts;
    // vpermps and vdpbf16ps where the features name avx512f and avx512bf16
    // (the host's do where it has them; a named cpu without features gets
    // neither).
    CpuTarget target = resolveCpuTarget(options.cpu, options.features);
    auto hasFeature = [&](llvm::StringRef feature) {
      return llvm::is_contained(llvm::split(target.features, ','), feature);
    };
    vectorize.permuteTables = hasFeature("+avx512f");
    vectorize.bf16Dot = options.numerics != CpuNumerics::Exact &&
                        hasFeature("+avx512bf16") &&
                        (options.bf16Dot == CpuBF16Dot::Always ||
                         (options.bf16Dot == CpuBF16Dot::Auto &&
                          issuesBF16DotAtFMARate(target.cpu)));
    pm.addPass(createVectorizeRowsPass(vectorize));
  }
  // Every other linalg op goes into a function shared by the ops like it
  // (the same op in every layer), which the code generator compiles once.
  pm.addPass(createOutlineLinalgPass(options.threads));
  // Every other linalg op becomes a loop nest in iteration-space order, so
  // each reduction runs in the order the lowering chose.
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());

  // To the LLVM dialect. Math ops without an LLVM intrinsic (erf) become
  // libm calls, the same functions the evaluator calls.
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createApplyNoAliasPointersPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  if (options.numerics != CpuNumerics::Exact)
    pm.addPass(std::make_unique<FastMathPass>());
  pm.addPass(std::make_unique<SetCpuTargetPass>(options.cpu.getValue(),
                                                options.features.getValue()));
}

void mixtile::cpu::registerCpuPipelineDialects(DialectRegistry &registry) {
  registry
      .insert<arith::ArithDialect, bufferization::BufferizationDialect,
              cf::ControlFlowDialect, func::FuncDialect, linalg::LinalgDialect,
              LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
              scf::SCFDialect, tensor::TensorDialect, vector::VectorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  arith::registerBufferDeallocationOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  cf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  memref::registerAllocationOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
}

void mixtile::cpu::registerCpuPipeline() {
  PassRegistration<CopiesToLinalgPass>();
  PassRegistration<SetCpuTargetPass>();
  PassRegistration<FastMathPass>();
  registerVectorizeRowsPass();
  registerOutlineLinalgPass();
  PassPipelineRegistration<CpuPipelineOptions>(
      "mixtile-cpu-pipeline",
      "Compile xfmr IR for the CPU down to the LLVM dialect (bit-exact with "
      "the reference evaluator)",
      buildCpuPipeline);
}
