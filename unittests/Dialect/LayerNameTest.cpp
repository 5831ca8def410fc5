//===- LayerNameTest.cpp - layer naming of xfmr ops -----------------------===//
//
// Checks getLayerName, which plans and reports key their entries on.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mixtile::xfmr;

namespace {

constexpr const char *kModule = R"mlir(
func.func @f(%x: tensor<4x8xf32>, %a: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %w = xfmr.weight "layers.0.wq" from "model.bin" : tensor<8x8xf32>
  %y = xfmr.linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %s = xfmr.matmul %y, %a {transpose_rhs}
         : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32> loc("scores")
  %t = xfmr.matmul %s, %s : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %t : tensor<4x4xf32>
}
)mlir";

TEST(LayerNameTest, NamesComeFromWeightKeysThenLocations) {
  DialectRegistry registry;
  mixtile::registerAllDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kModule, &context);
  ASSERT_TRUE(module);
  std::vector<std::string> names;
  module->walk([&](PrecisionOpInterface op) {
    names.push_back(getLayerName(op));
  });
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "layers.0.wq");
  EXPECT_EQ(names[1], "scores");
  EXPECT_EQ(names[2], "");
}

} // namespace
