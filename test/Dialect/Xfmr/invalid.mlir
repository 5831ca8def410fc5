// RUN: mixtile-opt %s -split-input-file -verify-diagnostics

/// Every verifier message of the xfmr ops has a case here.

func.func @weight_empty_key() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op key must not be empty}}
  %0 = xfmr.weight "" from "model.bin" : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @weight_empty_file() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op file must not be empty}}
  %0 = xfmr.weight "w" from "" : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @weight_negative_offset() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op offset must be non-negative, got -8}}
  %0 = xfmr.weight "w" from "model.bin" {offset = -8 : i64} : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @weight_integer_storage() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op storage_type must be a float type, got 'i8'}}
  %0 = xfmr.weight "w" from "model.bin" {storage_type = i8} : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @weight_dynamic_shape() -> tensor<?x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op result #0 must be statically shaped tensor of floating-point values}}
  %0 = xfmr.weight "w" from "model.bin" : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @weight_stored_rank() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op stored_shape must have the result's rank}}
  %0 = xfmr.weight "w" from "m.bin" {stored_shape = array<i64: 16>} : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @weight_stored_negative() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op stored_shape must be non-negative}}
  %0 = xfmr.weight "w" from "m.bin" {stored_shape = array<i64: -4, 4>} : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @weight_transpose_rank() -> tensor<4xf32> {
  // expected-error @+1 {{'xfmr.weight' op transpose needs a 2-D weight}}
  %0 = xfmr.weight "w" from "m.bin" {transpose} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @weight_rows_outside() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op rows [10, 14) are outside the stored tensor's 12 rows}}
  %0 = xfmr.weight "w" from "m.bin" {stored_shape = array<i64: 4, 12>, transpose, row_offset = 10 : i64} : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @weight_layout_mismatch() -> tensor<4x4xf32> {
  // expected-error @+1 {{'xfmr.weight' op stored layout does not match the result beyond the first dimension}}
  %0 = xfmr.weight "w" from "m.bin" {stored_shape = array<i64: 12, 8>} : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @embedding_table_rank(%t: tensor<512xf32>, %ids: tensor<8xi32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.embedding' op table must be [vocab, dim], got 'tensor<512xf32>'}}
  %0 = xfmr.embedding %t[%ids] : tensor<512xf32>, tensor<8xi32> -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @embedding_result_shape(%t: tensor<512x64xf32>, %ids: tensor<8xi32>) -> tensor<8x32xf32> {
  // expected-error @+1 {{'xfmr.embedding' op result must have the shape of the tokens followed by the embedding dim, got 'tensor<8x32xf32>'}}
  %0 = xfmr.embedding %t[%ids] : tensor<512x64xf32>, tensor<8xi32> -> tensor<8x32xf32>
  return %0 : tensor<8x32xf32>
}

// -----

func.func @embedding_element_type(%t: tensor<512x64xf32>, %ids: tensor<8xi32>) -> tensor<8x64xbf16> {
  // expected-error @+1 {{'xfmr.embedding' op operand and result element types must match, got 'bf16' and 'f32'}}
  %0 = xfmr.embedding %t[%ids] : tensor<512x64xf32>, tensor<8xi32> -> tensor<8x64xbf16>
  return %0 : tensor<8x64xbf16>
}

// -----

func.func @embedding_kv_cache_record(%t: tensor<512x64xf32>, %ids: tensor<8xi32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.embedding' op precision sets a KV cache format but the op has no KV cache}}
  %0 = xfmr.embedding %t[%ids] {precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32, kv_cache = bf16>} : tensor<512x64xf32>, tensor<8xi32> -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @rms_norm_scalar(%x: tensor<f32>, %g: tensor<64xf32>) -> tensor<f32> {
  // expected-error @+1 {{'xfmr.rms_norm' op input must have at least one axis}}
  %0 = xfmr.rms_norm %x, %g : tensor<f32>, tensor<64xf32>
  return %0 : tensor<f32>
}

// -----

func.func @rms_norm_weight_size(%x: tensor<8x64xf32>, %g: tensor<32xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.rms_norm' op parameters must be vectors of the input's last axis size (64), got 'tensor<32xf32>'}}
  %0 = xfmr.rms_norm %x, %g : tensor<8x64xf32>, tensor<32xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @rms_norm_epsilon(%x: tensor<8x64xf32>, %g: tensor<64xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.rms_norm' op epsilon must be positive}}
  %0 = xfmr.rms_norm %x, %g {epsilon = 0.0 : f32} : tensor<8x64xf32>, tensor<64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @layer_norm_bias_size(%x: tensor<8x64xf32>, %g: tensor<64xf32>, %b: tensor<8x64xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.layer_norm' op parameters must be vectors of the input's last axis size (64), got 'tensor<8x64xf32>'}}
  %0 = xfmr.layer_norm %x, %g, %b : tensor<8x64xf32>, tensor<64xf32>, tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @layer_norm_element_type(%x: tensor<8x64xf32>, %g: tensor<64xbf16>, %b: tensor<64xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.layer_norm' op operand and result element types must match, got 'bf16' and 'f32'}}
  %0 = xfmr.layer_norm %x, %g, %b : tensor<8x64xf32>, tensor<64xbf16>, tensor<64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<4x4xf32>) -> tensor<f32> {
  // expected-error @+1 {{'xfmr.linear' op input must have at least one axis}}
  %0 = xfmr.linear %x, %w : (tensor<f32>, tensor<4x4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @linear_weight_rank(%x: tensor<8x64xf32>, %w: tensor<64xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.linear' op weight must be [out_features, in_features], got 'tensor<64xf32>'}}
  %0 = xfmr.linear %x, %w : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @linear_in_features(%x: tensor<8x64xf32>, %w: tensor<172x32xf32>) -> tensor<8x172xf32> {
  // expected-error @+1 {{'xfmr.linear' op input features (64) do not match the weight's in_features (32)}}
  %0 = xfmr.linear %x, %w : (tensor<8x64xf32>, tensor<172x32xf32>) -> tensor<8x172xf32>
  return %0 : tensor<8x172xf32>
}

// -----

func.func @linear_bias(%x: tensor<8x64xf32>, %w: tensor<172x64xf32>, %b: tensor<64xf32>) -> tensor<8x172xf32> {
  // expected-error @+1 {{'xfmr.linear' op bias must be a vector of out_features (172) elements, got 'tensor<64xf32>'}}
  %0 = xfmr.linear %x, %w, %b : (tensor<8x64xf32>, tensor<172x64xf32>, tensor<64xf32>) -> tensor<8x172xf32>
  return %0 : tensor<8x172xf32>
}

// -----

func.func @linear_result(%x: tensor<8x64xf32>, %w: tensor<172x64xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'xfmr.linear' op result must be [..., out_features], got 'tensor<8x64xf32>'}}
  %0 = xfmr.linear %x, %w : (tensor<8x64xf32>, tensor<172x64xf32>) -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @matmul_rank(%a: tensor<8x16x8xf32>, %b: tensor<8x16xf32>) -> tensor<8x16x16xf32> {
  // expected-error @+1 {{'xfmr.matmul' op operands must have the same rank, at least 2}}
  %0 = xfmr.matmul %a, %b : (tensor<8x16x8xf32>, tensor<8x16xf32>) -> tensor<8x16x16xf32>
  return %0 : tensor<8x16x16xf32>
}

// -----

func.func @matmul_batch(%a: tensor<8x16x8xf32>, %b: tensor<4x8x16xf32>) -> tensor<8x16x16xf32> {
  // expected-error @+1 {{'xfmr.matmul' op batch dimensions of the operands do not match}}
  %0 = xfmr.matmul %a, %b : (tensor<8x16x8xf32>, tensor<4x8x16xf32>) -> tensor<8x16x16xf32>
  return %0 : tensor<8x16x16xf32>
}

// -----

func.func @matmul_reduction(%a: tensor<16x8xf32>, %b: tensor<16x8xf32>) -> tensor<16x8xf32> {
  // expected-error @+1 {{'xfmr.matmul' op reduction dimensions do not match (8 vs 16)}}
  %0 = xfmr.matmul %a, %b : (tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return %0 : tensor<16x8xf32>
}

// -----

func.func @matmul_result(%a: tensor<16x8xf32>, %b: tensor<16x8xf32>) -> tensor<16x8xf32> {
  // expected-error @+1 {{'xfmr.matmul' op result must be [batch..., M, N], got 'tensor<16x8xf32>'}}
  %0 = xfmr.matmul %a, %b {transpose_rhs} : (tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return %0 : tensor<16x8xf32>
}

// -----

func.func @rope_odd_head_dim(%x: tensor<16x63xf32>, %p: tensor<16xi32>) -> tensor<16x63xf32> {
  // expected-error @+1 {{'xfmr.rope' op head_dim must be positive and even, got 7}}
  %0 = xfmr.rope %x, %p {head_dim = 7 : i64} : tensor<16x63xf32>, tensor<16xi32>
  return %0 : tensor<16x63xf32>
}

// -----

func.func @rope_rank(%x: tensor<64xf32>, %p: tensor<16xi32>) -> tensor<64xf32> {
  // expected-error @+1 {{'xfmr.rope' op input must be [..., seq, heads * head_dim]}}
  %0 = xfmr.rope %x, %p {head_dim = 8 : i64} : tensor<64xf32>, tensor<16xi32>
  return %0 : tensor<64xf32>
}

// -----

func.func @rope_features(%x: tensor<16x60xf32>, %p: tensor<16xi32>) -> tensor<16x60xf32> {
  // expected-error @+1 {{'xfmr.rope' op features (60) are not a multiple of head_dim (8)}}
  %0 = xfmr.rope %x, %p {head_dim = 8 : i64} : tensor<16x60xf32>, tensor<16xi32>
  return %0 : tensor<16x60xf32>
}

// -----

func.func @rope_positions(%x: tensor<16x64xf32>, %p: tensor<8xi32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.rope' op positions must hold one entry per sequence row, got 'tensor<8xi32>'}}
  %0 = xfmr.rope %x, %p {head_dim = 8 : i64} : tensor<16x64xf32>, tensor<8xi32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @rope_theta(%x: tensor<16x64xf32>, %p: tensor<16xi32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.rope' op theta must be positive}}
  %0 = xfmr.rope %x, %p {head_dim = 8 : i64, theta = -1.0 : f32} : tensor<16x64xf32>, tensor<16xi32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @attention_rank(%q: tensor<64xf32>, %k: tensor<32xf32>, %v: tensor<32xf32>) -> tensor<64xf32> {
  // expected-error @+1 {{'xfmr.attention' op query, key and value must all be [seq, features] or [batch, seq, features]}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<64xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<64xf32>
  return %0 : tensor<64xf32>
}

// -----

func.func @attention_zero_heads(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>, %v: tensor<16x32xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op n_heads and n_kv_heads must be positive}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 0 : i64} : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @attention_gqa_groups(%q: tensor<16x64xf32>, %k: tensor<16x24xf32>, %v: tensor<16x24xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op n_heads (8) must be a multiple of n_kv_heads (3)}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 3 : i64} : (tensor<16x64xf32>, tensor<16x24xf32>, tensor<16x24xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @attention_query_features(%q: tensor<16x60xf32>, %k: tensor<16x32xf32>, %v: tensor<16x32xf32>) -> tensor<16x60xf32> {
  // expected-error @+1 {{'xfmr.attention' op query features (60) are not a multiple of n_heads (8)}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x60xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x60xf32>
  return %0 : tensor<16x60xf32>
}

// -----

func.func @attention_key_features(%q: tensor<16x64xf32>, %k: tensor<16x64xf32>, %v: tensor<16x64xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op key features must be n_kv_heads * head_dim = 32, got 64}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x64xf32>, tensor<16x64xf32>, tensor<16x64xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @attention_value_shape(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>, %v: tensor<8x32xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op value shape must match key shape}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<8x32xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @attention_batch(%q: tensor<2x16x64xf32>, %k: tensor<3x16x32xf32>, %v: tensor<3x16x32xf32>) -> tensor<2x16x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op batch dimensions of query and key do not match}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<2x16x64xf32>, tensor<3x16x32xf32>, tensor<3x16x32xf32>) -> tensor<2x16x64xf32>
  return %0 : tensor<2x16x64xf32>
}

// -----

func.func @attention_partial_cache(%q: tensor<1x64xf32>, %k: tensor<1x32xf32>, %v: tensor<1x32xf32>, %kc: tensor<512x32xf32>) -> tensor<1x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op key_cache, value_cache and position must be given together}}
  %0 = "xfmr.attention"(%q, %k, %v, %kc) <{n_heads = 8 : i64, n_kv_heads = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}> : (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<512x32xf32>) -> tensor<1x64xf32>
  return %0 : tensor<1x64xf32>
}

// -----

func.func @attention_missing_cache_results(%q: tensor<1x64xf32>, %k: tensor<1x32xf32>, %v: tensor<1x32xf32>, %kc: tensor<512x32xf32>, %vc: tensor<512x32xf32>, %pos: index) -> tensor<1x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op expected 2 updated cache results, got 0}}
  %0 = xfmr.attention %q, %k, %v cache(%kc, %vc) at %pos {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<512x32xf32>, tensor<512x32xf32>, index) -> tensor<1x64xf32>
  return %0 : tensor<1x64xf32>
}

