//===- PrecisionAttrTest.cpp - #xfmr.precision construction ---------------===//
//
// Checks the precision record's C++ API: which combinations verify, and the
// helpers lowerings use to ask what a record needs.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mixtile::xfmr;

namespace {

class PrecisionAttrTest : public ::testing::Test {
protected:
  PrecisionAttrTest() : builder(&context) {
    context.loadDialect<XfmrDialect>();
  }

  /// Builds a record through the verifier; returns null (and the message in
  /// `lastError`) when it is rejected.
  PrecisionAttr tryGet(Type weights, Type activations, Type scale,
                       int64_t block, Type kvCache = {}) {
    lastError.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      lastError = diag.str();
      return success();
    });
    auto emitError = [&] { return mlir::emitError(UnknownLoc::get(&context)); };
    return PrecisionAttr::getChecked(emitError, &context, weights, activations,
                                     scale, block, f32,
                                     kvCache);
  }

  MLIRContext context;
  Builder builder;
  std::string lastError;
  Type f32 = builder.getF32Type();
  Type bf16 = builder.getBF16Type();
  Type fp4 = builder.getType<Float4E2M1FNType>();
  Type e4m3 = builder.getType<Float8E4M3FNType>();
  Type e8m0 = builder.getType<Float8E8M0FNUType>();
};

TEST_F(PrecisionAttrTest, AcceptsTheStandardSchemes) {
  EXPECT_TRUE(tryGet(bf16, bf16, {}, 0)) << lastError;
  EXPECT_TRUE(tryGet(e4m3, e4m3, f32, 0)) << lastError;   // FP8 per tensor.
  EXPECT_TRUE(tryGet(fp4, e4m3, e8m0, 32)) << lastError;  // MX W4A8.
  EXPECT_TRUE(tryGet(fp4, fp4, e4m3, 16)) << lastError;   // NVFP4.
  EXPECT_TRUE(tryGet(fp4, bf16, e8m0, 32, e4m3)) << lastError;
}

TEST_F(PrecisionAttrTest, RejectsInconsistentScaling) {
  EXPECT_FALSE(tryGet(fp4, bf16, {}, 0));
  EXPECT_EQ(lastError, "formats narrower than 16 bits need a scale");
  EXPECT_FALSE(tryGet(fp4, bf16, f32, 0));
  EXPECT_FALSE(tryGet(fp4, bf16, e8m0, 24));
  EXPECT_FALSE(tryGet(e4m3, bf16, e4m3, 16));
  EXPECT_FALSE(tryGet(bf16, bf16, e8m0, 32));
  EXPECT_FALSE(tryGet(fp4, bf16, e8m0, 32, fp4));
}

TEST_F(PrecisionAttrTest, ReportsLowPrecision) {
  PrecisionAttr wide = tryGet(bf16, bf16, {}, 0);
  PrecisionAttr narrow = tryGet(fp4, bf16, e8m0, 32);
  ASSERT_TRUE(wide && narrow);
  EXPECT_FALSE(wide.isLowPrecision());
  EXPECT_TRUE(narrow.isLowPrecision());
  EXPECT_TRUE(PrecisionAttr::needsScale(e4m3));
  EXPECT_FALSE(PrecisionAttr::needsScale(bf16));
  EXPECT_FALSE(PrecisionAttr::needsScale(Type()));
}

TEST_F(PrecisionAttrTest, PrintsAsAStructRecord) {
  PrecisionAttr attr = tryGet(fp4, e4m3, e8m0, 32);
  ASSERT_TRUE(attr);
  std::string text;
  llvm::raw_string_ostream os(text);
  static_cast<Attribute>(attr).print(os);
  EXPECT_EQ(text, "#xfmr.precision<weights = f4E2M1FN, activations = "
                  "f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = "
                  "f32>");
}

} // namespace
