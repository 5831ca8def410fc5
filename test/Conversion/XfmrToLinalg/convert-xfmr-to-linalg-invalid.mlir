// RUN: mixtile-opt %s --split-input-file --convert-xfmr-to-linalg -verify-diagnostics

// Every error of convert-xfmr-to-linalg: IR outside the importers' calling
// convention, ops and precision records the CPU back end does not lower.
// A failing module is left unchanged.

// expected-error @+1 {{convert-xfmr-to-linalg: the module has no func.func @forward with a body}}
module {
  func.func private @forward(tensor<?xi32>, tensor<?xi32>, index) -> tensor<?x4xf32>
}

// -----

// expected-error @+1 {{convert-xfmr-to-linalg: the module already has a @mixtile_forward}}
module {
  func.func private @mixtile_forward()
  func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
    %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
    %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
    return %x : tensor<?x4xf32>
  }
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: tokens and positions must be tensor<?xi32>}}
func.func @forward(%t: tensor<?xi64>, %p: tensor<?xi64>, %s: index) -> tensor<?x4xf32> {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi64> -> tensor<?x4xf32>
  return %x : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: expected a single block}}
func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
  cf.br ^next
^next:
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return %x : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: expected (tokens, positions, start, caches...) -> (logits, caches...)}}
func.func @forward(%t: tensor<?xi32>) -> tensor<?x4xf32> {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return %x : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: the start position must be an index}}
func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: i64) -> tensor<?x4xf32> {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return %x : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: logits must be tensor<?xVOCABxf32>}}
func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<2x4xf32> {
  %x = arith.constant dense<0.0> : tensor<2x4xf32>
  return %x : tensor<2x4xf32>
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: expected one updated cache per cache argument}}
func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index, %c: tensor<8x4xf32>) -> tensor<?x4xf32> {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return %x : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: caches must be statically shaped f32 tensors}}
func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index, %c: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return %x, %c : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// expected-error @+1 {{'func.func' op does not follow the importers' calling convention: updated caches must have the type of their argument}}
func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index, %c: tensor<8x4xf32>) -> (tensor<?x4xf32>, tensor<4x8xf32>) {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %d = arith.constant dense<0.0> : tensor<4x8xf32>
  return %x, %d : tensor<?x4xf32>, tensor<4x8xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  // expected-error @+1 {{'arith.addf' op is not supported by the CPU back end}}
  %y = arith.addf %x, %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
  %w = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %w[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  // expected-error @+1 {{'arith.constant' op only f32 tensor constants are supported by the CPU back end}}
  %c = arith.constant dense<1> : tensor<4xi32>
  return %x : tensor<?x4xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
  %e = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x32xf32>
  %x = xfmr.embedding %e[%t] : tensor<4x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %w = xfmr.weight "output" from "m.bin" {offset = 512 : i64} : tensor<4x32xf32>
  // expected-error @+1 {{'xfmr.linear' op only f32 accumulation is simulated, got a record with f16}}
  %y = xfmr.linear %x, %w {precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f16>} : (tensor<?x32xf32>, tensor<4x32xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
  %e = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x32xf32>
  %x = xfmr.embedding %e[%t] : tensor<4x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %w = xfmr.weight "output" from "m.bin" {offset = 512 : i64} : tensor<4x32xf32>
  %w2 = xfmr.add %w, %w : tensor<4x32xf32>
  // expected-error @+1 {{'xfmr.linear' op quantizes its weights, which must come from an xfmr.weight or a constant}}
  %y = xfmr.linear %x, %w2 {precision = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E8M0FNU, block = 32, accumulator = f32>} : (tensor<?x32xf32>, tensor<4x32xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
  %e = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %e[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %c = arith.constant dense<1.0> : tensor<2x3x16xf32>
  // expected-error @+1 {{'xfmr.rope' op only [seq, features] inputs with static features are supported}}
  %r = xfmr.rope %c, %p {head_dim = 8 : i64} : tensor<2x3x16xf32>, tensor<?xi32>
  return %x : tensor<?x4xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x4xf32> {
  %e = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x4xf32>
  %x = xfmr.embedding %e[%t] : tensor<4x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %c = arith.constant dense<1.0> : tensor<2x3x16xf32>
  // expected-error @+1 {{'xfmr.attention' op only [seq, features] attention with static features is supported}}
  %o = xfmr.attention %c, %c, %c {n_heads = 2 : i64, n_kv_heads = 2 : i64} : (tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  return %x : tensor<?x4xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x32xf32> {
  %e = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x32xf32>
  %x = xfmr.embedding %e[%t] : tensor<4x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %scores = xfmr.matmul %x, %x {transpose_rhs} : (tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<?x?xf32>
  // expected-error @+1 {{'xfmr.matmul' op block-scaled activations need a static reduction size}}
  %y = xfmr.matmul %scores, %x {precision = #xfmr.precision<weights = f8E4M3FN, activations = f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>} : (tensor<?x?xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>, %s: index) -> tensor<?x16xf32> {
  %e = xfmr.weight "tok_embeddings" from "m.bin" {offset = 0 : i64} : tensor<4x16xf32>
  %x = xfmr.embedding %e[%t] : tensor<4x16xf32>, tensor<?xi32> -> tensor<?x16xf32>
  // expected-error @+1 {{'xfmr.attention' op only f32 accumulation is simulated, got a record with f16}}
  %o = xfmr.attention %x, %x, %x {causal, n_heads = 2 : i64, n_kv_heads = 2 : i64, precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f16>} : (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
  return %o : tensor<?x16xf32>
}
