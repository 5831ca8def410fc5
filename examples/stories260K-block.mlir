// One transformer block of stories260K (dim 64, hidden 172, 8 query heads,
// 4 KV heads, vocab 512) plus embedding and output head, as xfmr IR. The
// weights are references into the llama2.c checkpoint, not inline data.
// Prefill of a 16-token prompt.

func.func @forward(%tokens: tensor<16xi32>, %positions: tensor<16xi32>) -> tensor<16x512xf32> {
  %emb = xfmr.weight "tok_embeddings" from "stories260K.bin" : tensor<512x64xf32>
  %x = xfmr.embedding %emb[%tokens] : tensor<512x64xf32>, tensor<16xi32> -> tensor<16x64xf32>

  // Attention.
  %g0 = xfmr.weight "layers.0.attention_norm" from "stories260K.bin" : tensor<64xf32>
  %h = xfmr.rms_norm %x, %g0 : tensor<16x64xf32>, tensor<64xf32>
  %wq = xfmr.weight "layers.0.attention.wq" from "stories260K.bin" : tensor<64x64xf32>
  %wk = xfmr.weight "layers.0.attention.wk" from "stories260K.bin" : tensor<32x64xf32>
  %wv = xfmr.weight "layers.0.attention.wv" from "stories260K.bin" : tensor<32x64xf32>
  %wo = xfmr.weight "layers.0.attention.wo" from "stories260K.bin" : tensor<64x64xf32>
  %q = xfmr.linear %h, %wq : (tensor<16x64xf32>, tensor<64x64xf32>) -> tensor<16x64xf32>
  %k = xfmr.linear %h, %wk : (tensor<16x64xf32>, tensor<32x64xf32>) -> tensor<16x32xf32>
  %v = xfmr.linear %h, %wv : (tensor<16x64xf32>, tensor<32x64xf32>) -> tensor<16x32xf32>
  %qr = xfmr.rope %q, %positions {head_dim = 8 : i64} : tensor<16x64xf32>, tensor<16xi32>
  %kr = xfmr.rope %k, %positions {head_dim = 8 : i64} : tensor<16x32xf32>, tensor<16xi32>
  %att = xfmr.attention %qr, %kr, %v {causal, n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x64xf32>
  %o = xfmr.linear %att, %wo : (tensor<16x64xf32>, tensor<64x64xf32>) -> tensor<16x64xf32>
  %x1 = xfmr.add %x, %o : tensor<16x64xf32>

  // SwiGLU feed-forward.
  %g1 = xfmr.weight "layers.0.ffn_norm" from "stories260K.bin" : tensor<64xf32>
  %h1 = xfmr.rms_norm %x1, %g1 : tensor<16x64xf32>, tensor<64xf32>
  %w1 = xfmr.weight "layers.0.feed_forward.w1" from "stories260K.bin" : tensor<172x64xf32>
  %w2 = xfmr.weight "layers.0.feed_forward.w2" from "stories260K.bin" : tensor<64x172xf32>
  %w3 = xfmr.weight "layers.0.feed_forward.w3" from "stories260K.bin" : tensor<172x64xf32>
  %gate = xfmr.linear %h1, %w1 : (tensor<16x64xf32>, tensor<172x64xf32>) -> tensor<16x172xf32>
  %up = xfmr.linear %h1, %w3 : (tensor<16x64xf32>, tensor<172x64xf32>) -> tensor<16x172xf32>
  %act = xfmr.silu %gate : tensor<16x172xf32>
  %prod = xfmr.mul %act, %up : tensor<16x172xf32>
  %down = xfmr.linear %prod, %w2 : (tensor<16x172xf32>, tensor<64x172xf32>) -> tensor<16x64xf32>
  %x2 = xfmr.add %x1, %down : tensor<16x64xf32>

  // Output head, tied to the token embedding.
  %gf = xfmr.weight "norm" from "stories260K.bin" : tensor<64xf32>
  %hf = xfmr.rms_norm %x2, %gf : tensor<16x64xf32>, tensor<64xf32>
  %logits = xfmr.linear %hf, %emb : (tensor<16x64xf32>, tensor<512x64xf32>) -> tensor<16x512xf32>
  return %logits : tensor<16x512xf32>
}
