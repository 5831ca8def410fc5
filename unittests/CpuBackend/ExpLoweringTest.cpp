//===- ExpLoweringTest.cpp - the exponential's lowering, executed ---------===//
//
// Compiles cpu::buildExp through mixtile-cpu-pipeline (where LLVM
// vectorizes it) and compares its results bit for bit with numerics::exp:
// on every 61st bit pattern of the 2^32 (NaNs, infinities and the values
// beyond the limits among them), and on every float around the limits,
// where the results overflow, turn subnormal and underflow to 0.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"
#include "mixtile/Numerics/Elementary.h"
#include "mixtile/Numerics/FloatFormats.h"
#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cmath>
#include <vector>

using namespace mlir;
using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

struct Memref1D {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
};
using ExpFn = void (*)(Memref1D *, Memref1D *);

/// `func.func @exp(%x: memref<?xf32>, %y: memref<?xf32>)`: y = exp(x).
void addExpKernel(OpBuilder &b) {
  Location loc = b.getUnknownLoc();
  auto type = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  auto func =
      func::FuncOp::create(b, loc, "exp", b.getFunctionType({type, type}, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *block = func.addEntryBlock();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(block);
  auto tensorType =
      RankedTensorType::get({ShapedType::kDynamic}, b.getF32Type());
  Value in = bufferization::ToTensorOp::create(
      b, loc, tensorType, block->getArgument(0), /*restrict=*/true);
  Value size = tensor::DimOp::create(b, loc, in, 0);
  Value init =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{ShapedType::kDynamic},
                              b.getF32Type(), ValueRange{size});
  AffineMap identity = b.getMultiDimIdentityMap(1);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{tensorType}, ValueRange{in}, ValueRange{init},
      ArrayRef<AffineMap>{identity, identity},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, cpu::buildExp(nb, nl, args[0]));
      });
  bufferization::MaterializeInDestinationOp::create(
      b, loc, TypeRange{}, generic.getResult(0), block->getArgument(1),
      /*restrict=*/true, /*writable=*/true);
  func::ReturnOp::create(b, loc);
}

class ExpLoweringTest : public ::testing::Test {
protected:
  void SetUp() override {
    DialectRegistry registry;
    cpu::registerCpuPipelineDialects(registry);
    ctx = std::make_unique<MLIRContext>(registry);
    ctx->loadAllAvailableDialects();
    OpBuilder b(ctx.get());
    OwningOpRef<ModuleOp> module(ModuleOp::create(b.getUnknownLoc()));
    b.setInsertionPointToEnd(module->getBody());
    addExpKernel(b);
    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("mixtile-exp-test", directory));
    cpu::CpuLibraryOptions options;
    options.outputDir = std::string(directory);
    options.name = "exp";
    llvm::Expected<std::string> library =
        cpu::compileKernelLibrary(*module, options);
    ASSERT_TRUE(bool(library)) << llvm::toString(library.takeError());
    handle = dlopen(library->c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    exp = reinterpret_cast<ExpFn>(dlsym(handle, "_mlir_ciface_exp"));
    ASSERT_NE(exp, nullptr);
  }
  void TearDown() override {
    if (handle)
      dlclose(handle);
    llvm::sys::fs::remove_directories(directory);
  }

  /// Runs the kernel on `inputs` and counts the results that differ from
  /// numerics::exp (reporting the first few).
  int64_t countMismatches(std::vector<float> &inputs) {
    std::vector<float> outputs(inputs.size());
    int64_t n = inputs.size();
    Memref1D in = {inputs.data(), inputs.data(), 0, {n}, {1}};
    Memref1D out = {outputs.data(), outputs.data(), 0, {n}, {1}};
    exp(&in, &out);
    int64_t mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      float expected = nx::exp(inputs[i]);
      bool same = nx::floatBits(outputs[i]) == nx::floatBits(expected) ||
                  (std::isnan(expected) && std::isnan(outputs[i]));
      if (!same && ++mismatches <= 10)
        ADD_FAILURE() << "exp of bits 0x" << std::hex
                      << nx::floatBits(inputs[i]) << ": 0x"
                      << nx::floatBits(outputs[i]) << ", not 0x"
                      << nx::floatBits(expected);
    }
    return mismatches;
  }

  std::unique_ptr<MLIRContext> ctx;
  llvm::SmallString<128> directory;
  void *handle = nullptr;
  ExpFn exp = nullptr;
};

TEST_F(ExpLoweringTest, MatchesNumericsOnASampleOfEveryBitPattern) {
  std::vector<float> inputs;
  for (uint64_t bits = 0; bits <= UINT32_MAX; bits += 61)
    inputs.push_back(nx::floatFromBits(static_cast<uint32_t>(bits)));
  inputs.push_back(std::numeric_limits<float>::infinity());
  inputs.push_back(-std::numeric_limits<float>::infinity());
  EXPECT_EQ(countMismatches(inputs), 0);
}

TEST_F(ExpLoweringTest, MatchesNumericsAroundTheLimits) {
  std::vector<float> inputs;
  // Subnormal results and the underflow to 0, then the overflow.
  for (float x = -105.0f; x <= -87.0f; x = std::nextafter(x, 0.0f))
    inputs.push_back(x);
  for (float x = 88.0f; x <= 89.0f; x = std::nextafter(x, 100.0f))
    inputs.push_back(x);
  EXPECT_EQ(countMismatches(inputs), 0);
}

} // namespace
