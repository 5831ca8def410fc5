//===- XfmrUtils.cpp - helpers over xfmr IR -------------------------------===//
//
// Layer naming shared by precision passes, plans and reports.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

using namespace mlir;
using namespace mixtile::xfmr;

/// Returns the first name found in a (possibly fused or call-site) location.
static std::string getLocationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string name = getLocationName(inner); !name.empty())
        return name;
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    return getLocationName(callSite.getCallee());
  return "";
}

std::string mixtile::xfmr::getLayerName(Operation *op) {
  Value weight;
  if (auto precisionOp = dyn_cast<PrecisionOpInterface>(op))
    if ((weight = precisionOp.getWeightOperand()))
      if (auto weightOp = weight.getDefiningOp<WeightOp>())
        return weightOp.getKey().str();
  if (std::string name = getLocationName(op->getLoc()); !name.empty())
    return name;
  // Imported IR often names the weight constant rather than its user.
  return weight ? getLocationName(weight.getLoc()) : "";
}
