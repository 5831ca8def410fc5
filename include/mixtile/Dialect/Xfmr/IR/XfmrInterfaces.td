//===- XfmrInterfaces.td - xfmr op interfaces --------------*- tablegen -*-===//
//
// The interface shared by every op whose number formats can be chosen.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_IR_XFMRINTERFACES_TD
#define MIXTILE_DIALECT_XFMR_IR_XFMRINTERFACES_TD

include "mlir/IR/OpBase.td"

def Xfmr_PrecisionOpInterface : OpInterface<"PrecisionOpInterface"> {
  let cppNamespace = "::mixtile::xfmr";
  let description = [{
    An op that multiplies or looks up weights and so can be given a
    `#xfmr.precision` record. Precision passes work on this interface, not on
    concrete ops, so new ops (or ops of other dialects, through external
    models) take part without changing the passes.
  }];
  let methods = [
    InterfaceMethod<"Returns the precision record, or null when unset.",
      "::mixtile::xfmr::PrecisionAttr", "getPrecisionRecord", (ins), [{}],
      [{ return $_op.getPrecisionAttr(); }]>,
    InterfaceMethod<"Sets (or clears, with null) the precision record.",
      "void", "setPrecisionRecord", (ins "::mixtile::xfmr::PrecisionAttr":$p),
      [{}], [{
        if (p)
          $_op.setPrecisionAttr(p);
        else
          $_op.removePrecisionAttr();
      }]>,
    InterfaceMethod<[{
        Returns the length of the reduction (K) axis that block scales run
        along, or ShapedType::kDynamic when it is not static.
      }], "int64_t", "getReductionSize">,
    InterfaceMethod<[{
        Returns the value holding this op's weights, or null when both
        operands are activations.
      }], "::mlir::Value", "getWeightOperand">,
    InterfaceMethod<[{
        Whether the `kv_cache` field of a precision record means anything
        for this op.
      }], "bool", "hasKVCache", (ins), [{}], [{ return false; }]>,
    InterfaceMethod<[{
        Returns the number of output features (N) of the product the
        weights take part in. The weight operand holds one or more (a
        batch of) N x K matrices, K being getReductionSize().
      }], "int64_t", "getOutputFeatures", (ins), [{}], [{
        return ::llvm::cast<::mlir::RankedTensorType>(
            $_op.getWeightOperand().getType()).getDimSize(0);
      }]>,
    InterfaceMethod<[{
        Whether each weight matrix is stored [N, K] (every output's K
        weights contiguous, as xfmr.linear keeps them) rather than [K, N].
      }], "bool", "isWeightOutputMajor", (ins), [{}],
      [{ return true; }]>,
  ];
  let verify = [{
    return ::mixtile::xfmr::detail::verifyPrecisionOp($_op);
  }];
}

#endif // MIXTILE_DIALECT_XFMR_IR_XFMRINTERFACES_TD
