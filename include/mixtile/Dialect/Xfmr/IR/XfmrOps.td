//===- XfmrOps.td - xfmr operations ------------------------*- tablegen -*-===//
//
// Operations of the xfmr dialect.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_IR_XFMROPS_TD
#define MIXTILE_DIALECT_XFMR_IR_XFMROPS_TD

include "mixtile/Dialect/Xfmr/IR/XfmrDialect.td"
include "mixtile/Dialect/Xfmr/IR/XfmrAttrs.td"
include "mixtile/Dialect/Xfmr/IR/XfmrInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"

def Xfmr_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Xfmr_IndexTensor : RankedTensorOf<[AnySignlessInteger, Index]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Xfmr_WeightOp : Xfmr_Op<"weight", [Pure]> {
  let summary = "A tensor stored in a model file";
  let description = [{
    Names a weight tensor kept outside the IR: `key` names the layer's
    weight (plans and reports use it), `file` is the model file. The optional
    `offset` (bytes from the start of the file) and `storage_type` (the
    element type on disk) let a weight store map the data directly. The
    result is the tensor in the compute element type.

    Some formats store a layer's weight inside a larger tensor or in the
    other orientation (GPT-2's fused, `[in, out]` Conv1D `c_attn`). Then
    `stored_shape` gives the shape on disk, `transpose` says the result reads
    it transposed (2-D only), and `row_offset` selects the rows
    `[row_offset, row_offset + result rows)` of the (transposed) stored
    tensor; every other dimension matches the result.

    ```mlir
    %wq = xfmr.weight "layers.0.attention.wq" from "stories260K.bin"
            {offset = 131100 : i64, storage_type = f32} : tensor<64x64xf32>
    %q = xfmr.weight "h.0.attn.q.weight" from "model.safetensors"
            {offset = 8192 : i64, storage_type = f32, stored_shape =
             array<i64: 768, 2304>, transpose, row_offset = 0 : i64}
            : tensor<768x768xf32>
    ```
  }];
  let arguments = (ins StrAttr:$key, StrAttr:$file,
                       OptionalAttr<I64Attr>:$offset,
                       OptionalAttr<TypeAttr>:$storage_type,
                       OptionalAttr<DenseI64ArrayAttr>:$stored_shape,
                       UnitAttr:$transpose,
                       OptionalAttr<I64Attr>:$row_offset);
  let results = (outs StaticShapeTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = "$key `from` $file attr-dict `:` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape on disk: `stored_shape`, or the result's shape.
    ::llvm::SmallVector<int64_t> getStoredShapeOrResult();
    /// Whether the result is the stored tensor as is.
    bool isPlainLayout() {
      return !getStoredShape() && !getTranspose() && !getRowOffset();
    }

  private:
    ::mlir::LogicalResult verifyStoredLayout();
  public:
  }];
}

//===----------------------------------------------------------------------===//
// Embedding and normalisation
//===----------------------------------------------------------------------===//

