// RUN: mixtile-opt %s | mixtile-opt | FileCheck %s
// RUN: mixtile-opt %s --mlir-print-op-generic | mixtile-opt | FileCheck %s

/// Every xfmr op prints in a form that parses back to the same op.

// CHECK-LABEL: func.func @weights
func.func @weights() -> (tensor<64x64xf32>, tensor<512x64xf32>) {
  // CHECK: xfmr.weight "layers.0.attention.wq" from "stories260K.bin" {offset = 131100 : i64, storage_type = f32} : tensor<64x64xf32>
  %0 = xfmr.weight "layers.0.attention.wq" from "stories260K.bin" {offset = 131100 : i64, storage_type = f32} : tensor<64x64xf32>
  // CHECK: xfmr.weight "tok_embeddings" from "model.safetensors" : tensor<512x64xf32>
  %1 = xfmr.weight "tok_embeddings" from "model.safetensors" : tensor<512x64xf32>
  // CHECK: xfmr.weight "h.0.attn.k.weight" from "model.safetensors" {offset = 8192 : i64, row_offset = 768 : i64, storage_type = f32, stored_shape = array<i64: 768, 2304>, transpose} : tensor<768x768xf32>
  %2 = xfmr.weight "h.0.attn.k.weight" from "model.safetensors" {offset = 8192 : i64, storage_type = f32, stored_shape = array<i64: 768, 2304>, transpose, row_offset = 768 : i64} : tensor<768x768xf32>
  return %0, %1 : tensor<64x64xf32>, tensor<512x64xf32>
}

// CHECK-LABEL: func.func @embedding
func.func @embedding(%table: tensor<512x64xf32>, %tokens: tensor<8xi32>,
                     %batch: tensor<2x8xi64>) -> (tensor<8x64xf32>, tensor<2x8x64xf32>) {
  // CHECK: xfmr.embedding %{{.*}}[%{{.*}}] : tensor<512x64xf32>, tensor<8xi32> -> tensor<8x64xf32>
  %0 = xfmr.embedding %table[%tokens] : tensor<512x64xf32>, tensor<8xi32> -> tensor<8x64xf32>
  // CHECK: xfmr.embedding %{{.*}}[%{{.*}}] : tensor<512x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  %1 = xfmr.embedding %table[%batch] : tensor<512x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  return %0, %1 : tensor<8x64xf32>, tensor<2x8x64xf32>
}

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: xfmr.rms_norm %{{.*}}, %{{.*}} {epsilon = 1.250000e-01 : f32} : tensor<?x64xf32>, tensor<64xf32>
  %0 = xfmr.rms_norm %x, %g {epsilon = 0.125 : f32} : tensor<?x64xf32>, tensor<64xf32>
  // CHECK: xfmr.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %1 = xfmr.layer_norm %x, %g, %b : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<8x64xf32>, %w: tensor<172x64xf32>, %b: tensor<172xf32>) -> (tensor<8x172xf32>, tensor<8x172xf32>) {
  // CHECK: xfmr.linear %{{.*}}, %{{.*}} {precision = #xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>} : (tensor<8x64xf32>, tensor<172x64xf32>) -> tensor<8x172xf32>
  %0 = xfmr.linear %x, %w {precision = #xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>} : (tensor<8x64xf32>, tensor<172x64xf32>) -> tensor<8x172xf32>
  // CHECK: xfmr.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<8x64xf32>, tensor<172x64xf32>, tensor<172xf32>) -> tensor<8x172xf32>
  %1 = xfmr.linear %x, %w, %b : (tensor<8x64xf32>, tensor<172x64xf32>, tensor<172xf32>) -> tensor<8x172xf32>
  return %0, %1 : tensor<8x172xf32>, tensor<8x172xf32>
}

