//===- XfmrAttrs.td - xfmr attributes and enums ------------*- tablegen -*-===//
//
// The precision record and the enums used by xfmr ops.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_IR_XFMRATTRS_TD
#define MIXTILE_DIALECT_XFMR_IR_XFMRATTRS_TD

include "mixtile/Dialect/Xfmr/IR/XfmrDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Xfmr_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "approximation used by xfmr.gelu", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"tanh", 1>
    ]> {
  let cppNamespace = "::mixtile::xfmr";
  let genSpecializedAttr = 0;
}
def Xfmr_GeluApproximationAttr
    : EnumAttr<Xfmr_Dialect, Xfmr_GeluApproximation, "gelu_approximation"> {
  let assemblyFormat = "`<` $value `>`";
}

def Xfmr_RopeStyle : I32EnumAttr<"RopeStyle",
    "how xfmr.rope pairs the features of a head", [
      // Pairs (2i, 2i+1): Meta's reference Llama and llama2.c.
      I32EnumAttrCase<"interleaved", 0>,
      // Pairs (i, i + head_dim/2): Hugging Face's rotate_half.
      I32EnumAttrCase<"half", 1>
    ]> {
  let cppNamespace = "::mixtile::xfmr";
  let genSpecializedAttr = 0;
}
def Xfmr_RopeStyleAttr : EnumAttr<Xfmr_Dialect, Xfmr_RopeStyle, "rope_style"> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Precision record
//===----------------------------------------------------------------------===//

class Xfmr_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Xfmr_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Xfmr_PrecisionAttr : Xfmr_Attr<"Precision", "precision"> {
  let summary = "The number formats chosen for one layer";
  let description = [{
    A typed record of how one layer computes, written by a precision-selection
    pass and read by every lowering:

    - `weights`: element type the weights are stored and multiplied in
      (`f32`, `bf16`, `f16`, `f8E4M3FN`, `f8E5M2`, `f6E2M3FN`, `f6E3M2FN`,
      `f4E2M1FN`).
    - `activations`: element type of the activation operand of the matmul
      (same set).
    - `scale` and `block`: how operands narrower than 16 bits are scaled.
      `f32` with no block is one FP32 scale per tensor; `f8E8M0FNU` with
      `block = 32` is OCP MX (one power-of-two scale per 32 elements along
      the reduction axis); `f8E4M3FN` with `block = 16` is NVFP4 (an E4M3
      scale per 16 `f4E2M1FN` elements plus an FP32 per-tensor scale).
    - `accumulator`: the type products are summed in (`f32` or `f16`).
    - `kv_cache` (attention only, optional): element type of the KV cache.

    Example (MXFP4 weights, MXFP8 activations, "W4A8"):

    ```mlir
    #xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN,
                    scale = f8E8M0FNU, block = 32, accumulator = f32>
    ```
  }];
  let parameters = (ins
    "::mlir::Type":$weights,
    "::mlir::Type":$activations,
    OptionalParameter<"::mlir::Type">:$scale,
    DefaultValuedParameter<"int64_t", "0">:$block,
    "::mlir::Type":$accumulator,
    OptionalParameter<"::mlir::Type">:$kv_cache
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True when `type` is narrower than 16 bits and so needs a scale.
    static bool needsScale(::mlir::Type type);
    /// True when this record asks for any operand narrower than 16 bits.
    bool isLowPrecision() const {
      return needsScale(getWeights()) || needsScale(getActivations());
    }
  }];
}

#endif // MIXTILE_DIALECT_XFMR_IR_XFMRATTRS_TD