// -----

func.func @attention_cache_shape(%q: tensor<1x64xf32>, %k: tensor<1x32xf32>, %v: tensor<1x32xf32>, %kc: tensor<512x64xf32>, %vc: tensor<512x64xf32>, %pos: index) -> tensor<1x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op caches must be [..., max_seq, features] with the key's batch and feature sizes, got 'tensor<512x64xf32>'}}
  %0:3 = xfmr.attention %q, %k, %v cache(%kc, %vc) at %pos {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<512x64xf32>, tensor<512x64xf32>, index) -> (tensor<1x64xf32>, tensor<512x64xf32>, tensor<512x64xf32>)
  return %0#0 : tensor<1x64xf32>
}

// -----

func.func @attention_updated_cache_type(%q: tensor<1x64xf32>, %k: tensor<1x32xf32>, %v: tensor<1x32xf32>, %kc: tensor<512x32xf32>, %vc: tensor<512x32xf32>, %pos: index) -> tensor<1x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op updated caches must have the caches' types}}
  %0:3 = xfmr.attention %q, %k, %v cache(%kc, %vc) at %pos {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<512x32xf32>, tensor<512x32xf32>, index) -> (tensor<1x64xf32>, tensor<256x32xf32>, tensor<512x32xf32>)
  return %0#0 : tensor<1x64xf32>
}

