//===- Passes.td - conversions between dialects ------------*- tablegen -*-===//

#ifndef MIXTILE_CONVERSION_PASSES_TD
#define MIXTILE_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertXfmrToMaia : Pass<"convert-xfmr-to-maia", "mlir::ModuleOp"> {
  let summary = "Compile precision-annotated xfmr into a maia.program";
  let description = [{
    Compiles @forward, with the formats its #xfmr.precision records name,
    for the target attached by xfmr-attach-target, and replaces it by a
    `maia.program`: weights quantized into HBM data segments, every op a
    phase split over the tiles (linear layers tiled to TSRAM with K chunks
    aligned to the block scales and double-buffered DMA; norms, rope,
    softmax and silu on the vector unit), bit-exact with the reference
    evaluator (docs/XfmrToMaia.md).

    The ISA has no indirect addressing, so the program runs given token ids
    (`tokens=`) at a given position (`start=`); a model without weights
    (timing studies) takes `num-tokens=` instead and gets no data segments.

    Example:
    `--xfmr-attach-target --convert-xfmr-to-maia="tokens=1,403,407 tiles=8"`
  }];
  let options = [
    ListOption<"tokens", "tokens", "int32_t",
               "Token ids of the run (prefill; one id for a decode step)">,
    Option<"numTokens", "num-tokens", "int64_t", /*default=*/"0",
           "Tokens of a run without weights (timing only)">,
    Option<"start", "start", "int64_t", /*default=*/"0",
           "Position of the first token (cache rows before it are inputs)">,
    Option<"tiles", "tiles", "unsigned", /*default=*/"0",
           "Tiles to spread each op over (0: all)">,
  ];
  let dependentDialects = ["mixtile::maia::MaiaDialect"];
}

#endif // MIXTILE_CONVERSION_PASSES_TD