def Xfmr_EmbeddingOp : Xfmr_Op<"embedding", [Pure,
    DeclareOpInterfaceMethods<Xfmr_PrecisionOpInterface,
                              ["getReductionSize", "getWeightOperand"]>]> {
  let summary = "Row lookup in an embedding table";
  let description = [{
    `result[i..., :] = table[tokens[i...], :]`. The table is `[vocab, dim]`;
    the result has the shape of `tokens` followed by `dim`.

    ```mlir
    %x = xfmr.embedding %table[%tokens]
           : tensor<512x64xf32>, tensor<8xi32> -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$table, Xfmr_IndexTensor:$tokens,
                       OptionalAttr<Xfmr_PrecisionAttr>:$precision);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` type($table) `,` type($tokens)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Xfmr_RMSNormOp : Xfmr_Op<"rms_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation over the last axis";
  let description = [{
    `result = input / sqrt(mean(input^2, -1) + epsilon) * weight`, with
    `weight` of the size of the last axis.

    ```mlir
    %y = xfmr.rms_norm %x, %g {epsilon = 1.0e-05 : f32}
           : tensor<8x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$input, Xfmr_FloatTensor:$weight,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Xfmr_LayerNormOp : Xfmr_Op<"layer_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalisation over the last axis";
  let description = [{
    `result = (input - mean) / sqrt(var + epsilon) * weight + bias` over the
    last axis (biased variance, as in GPT-2).

    ```mlir
    %y = xfmr.layer_norm %x, %g, %b {epsilon = 1.0e-05 : f32}
           : tensor<8x768xf32>, tensor<768xf32>, tensor<768xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$input, Xfmr_FloatTensor:$weight,
                       Xfmr_FloatTensor:$bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,`
    type($weight) `,` type($bias)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

def Xfmr_LinearOp : Xfmr_Op<"linear", [Pure,
    DeclareOpInterfaceMethods<Xfmr_PrecisionOpInterface,
                              ["getReductionSize", "getWeightOperand"]>]> {
  let summary = "Fully connected layer: input * weight^T + bias";
  let description = [{
    `result[..., n] = sum_k input[..., k] * weight[n, k] (+ bias[n])`. The
    weight is `[out_features, in_features]` (PyTorch's `nn.Linear` layout);
    importers transpose other layouts (GPT-2's Conv1D) when they read them.

    ```mlir
    %y = xfmr.linear %x, %w
           : (tensor<8x64xf32>, tensor<172x64xf32>) -> tensor<8x172xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$input, Xfmr_FloatTensor:$weight,
                       Optional<Xfmr_FloatTensor>:$bias,
                       OptionalAttr<Xfmr_PrecisionAttr>:$precision);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Xfmr_MatmulOp : Xfmr_Op<"matmul", [Pure,
    DeclareOpInterfaceMethods<Xfmr_PrecisionOpInterface,
                              ["getReductionSize", "getWeightOperand"]>]> {
  let summary = "Batched matrix product of two activations";
  let description = [{
    `result[b..., m, n] = sum_k lhs[b..., m, k] * rhs[b..., k, n]`, or
    `rhs[b..., n, k]` when `transpose_rhs` is set. Both operands have the same
    rank (at least 2) and the same batch dimensions.

    ```mlir
    %s = xfmr.matmul %q, %k {transpose_rhs}
           : (tensor<8x16x8xf32>, tensor<8x16x8xf32>) -> tensor<8x16x16xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$lhs, Xfmr_FloatTensor:$rhs,
                       UnitAttr:$transpose_rhs,
                       OptionalAttr<Xfmr_PrecisionAttr>:$precision);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Xfmr_RopeOp : Xfmr_Op<"rope", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates each pair of features of every head of `input` (`[..., seq,
    heads * head_dim]`) by the angle `position * theta^(-2i / head_dim)`.
    `positions` holds the absolute position of every row of the sequence.
    `style` chooses which features form a pair.

    ```mlir
    %qr = xfmr.rope %q, %pos {head_dim = 8 : i64, theta = 1.0e+04 : f32,
                               style = #xfmr.rope_style<interleaved>}
            : tensor<16x64xf32>, tensor<16xi32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$input, Xfmr_IndexTensor:$positions,
                       I64Attr:$head_dim,
                       DefaultValuedAttr<F32Attr, "10000.0">:$theta,
                       DefaultValuedAttr<Xfmr_RopeStyleAttr,
                           "::mixtile::xfmr::RopeStyle::interleaved">:$style);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` type($input) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def Xfmr_AttentionOp : Xfmr_Op<"attention", [Pure, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<Xfmr_PrecisionOpInterface,
        ["getReductionSize", "getWeightOperand", "hasKVCache"]>]> {
  let summary = "Scaled dot-product attention with grouped KV heads";
  let description = [{
    Multi-head attention on head-major packed features: `query` is
    `[..., seq, n_heads * head_dim]`, `key` and `value` are
    `[..., seq, n_kv_heads * head_dim]`; query head `h` reads KV head
    `h / (n_heads / n_kv_heads)` (grouped-query attention; `n_kv_heads ==
    n_heads` is plain multi-head attention). Scores are scaled by `scale`
    (default `1/sqrt(head_dim)`); with `causal`, row `i` sees keys `<= i`.

    With a KV cache (`cache(%kc, %vc) at %pos`), the rows of `key`/`value`
    are written into the caches (`[..., max_seq, n_kv_heads * head_dim]`) at
    rows `pos ..`, the query attends to cache rows `[0, pos + seq)`, and the
    op also returns the updated caches. This is how prefill and incremental
    decoding share one op.

    ```mlir
    %o = xfmr.attention %q, %k, %v {causal, n_heads = 8 : i64,
                                    n_kv_heads = 4 : i64}
           : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<16x32xf32>)
             -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$query, Xfmr_FloatTensor:$key,
                       Xfmr_FloatTensor:$value,
                       Optional<Xfmr_FloatTensor>:$key_cache,
                       Optional<Xfmr_FloatTensor>:$value_cache,
                       Optional<Index>:$position,
                       I64Attr:$n_heads, I64Attr:$n_kv_heads,
                       OptionalAttr<F32Attr>:$scale, UnitAttr:$causal,
                       OptionalAttr<Xfmr_PrecisionAttr>:$precision);
  let results = (outs Xfmr_FloatTensor:$result,
                      Variadic<Xfmr_FloatTensor>:$updated_caches);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`cache` `(` $key_cache^ `,` $value_cache `)` `at` $position)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Features per head.
    int64_t getHeadDim();
    /// The scale applied to the scores (the attribute, or 1/sqrt(head_dim)).
    float getEffectiveScale();
  }];
}

//===----------------------------------------------------------------------===//
// Element-wise ops
//===----------------------------------------------------------------------===//

class Xfmr_UnaryOp<string mnemonic, list<Trait> traits = []>
    : Xfmr_Op<mnemonic, !listconcat(traits,
          [Pure, Elementwise, SameOperandsAndResultType])> {
  let arguments = (ins Xfmr_FloatTensor:$input);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

class Xfmr_BinaryOp<string mnemonic, list<Trait> traits = []>
    : Xfmr_Op<mnemonic, !listconcat(traits,
          [Pure, Elementwise, SameOperandsAndResultType])> {
  let arguments = (ins Xfmr_FloatTensor:$lhs, Xfmr_FloatTensor:$rhs);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Xfmr_SiluOp : Xfmr_UnaryOp<"silu"> {
  let summary = "SiLU (swish): x * sigmoid(x)";
  let description = [{
    ```mlir
    %y = xfmr.silu %x : tensor<8x172xf32>
    ```
  }];
}

def Xfmr_GeluOp : Xfmr_Op<"gelu", [Pure, Elementwise,
    SameOperandsAndResultType]> {
  let summary = "GELU, exact (erf) or with the tanh approximation";
  let description = [{
    `none`: `x * 0.5 * (1 + erf(x / sqrt(2)))`; `tanh`: `0.5 * x * (1 +
    tanh(sqrt(2/pi) * (x + 0.044715 x^3)))` (GPT-2's `gelu_new`).

    ```mlir
    %y = xfmr.gelu %x {approximate = #xfmr.gelu_approximation<tanh>}
           : tensor<8x3072xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$input,
                       DefaultValuedAttr<Xfmr_GeluApproximationAttr,
                           "::mixtile::xfmr::GeluApproximation::none">
                           :$approximate);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Xfmr_SoftmaxOp : Xfmr_Op<"softmax", [Pure,
    SameOperandsAndResultType]> {
  let summary = "Softmax along one axis";
  let description = [{
    `result = exp(x - max) / sum(exp(x - max))` along `axis` (negative values
    count from the end; the default is the last axis).

    ```mlir
    %p = xfmr.softmax %s {axis = -1 : i64} : tensor<8x16x16xf32>
    ```
  }];
  let arguments = (ins Xfmr_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Xfmr_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Xfmr_AddOp : Xfmr_BinaryOp<"add", [Commutative]> {
  let summary = "Element-wise addition";
  let description = [{
    ```mlir
    %y = xfmr.add %a, %b : tensor<8x64xf32>
    ```
  }];
}

def Xfmr_MulOp : Xfmr_BinaryOp<"mul", [Commutative]> {
  let summary = "Element-wise multiplication";
  let description = [{
    ```mlir
    %y = xfmr.mul %a, %b : tensor<8x172xf32>
    ```
  }];
}

#endif // MIXTILE_DIALECT_XFMR_IR_XFMROPS_TD
