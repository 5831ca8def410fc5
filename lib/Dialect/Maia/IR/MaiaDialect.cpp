//===- MaiaDialect.cpp - maia dialect registration ------------------------===//
//
// Registers the maia operations and attributes, and maps Maia element
// formats to builtin float types.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Maia/IR/MaiaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mixtile;
using namespace mixtile::maia;

#include "mixtile/Dialect/Maia/IR/MaiaOpsDialect.cpp.inc"

#include "mixtile/Dialect/Maia/IR/MaiaEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "mixtile/Dialect/Maia/IR/MaiaAttrs.cpp.inc"

#include "mixtile/Dialect/Maia/IR/MaiaInterfaces.cpp.inc"

void MaiaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mixtile/Dialect/Maia/IR/MaiaOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "mixtile/Dialect/Maia/IR/MaiaAttrs.cpp.inc"
      >();
}

FloatType mixtile::maia::getFormatType(MLIRContext *ctx, FloatFormat format) {
  Builder b(ctx);
  switch (format) {
  case FloatFormat::F32:
    return b.getF32Type();
  case FloatFormat::BF16:
    return b.getBF16Type();
  case FloatFormat::F16:
    return b.getF16Type();
  case FloatFormat::F8E4M3FN:
    return b.getType<Float8E4M3FNType>();
  case FloatFormat::F8E5M2:
    return b.getType<Float8E5M2Type>();
  case FloatFormat::F6E2M3FN:
    return b.getType<Float6E2M3FNType>();
  case FloatFormat::F6E3M2FN:
    return b.getType<Float6E3M2FNType>();
  case FloatFormat::F4E2M1FN:
    return b.getType<Float4E2M1FNType>();
  case FloatFormat::F8E8M0FNU:
    return b.getType<Float8E8M0FNUType>();
  }
  llvm_unreachable("unknown float format");
}

std::optional<FloatFormat> mixtile::maia::getFloatFormat(Type type) {
  return llvm::TypeSwitch<Type, std::optional<FloatFormat>>(type)
      .Case([](Float32Type) { return FloatFormat::F32; })
      .Case([](BFloat16Type) { return FloatFormat::BF16; })
      .Case([](Float16Type) { return FloatFormat::F16; })
      .Case([](Float8E4M3FNType) { return FloatFormat::F8E4M3FN; })
      .Case([](Float8E5M2Type) { return FloatFormat::F8E5M2; })
      .Case([](Float6E2M3FNType) { return FloatFormat::F6E2M3FN; })
      .Case([](Float6E3M2FNType) { return FloatFormat::F6E3M2FN; })
      .Case([](Float4E2M1FNType) { return FloatFormat::F4E2M1FN; })
      .Case([](Float8E8M0FNUType) { return FloatFormat::F8E8M0FNU; })
      .Default([](Type) { return std::nullopt; });
}
