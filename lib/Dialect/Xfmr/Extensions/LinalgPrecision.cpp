//===- LinalgPrecision.cpp - precision records on linalg products ---------===//
//
// The loop dimensions of the products follow their ODS definitions:
// linalg.matmul is (m, n, k), linalg.batch_matmul (b, m, n, k); B's
// indexing map says where n and k sit in the weight.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Xfmr/Extensions/LinalgPrecision.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mixtile;

namespace {

/// Where n and k sit in B, from B's indexing map.
struct WeightAxes {
  std::optional<unsigned> n, k;
};

WeightAxes weightAxes(linalg::LinalgOp op, unsigned nDim, unsigned kDim) {
  WeightAxes axes;
  AffineMap map = op.getIndexingMapsArray()[1];
  for (auto [i, expr] : llvm::enumerate(map.getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      if (dim.getPosition() == nDim)
        axes.n = i;
      if (dim.getPosition() == kDim)
        axes.k = i;
    }
  return axes;
}

template <typename Op, unsigned NDim, unsigned KDim>
struct ProductPrecisionModel : public xfmr::PrecisionOpInterface::ExternalModel<
                                   ProductPrecisionModel<Op, NDim, KDim>, Op> {
  xfmr::PrecisionAttr getPrecisionRecord(Operation *op) const {
    return op->getAttrOfType<xfmr::PrecisionAttr>(xfmr::kPrecisionAttrName);
  }
  void setPrecisionRecord(Operation *op, xfmr::PrecisionAttr record) const {
    if (record)
      op->setAttr(xfmr::kPrecisionAttrName, record);
    else
      op->removeAttr(xfmr::kPrecisionAttrName);
  }
  int64_t getReductionSize(Operation *op) const { return loopSize(op, KDim); }
  int64_t getOutputFeatures(Operation *op) const { return loopSize(op, NDim); }
  /// B, when a constant defines it and its map is a plain placement of
  /// n and k (what the precision passes can quantize as weight matrices).
  Value getWeightOperand(Operation *op) const {
    auto linalgOp = cast<linalg::LinalgOp>(op);
    Value b = linalgOp.getDpsInputOperand(1)->get();
    WeightAxes axes = weightAxes(linalgOp, NDim, KDim);
    auto type = dyn_cast<RankedTensorType>(b.getType());
    if (!axes.n || !axes.k || !type || !type.hasStaticShape() ||
        !matchPattern(b, m_Constant()))
      return {};
    return b;
  }
  bool hasKVCache(Operation *) const { return false; }
  bool isWeightOutputMajor(Operation *op) const {
    WeightAxes axes = weightAxes(cast<linalg::LinalgOp>(op), NDim, KDim);
    return axes.n && axes.k && *axes.n < *axes.k;
  }

private:
  static int64_t loopSize(Operation *op, unsigned dim) {
    SmallVector<int64_t> ranges =
        cast<linalg::LinalgOp>(op).getStaticLoopRanges();
    return dim < ranges.size() ? ranges[dim] : ShapedType::kDynamic;
  }
};

} // namespace

void xfmr::registerLinalgPrecisionModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    linalg::MatmulOp::attachInterface<
        ProductPrecisionModel<linalg::MatmulOp, 1, 2>>(*ctx);
    linalg::BatchMatmulOp::attachInterface<
        ProductPrecisionModel<linalg::BatchMatmulOp, 2, 3>>(*ctx);
  });
}