// -----

func.func @attention_causal_lengths(%q: tensor<16x64xf32>, %k: tensor<8x32xf32>, %v: tensor<8x32xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op causal attention without a cache needs as many keys as queries}}
  %0 = xfmr.attention %q, %k, %v {causal, n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x64xf32>, tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @attention_result(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>, %v: tensor<16x32xf32>) -> tensor<16x32xf32> {
  // expected-error @+1 {{'xfmr.attention' op result must have the query's shape, got 'tensor<16x32xf32>'}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x32xf32>
  return %0 : tensor<16x32xf32>
}

// -----

func.func @attention_scale(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>, %v: tensor<16x32xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'xfmr.attention' op scale must be positive}}
  %0 = xfmr.attention %q, %k, %v {n_heads = 8 : i64, n_kv_heads = 4 : i64, scale = 0.0 : f32} : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @softmax_axis(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'xfmr.softmax' op axis 2 is out of range for rank 2}}
  %0 = xfmr.softmax %x {axis = 2 : i64} : tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// -----

func.func @add_types(%a: tensor<8x16xf32>, %b: tensor<8x8xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'xfmr.add' op all non-scalar operands/results must have the same shape and base type}}
  %0 = "xfmr.add"(%a, %b) : (tensor<8x16xf32>, tensor<8x8xf32>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}
