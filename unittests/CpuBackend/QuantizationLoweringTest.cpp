//===- QuantizationLoweringTest.cpp - the run-time rounding, executed -----===//
//
// Compiles the IR builders of Conversion/XfmrToLinalg/Quantization.h through
// mixtile-cpu-pipeline into a shared library, runs it, and compares every
// result bit for bit with the Numerics library:
// - buildRoundTo for every format and overflow mode on every code, every
//   rounding midpoint and its two f32 neighbours, the overflow thresholds,
//   specials (+-0, +-Inf, NaNs, f32 subnormals and extremes) and random bit
//   patterns;
// - buildFakeQuantize for every scheme (and other block sizes) on blocks
//   that are full and partial, zero, subnormal, huge, or hold NaN / Inf.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToLinalg/Quantization.h"
#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Pipelines/CpuPipeline.h"
#include "mixtile/Runtime/CpuLibrary.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace mlir;
using namespace mixtile;
namespace nx = mixtile::numerics;

namespace {

struct Memref1D {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
};
struct Memref3D {
  float *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
};
using RoundFn = void (*)(Memref1D *, Memref1D *);
using QuantizeFn = void (*)(Memref3D *, Memref3D *);

constexpr nx::FloatFormat kRoundedFormats[] = {
    nx::FloatFormat::F32,      nx::FloatFormat::BF16,
    nx::FloatFormat::F16,      nx::FloatFormat::F8E4M3FN,
    nx::FloatFormat::F8E5M2,   nx::FloatFormat::F6E2M3FN,
    nx::FloatFormat::F6E3M2FN, nx::FloatFormat::F4E2M1FN};
constexpr nx::Overflow kOverflows[] = {nx::Overflow::Saturate,
                                       nx::Overflow::NonSaturating};
constexpr int64_t kColumnCounts[] = {8, 64, 172};

std::string roundName(nx::FloatFormat format, nx::Overflow overflow) {
  return "round_" + std::string(nx::getFormatInfo(format).name) +
         (overflow == nx::Overflow::Saturate ? "_sat" : "_nonsat");
}

/// The schemes under test: every named scheme, and block sizes other than
/// the defaults.
std::vector<nx::QuantScheme> schemesUnderTest() {
  std::vector<nx::QuantScheme> schemes;
  for (std::string_view name : nx::kQuantSchemeNames)
    schemes.push_back(*nx::parseQuantScheme(name));
  schemes.push_back(*nx::withBlockSize(*nx::parseQuantScheme("mxfp4"), 16));
  schemes.push_back(*nx::withBlockSize(*nx::parseQuantScheme("nvfp4"), 32));
  schemes.push_back(*nx::withBlockSize(*nx::parseQuantScheme("mxfp8-e4m3"), 8));
  return schemes;
}

std::string quantizeName(size_t scheme, int64_t cols) {
  return "quantize_" + std::to_string(scheme) + "_" + std::to_string(cols);
}

/// Adds `func.func @name(%in: memref, %out: memref)` computing `build` of
/// the input tensor into the output buffer.
void addKernel(OpBuilder &b, StringRef name, MemRefType type,
               function_ref<Value(OpBuilder &, Location, Value)> build) {
  Location loc = b.getUnknownLoc();
  OpBuilder::InsertionGuard guard(b);
  auto func =
      func::FuncOp::create(b, loc, name, b.getFunctionType({type, type}, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *block = func.addEntryBlock();
  b.setInsertionPointToStart(block);
  auto tensorType =
      RankedTensorType::get(type.getShape(), type.getElementType());
  Value in = bufferization::ToTensorOp::create(b, loc, tensorType,
                                               block->getArgument(0),
                                               /*restrict=*/true);
  bufferization::MaterializeInDestinationOp::create(
      b, loc, TypeRange{}, build(b, loc, in), block->getArgument(1),
      /*restrict=*/true, /*writable=*/true);
  func::ReturnOp::create(b, loc);
}

class QuantizationLoweringTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    DialectRegistry registry;
    cpu::registerCpuPipelineDialects(registry);
    MLIRContext ctx(registry);
    ctx.loadAllAvailableDialects();
    OpBuilder b(&ctx);
    OwningOpRef<ModuleOp> module(ModuleOp::create(b.getUnknownLoc()));
    b.setInsertionPointToEnd(module->getBody());
    auto vector = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
    for (nx::FloatFormat format : kRoundedFormats)
      for (nx::Overflow overflow : kOverflows)
        addKernel(b, roundName(format, overflow), vector,
                  [&](OpBuilder &nb, Location loc, Value x) {
                    return cpu::buildRoundTensor(nb, loc, x, format, overflow);
                  });
    std::vector<nx::QuantScheme> schemes = schemesUnderTest();
    for (auto [i, scheme] : llvm::enumerate(schemes))
      for (int64_t cols : kColumnCounts) {
        auto type = MemRefType::get(
            {ShapedType::kDynamic, ShapedType::kDynamic, cols}, b.getF32Type());
        nx::QuantScheme s = scheme;
        addKernel(b, quantizeName(i, cols), type,
                  [&](OpBuilder &nb, Location loc, Value x) {
                    return cpu::buildFakeQuantize(nb, loc, x, s);
                  });
      }

    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("mixtile-quant-test", directory));
    cpu::CpuLibraryOptions options;
    options.outputDir = std::string(directory);
    options.name = "kernels";
    llvm::Expected<std::string> library =
        cpu::compileKernelLibrary(*module, options);
    ASSERT_TRUE(bool(library)) << llvm::toString(library.takeError());
    handle = dlopen(library->c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
  }

  static void TearDownTestSuite() {
    if (handle)
      dlclose(handle);
    llvm::sys::fs::remove_directories(directory);
  }

  template <typename Fn> static Fn lookup(const std::string &name) {
    void *symbol = dlsym(handle, ("_mlir_ciface_" + name).c_str());
    EXPECT_NE(symbol, nullptr) << name;
    return reinterpret_cast<Fn>(symbol);
  }

  static inline void *handle = nullptr;
  static inline llvm::SmallString<128> directory;
};

uint32_t bitsOf(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits;
}

float fromBits(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

/// Every code of `format`, every midpoint between neighbouring values
/// (and the f32 values on either side of it), the thresholds where
/// rounding overflows, specials and random bit patterns.
std::vector<float> roundingInputs(nx::FloatFormat format) {
  const nx::FormatInfo &info = nx::getFormatInfo(format);
  std::set<float> magnitudes;
  if (format == nx::FloatFormat::F32) {
    for (float x : {0.0f, 1.0f, 1.5f, 0x1p-149f, 0x1p-126f, 0x1.fffffep127f})
      magnitudes.insert(x);
  } else {
    for (uint32_t code = 0; code < (1u << info.bits); ++code) {
      float value = nx::decode(code, format);
      if (std::isfinite(value))
        magnitudes.insert(std::fabs(value));
    }
  }
  std::vector<float> inputs;
  auto addAround = [&](float x) {
    for (float v : {x, std::nextafter(x, 0.0f),
                    std::nextafter(x, std::numeric_limits<float>::infinity())})
      for (float s : {v, -v})
        inputs.push_back(s);
  };
  std::vector<float> sorted(magnitudes.begin(), magnitudes.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    addAround(sorted[i]);
    if (i + 1 < sorted.size())
      addAround(sorted[i] + (sorted[i + 1] - sorted[i]) / 2); // exact
  }
  // Beyond the largest value: the saturation / overflow thresholds, the
  // midpoint to the next binade step, and 2^(emax+2), the non-saturating
  // clamp.
  float top = info.maxNormal;
  float step = sorted.size() > 1 ? top - sorted[sorted.size() - 2] : 1.0f;
  for (float x : {top + step / 2, top + step, 2 * top,
                  std::ldexp(1.0f, info.emax + 2), 0x1.fffffep127f})
    addAround(x);
  float inf = std::numeric_limits<float>::infinity();
  for (float x : {inf, -inf, 0x1p-149f, 0x1p-130f, 0x1p-126f})
    inputs.push_back(x);
  for (uint32_t nan :
       {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff812345u, 0x7fbfffffu})
    inputs.push_back(fromBits(nan));
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i)
    inputs.push_back(fromBits(rng()));
  return inputs;
}

TEST_F(QuantizationLoweringTest, RoundToMatchesNumericsOnEveryCodeAndMidpoint) {
  for (nx::FloatFormat format : kRoundedFormats) {
    std::vector<float> in = roundingInputs(format);
    for (nx::Overflow overflow : kOverflows) {
      std::string name = roundName(format, overflow);
      auto round = lookup<RoundFn>(name);
      ASSERT_NE(round, nullptr);
      std::vector<float> out(in.size());
      Memref1D inRef{in.data(), in.data(), 0, {int64_t(in.size())}, {1}};
      Memref1D outRef{out.data(), out.data(), 0, {int64_t(out.size())}, {1}};
      round(&inRef, &outRef);
      int mismatches = 0;
      for (size_t i = 0; i < in.size() && mismatches < 5; ++i) {
        uint32_t expected = bitsOf(nx::roundTo(in[i], format, overflow));
        if (bitsOf(out[i]) == expected)
          continue;
        ++mismatches;
        ADD_FAILURE() << name << "(" << in[i] << " = 0x" << std::hex
                      << bitsOf(in[i]) << ") gave 0x" << bitsOf(out[i])
                      << ", expected 0x" << expected;
      }
      EXPECT_EQ(mismatches, 0) << name << " over " << in.size() << " inputs";
    }
  }
}

/// Rows of `cols` values exercising the block and tensor scales: random
/// magnitudes over many binades, and rows that are zero, subnormal, near
/// FLT_MAX, or hold NaN and Inf in one block.
std::vector<float> quantizationInputs(int64_t groups, int64_t rows,
                                      int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-40, 40);
  std::vector<float> x(groups * rows * cols);
  for (float &v : x)
    v = std::ldexp(normal(rng), exponent(rng) / 4);
  for (int64_t g = 0; g < groups; ++g) {
    float *group = x.data() + g * rows * cols;
    std::fill_n(group + 0 * cols, cols, 0.0f);
    for (int64_t c = 0; c < cols; ++c)
      group[1 * cols + c] = (c % 2 ? -1.0f : 1.0f) * 0x1p-140f * float(c);
    for (int64_t c = 0; c < cols; ++c)
      group[2 * cols + c] = 0x1.8p127f * normal(rng) / 4.0f;
    group[3 * cols + cols / 2] = std::numeric_limits<float>::quiet_NaN();
    group[4 * cols + cols - 1] = -std::numeric_limits<float>::infinity();
  }
  // The last group has only finite values, so its tensor scale is set by
  // them (a NaN does not take part in an amax, but Inf rows do saturate).
  float *last = x.data() + (groups - 1) * rows * cols;
  for (int64_t i = 3 * cols; i < 5 * cols; ++i)
    last[i] = normal(rng) * 1000.0f;
  return x;
}

