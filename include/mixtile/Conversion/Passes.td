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

def ConvertXfmrToLinalg : Pass<"convert-xfmr-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower precision-annotated xfmr to linalg on tensors (CPU)";
  let description = [{
    Replaces @forward by @mixtile_forward, the CPU back end's calling
    convention (docs/CpuBackend.md): the tokens, positions and start of the
    call, the weight pack, the KV-cache state and the logits are buffers,
    and the body is linalg.generic / tensor / arith / math on tensors with
    f32 arithmetic in the reference evaluator's order (explicit math.fma),
    so that the compiled model gives the evaluator's results bit for bit.

    Weights stay in a weight pack (WeightPack.h) in the form their
    #xfmr.precision record names: element codes and scales are decoded in
    the body of the kernel that multiplies them. Activations are quantized
    row by row (per-token scales) and KV-cache rows rounded with arith ops
    that follow the Numerics library. Functions `() -> i64` named
    `mixtile_info_*` describe the model to the runtime.

    Example: `--convert-xfmr-to-linalg`, or the whole way to the LLVM
    dialect with `--mixtile-cpu-pipeline`.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::func::FuncDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

#endif // MIXTILE_CONVERSION_PASSES_TD
