//===- XfmrDialect.td - The xfmr dialect -------------------*- tablegen -*-===//
//
// The xfmr dialect: tensor-level transformer building blocks.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_IR_XFMRDIALECT_TD
#define MIXTILE_DIALECT_XFMR_IR_XFMRDIALECT_TD

include "mlir/IR/OpBase.td"

def Xfmr_Dialect : Dialect {
  let name = "xfmr";
  let cppNamespace = "::mixtile::xfmr";
  let summary = "Tensor-level transformer operations with precision records";
  let description = [{
    The `xfmr` dialect describes transformer inference graphs (the Llama and
    GPT-2 families) on builtin tensor types: embeddings, normalisations,
    linear layers, rotary embeddings, causal (grouped-query) attention and the
    element-wise glue between them.

    Weights are not stored in the IR: `xfmr.weight` names a tensor in a model
    file (file + key), so a 100 GB model never lands in IR text.

    Every op that reads weights or multiplies matrices can carry a
    `#xfmr.precision` record: the number formats a later lowering must use
    for that layer (weights, activations, block scale and block size,
    accumulator, KV cache). Choosing a precision and lowering it are separate
    passes; the record is the contract between them.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class Xfmr_Op<string mnemonic, list<Trait> traits = []>
    : Op<Xfmr_Dialect, mnemonic, traits>;

#endif // MIXTILE_DIALECT_XFMR_IR_XFMRDIALECT_TD
