//===- DecodeLoweringTest.cpp - the weight decoding, executed -------------===//
//
// Compiles buildDecodeCode (the arithmetic decoding of weight codes and
// block scales the linear kernels use) through mixtile-cpu-pipeline for
// every format of at most 8 bits, runs it on every byte, and compares each
// result bit for bit with numerics::decode of the code's low bits; each
// decoding also without its fix-ups, on every byte that needs none
// (cpu::decodingNeedsFixUp).
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/XfmrToLinalg.h"
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
#include <cstring>
#include <string>

using namespace mlir;
using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

constexpr nx::FloatFormat kDecodedFormats[] = {
    nx::FloatFormat::F8E4M3FN, nx::FloatFormat::F8E5M2,
    nx::FloatFormat::F6E2M3FN, nx::FloatFormat::F6E3M2FN,
    nx::FloatFormat::F4E2M1FN, nx::FloatFormat::F8E8M0FNU};

template <typename T> struct Memref1D {
  T *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
};
using DecodeFn = void (*)(Memref1D<uint8_t> *, Memref1D<float> *);

std::string decodeName(nx::FloatFormat format, bool fixUps = true) {
  return "decode_" + std::string(nx::getFormatInfo(format).name) +
         (fixUps ? "" : "_without_fix_ups");
}

/// `func.func @name(%codes: memref<256xi8>, %values: memref<256xf32>)`.
void addDecodeKernel(OpBuilder &b, nx::FloatFormat format, bool fixUps = true) {
  Location loc = b.getUnknownLoc();
  OpBuilder::InsertionGuard guard(b);
  auto codes = MemRefType::get({256}, b.getI8Type());
  auto values = MemRefType::get({256}, b.getF32Type());
  auto func = func::FuncOp::create(b, loc, decodeName(format, fixUps),
                                   b.getFunctionType({codes, values}, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *block = func.addEntryBlock();
  b.setInsertionPointToStart(block);
  Value in = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get({256}, b.getI8Type()),
      block->getArgument(0), /*restrict=*/true);
  Value init =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{256}, b.getF32Type());
  AffineMap identity = b.getMultiDimIdentityMap(1);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{in}, ValueRange{init},
      ArrayRef<AffineMap>{identity, identity},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(
            nb, nl, cpu::buildDecodeCode(nb, nl, args[0], format, fixUps));
      });
  bufferization::MaterializeInDestinationOp::create(
      b, loc, TypeRange{}, generic.getResult(0), block->getArgument(1),
      /*restrict=*/true, /*writable=*/true);
  func::ReturnOp::create(b, loc);
}

TEST(DecodeLoweringTest, EveryByteOfEveryFormat) {
  DialectRegistry registry;
  cpu::registerCpuPipelineDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  OpBuilder b(&ctx);
  OwningOpRef<ModuleOp> module(ModuleOp::create(b.getUnknownLoc()));
  b.setInsertionPointToEnd(module->getBody());
  for (nx::FloatFormat format : kDecodedFormats)
    addDecodeKernel(b, format);
  // As kernels decode weights whose pack says no code needs a fix-up.
  for (nx::FloatFormat format : kDecodedFormats)
    addDecodeKernel(b, format, /*fixUps=*/false);

  llvm::SmallString<128> directory;
  ASSERT_FALSE(
      llvm::sys::fs::createUniqueDirectory("mixtile-decode-test", directory));
  cpu::CpuLibraryOptions options;
  options.outputDir = std::string(directory);
  options.name = "decode";
  llvm::Expected<std::string> library =
      cpu::compileKernelLibrary(*module, options);
  ASSERT_TRUE(bool(library)) << llvm::toString(library.takeError());
  void *handle = dlopen(library->c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();

  uint8_t codes[256];
  for (unsigned i = 0; i < 256; ++i)
    codes[i] = static_cast<uint8_t>(i);
  // Every byte, or without the fix-ups every byte that needs none.
  auto check = [&](nx::FloatFormat format, bool fixUps) {
    std::string name = decodeName(format, fixUps);
    auto decode = reinterpret_cast<DecodeFn>(
        dlsym(handle, ("_mlir_ciface_" + name).c_str()));
    ASSERT_NE(decode, nullptr) << name;
    float values[256];
    Memref1D<uint8_t> in = {codes, codes, 0, {256}, {1}};
    Memref1D<float> out = {values, values, 0, {256}, {1}};
    decode(&in, &out);
    unsigned mask = (1u << nx::getFormatInfo(format).bits) - 1;
    for (unsigned i = 0; i < 256; ++i) {
      float expected = nx::decode(i & mask, format);
      if (!fixUps && cpu::decodingNeedsFixUp(i & mask, format))
        continue;
      uint32_t expectedBits, actualBits;
      std::memcpy(&expectedBits, &expected, 4);
      std::memcpy(&actualBits, &values[i], 4);
      EXPECT_EQ(actualBits, expectedBits) << name << " of byte " << i;
    }
  };
  for (nx::FloatFormat format : kDecodedFormats)
    check(format, /*fixUps=*/true);
  for (nx::FloatFormat format : kDecodedFormats)
    check(format, /*fixUps=*/false);
  dlclose(handle);
  llvm::sys::fs::remove_directories(directory);
}

// The codes that need fix-ups are the ones docs/CpuBackend.md names.
TEST(DecodeLoweringTest, CodesThatNeedFixUps) {
  auto needing = [](nx::FloatFormat format) {
    std::vector<uint32_t> codes;
    for (uint32_t code = 0; code < 256; ++code)
      if (cpu::decodingNeedsFixUp(code, format))
        codes.push_back(code);
    return codes;
  };
  EXPECT_EQ(needing(nx::FloatFormat::F8E8M0FNU),
            (std::vector<uint32_t>{0x00, 0xff}));
  EXPECT_EQ(needing(nx::FloatFormat::F8E4M3FN),
            (std::vector<uint32_t>{0x7f, 0xff}));
  // E5M2's Inf codes too: through f32 bits they would be 2^16.
  EXPECT_EQ(
      needing(nx::FloatFormat::F8E5M2),
      (std::vector<uint32_t>{0x7c, 0x7d, 0x7e, 0x7f, 0xfc, 0xfd, 0xfe, 0xff}));
  for (nx::FloatFormat format :
       {nx::FloatFormat::F6E2M3FN, nx::FloatFormat::F6E3M2FN,
        nx::FloatFormat::F4E2M1FN})
    EXPECT_TRUE(needing(format).empty()) << nx::getFormatInfo(format).name;
  // Through f32 bits E4M3 takes tensor scales below 2^8, E5M2 below 2^16;
  // other formats have no such limit.
  EXPECT_FALSE(
      cpu::tensorScaleNeedsFixUp(0x1.fffffep7f, nx::FloatFormat::F8E4M3FN));
  EXPECT_TRUE(cpu::tensorScaleNeedsFixUp(0x1p8f, nx::FloatFormat::F8E4M3FN));
  EXPECT_FALSE(
      cpu::tensorScaleNeedsFixUp(0x1.fffffep15f, nx::FloatFormat::F8E5M2));
  EXPECT_TRUE(cpu::tensorScaleNeedsFixUp(0x1p16f, nx::FloatFormat::F8E5M2));
  EXPECT_FALSE(cpu::tensorScaleNeedsFixUp(0x1p100f, nx::FloatFormat::F4E2M1FN));
}

} // namespace
