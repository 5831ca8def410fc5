//===- TargetAttr.cpp - the target description as a module attribute ------===//
//
// JSON <-> attribute conversion of target descriptions.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/TargetAttr.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mixtile;

/// Converts the JSON of a description (objects, strings, numbers).
static Attribute toAttribute(Builder &b, const llvm::json::Value &value) {
  if (const llvm::json::Object *object = value.getAsObject()) {
    SmallVector<NamedAttribute> entries;
    for (const auto &[key, field] : *object)
      entries.push_back(b.getNamedAttr(key.str(), toAttribute(b, field)));
    return b.getDictionaryAttr(entries);
  }
  if (std::optional<llvm::StringRef> s = value.getAsString())
    return b.getStringAttr(*s);
  if (std::optional<int64_t> n = value.getAsInteger())
    return b.getI64IntegerAttr(*n);
  return b.getF64FloatAttr(value.getAsNumber().value_or(0));
}

static llvm::json::Value toJSON(Attribute attr) {
  if (auto dict = dyn_cast<DictionaryAttr>(attr)) {
    llvm::json::Object object;
    for (NamedAttribute entry : dict)
      object[entry.getName().str()] = toJSON(entry.getValue());
    return object;
  }
  if (auto s = dyn_cast<StringAttr>(attr))
    return s.str();
  if (auto n = dyn_cast<IntegerAttr>(attr))
    return n.getInt();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  return nullptr;
}

DictionaryAttr mixtile::getTargetAttr(MLIRContext *ctx,
                                      const TargetModel &target) {
  Builder b(ctx);
  return cast<DictionaryAttr>(toAttribute(b, target.toJSON()));
}

llvm::Expected<TargetModel> mixtile::getAttachedTarget(ModuleOp module) {
  auto attr = module->getAttrOfType<DictionaryAttr>(kTargetAttrName);
  if (!attr)
    return llvm::createStringError("module has no '" + kTargetAttrName +
                                   "' attribute; run xfmr-attach-target");
  std::string text;
  llvm::raw_string_ostream(text) << toJSON(attr);
  return TargetModel::fromJSON(text, kTargetAttrName);
}