TEST_F(QuantizationLoweringTest, FakeQuantizeMatchesNumericsForEveryScheme) {
  constexpr int64_t groups = 3, rows = 7;
  std::vector<nx::QuantScheme> schemes = schemesUnderTest();
  for (auto [i, scheme] : llvm::enumerate(schemes)) {
    for (int64_t cols : kColumnCounts) {
      std::string name = quantizeName(i, cols);
      auto quantize = lookup<QuantizeFn>(name);
      ASSERT_NE(quantize, nullptr);
      std::vector<float> in =
          quantizationInputs(groups, rows, cols, 7 * unsigned(i) + cols);
      std::vector<float> out(in.size()), expected(in.size());
      Memref3D inRef{in.data(),
                     in.data(),
                     0,
                     {groups, rows, cols},
                     {rows * cols, cols, 1}};
      Memref3D outRef{out.data(),
                      out.data(),
                      0,
                      {groups, rows, cols},
                      {rows * cols, cols, 1}};
      quantize(&inRef, &outRef);
      for (int64_t g = 0; g < groups; ++g)
        nx::fakeQuantize(in.data() + g * rows * cols,
                         expected.data() + g * rows * cols, rows, cols, scheme);
      int mismatches = 0;
      for (size_t j = 0; j < in.size() && mismatches < 5; ++j) {
        if (bitsOf(out[j]) == bitsOf(expected[j]))
          continue;
        ++mismatches;
        ADD_FAILURE() << scheme.name << " block " << scheme.blockSize << ", "
                      << cols << " columns, element " << j << " (" << in[j]
                      << "): got " << out[j] << ", expected " << expected[j];
      }
      EXPECT_EQ(mismatches, 0) << name;
    }
  }
}

} // namespace