// CHECK-LABEL: func.func @precision_records
func.func @precision_records(%x: tensor<4x64xf32>, %w: tensor<64x64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) {
  // CHECK: #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32>
  %0 = xfmr.linear %x, %w {precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32>} : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  // CHECK: #xfmr.precision<weights = f8E5M2, activations = f8E5M2, scale = f32, accumulator = f32>
  %1 = xfmr.linear %x, %w {precision = #xfmr.precision<weights = f8E5M2, activations = f8E5M2, scale = f32, accumulator = f32>} : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  // CHECK: #xfmr.precision<weights = f4E2M1FN, activations = f4E2M1FN, scale = f8E4M3FN, block = 16, accumulator = f32>
  %2 = xfmr.linear %x, %w {precision = #xfmr.precision<weights = f4E2M1FN, activations = f4E2M1FN, scale = f8E4M3FN, block = 16, accumulator = f32>} : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  return %0, %1, %2 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>
}

// CHECK-LABEL: func.func @matmul
func.func @matmul(%q: tensor<8x16x8xf32>, %k: tensor<8x16x8xf32>, %p: tensor<8x16x16xf32>) -> (tensor<8x16x16xf32>, tensor<8x16x8xf32>) {
  // CHECK: xfmr.matmul %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<8x16x8xf32>, tensor<8x16x8xf32>) -> tensor<8x16x16xf32>
  %0 = xfmr.matmul %q, %k {transpose_rhs} : (tensor<8x16x8xf32>, tensor<8x16x8xf32>) -> tensor<8x16x16xf32>
  // CHECK: xfmr.matmul %{{.*}}, %{{.*}} : (tensor<8x16x16xf32>, tensor<8x16x8xf32>) -> tensor<8x16x8xf32>
  %1 = xfmr.matmul %p, %k : (tensor<8x16x16xf32>, tensor<8x16x8xf32>) -> tensor<8x16x8xf32>
  return %0, %1 : tensor<8x16x16xf32>, tensor<8x16x8xf32>
}

// CHECK-LABEL: func.func @rope
func.func @rope(%x: tensor<16x64xf32>, %pos: tensor<16xi32>) -> (tensor<16x64xf32>, tensor<16x64xf32>) {
  // CHECK: xfmr.rope %{{.*}}, %{{.*}} {head_dim = 8 : i64} : tensor<16x64xf32>, tensor<16xi32>
  %0 = xfmr.rope %x, %pos {head_dim = 8 : i64} : tensor<16x64xf32>, tensor<16xi32>
  // CHECK: xfmr.rope %{{.*}}, %{{.*}} {head_dim = 8 : i64, style = #xfmr.rope_style<half>, theta = 5.000000e+05 : f32}
  %1 = xfmr.rope %x, %pos {head_dim = 8 : i64, theta = 5.0e5 : f32, style = #xfmr.rope_style<half>} : tensor<16x64xf32>, tensor<16xi32>
  return %0, %1 : tensor<16x64xf32>, tensor<16x64xf32>
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<16x64xf32>, %k: tensor<16x32xf32>, %v: tensor<16x32xf32>) -> tensor<16x64xf32> {
  // CHECK: xfmr.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x64xf32>
  %0 = xfmr.attention %q, %k, %v {causal, n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<16x64xf32>, tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// CHECK-LABEL: func.func @attention_kv_cache
func.func @attention_kv_cache(%q: tensor<1x64xf32>, %k: tensor<1x32xf32>, %v: tensor<1x32xf32>,
                              %kc: tensor<512x32xf32>, %vc: tensor<512x32xf32>, %pos: index)
    -> (tensor<1x64xf32>, tensor<512x32xf32>, tensor<512x32xf32>) {
  // CHECK: %{{.*}}, %{{.*}}:2 = xfmr.attention %{{.*}}, %{{.*}}, %{{.*}} cache(%{{.*}}, %{{.*}}) at %{{.*}} {causal, n_heads = 8 : i64, n_kv_heads = 4 : i64, precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32, kv_cache = f8E4M3FN>, scale = 0.353553385 : f32}
  %0:3 = xfmr.attention %q, %k, %v cache(%kc, %vc) at %pos {causal, n_heads = 8 : i64, n_kv_heads = 4 : i64, scale = 0.353553385 : f32, precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32, kv_cache = f8E4M3FN>} : (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<512x32xf32>, tensor<512x32xf32>, index) -> (tensor<1x64xf32>, tensor<512x32xf32>, tensor<512x32xf32>)
  return %0#0, %0#1, %0#2 : tensor<1x64xf32>, tensor<512x32xf32>, tensor<512x32xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<8x172xf32>, %b: tensor<8x172xf32>) -> tensor<8x172xf32> {
  // CHECK: xfmr.silu %{{.*}} : tensor<8x172xf32>
  %0 = xfmr.silu %a : tensor<8x172xf32>
  // CHECK: xfmr.gelu %{{.*}} : tensor<8x172xf32>
  %1 = xfmr.gelu %0 : tensor<8x172xf32>
  // CHECK: xfmr.gelu %{{.*}} {approximate = #xfmr.gelu_approximation<tanh>} : tensor<8x172xf32>
  %2 = xfmr.gelu %1 {approximate = #xfmr.gelu_approximation<tanh>} : tensor<8x172xf32>
  // CHECK: xfmr.mul %{{.*}}, %{{.*}} : tensor<8x172xf32>
  %3 = xfmr.mul %2, %b : tensor<8x172xf32>
  // CHECK: xfmr.add %{{.*}}, %{{.*}} : tensor<8x172xf32>
  %4 = xfmr.add %3, %a : tensor<8x172xf32>
  // CHECK: xfmr.softmax %{{.*}} : tensor<8x172xf32>
  %5 = xfmr.softmax %4 : tensor<8x172xf32>
  // CHECK: xfmr.softmax %{{.*}} {axis = 0 : i64} : tensor<8x172xf32>
  %6 = xfmr.softmax %5 {axis = 0 : i64} : tensor<8x172xf32>
  return %6 : tensor<8x172xf32>
}
