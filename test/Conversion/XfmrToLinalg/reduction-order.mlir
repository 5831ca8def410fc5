// RUN: mixtile-opt %s --convert-xfmr-to-linalg | mlir-opt --one-shot-bufferize --convert-linalg-to-loops --canonicalize --cse | FileCheck %s

// The evaluator's accumulation orders survive the lowering to loops: every
// reduction loop ascends from 0 and updates one accumulator with one FMA
// (or add) per term. The linear's is the innermost loop; attention's
// reductions enclose the loops over independent sums, which advance
// together (each sum still takes its terms in order).

// The key projection (linear): y[m, n] = fma(x[m, k], w[n, k], y[m, n]) for
// k = 0, 1, ..., 31 (the pack holds w K-major, at [k, n]).
// CHECK-LABEL: func.func @mixtile_forward(
// CHECK-SAME:      %[[START:[a-z0-9]+]]: index,
// CHECK:         memref.store %{{.*}} : memref<?x16xf32>
// CHECK:         scf.for %[[M:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT:      scf.for %[[N:.*]] = %c0 to %c16 step %c1 {
// CHECK-NEXT:        scf.for %[[K:.*]] = %c0 to %c32 step %c1 {
// CHECK-NEXT:          %[[X:.*]] = memref.load %{{.*}}[%[[M]], %[[K]]]
// CHECK-NEXT:          %[[W:.*]] = memref.load %{{.*}}[%[[K]], %[[N]]]
// CHECK-NEXT:          %[[ACC:.*]] = memref.load %[[Y:.*]][%[[M]], %[[N]]]
// CHECK-NEXT:          %[[SUM:.*]] = math.fma %[[X]], %[[W]], %[[ACC]] : f32
// CHECK-NEXT:          memref.store %[[SUM]], %[[Y]][%[[M]], %[[N]]]

// Attention scores: (s, kv, g, d, t), the keys t innermost over the
// transposed keys [kv, d, t]; each key's dot takes the features d in order.
// CHECK:         memref.store %{{.*}} : memref<?x2x2x?xf32>
// CHECK:         scf.for %[[S:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT:      scf.for %[[KV:.*]] = %c0 to %c2 step %c1 {
// CHECK-NEXT:        scf.for %[[G:.*]] = %c0 to %c2 step %c1 {
// CHECK-NEXT:          scf.for %[[D:.*]] = %c0 to %c8 step %c1 {
// CHECK-NEXT:            scf.for %[[T:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT:              %[[Q:.*]] = memref.load %{{.*}}[%[[S]], %[[KV]], %[[G]], %[[D]]]
// CHECK-NEXT:              %[[KE:.*]] = memref.load %{{.*}}[%[[KV]], %[[D]], %[[T]]]
// CHECK-NEXT:              %[[DOT:.*]] = memref.load %[[SCORES:.*]][%[[S]], %[[KV]], %[[G]], %[[T]]]
// CHECK-NEXT:              %[[NEXT:.*]] = math.fma %[[Q]], %[[KE]], %[[DOT]] : f32
// CHECK-NEXT:              memref.store %[[NEXT]], %[[SCORES]][%[[S]], %[[KV]], %[[G]], %[[T]]]

// The softmax sum adds the exponentials of the visible keys in key order,
// (s, t, kv, g): every head's sum takes key t before any takes key t + 1.
// CHECK:         math.roundeven
// CHECK:         memref.store %{{.*}} : memref<?x2x2xf32>
// CHECK:         scf.for %[[S2:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT:      scf.for %[[T2:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT:        scf.for %[[KV2:.*]] = %c0 to %c2 step %c1 {
// CHECK-NEXT:          scf.for %[[G2:.*]] = %c0 to %c2 step %c1 {
// CHECK-NEXT:            %[[E:.*]] = memref.load %{{.*}}[%[[S2]], %[[KV2]], %[[G2]], %[[T2]]]
// CHECK-NEXT:            %[[PART:.*]] = memref.load %[[SUMS:.*]][%[[S2]], %[[KV2]], %[[G2]]]
// CHECK-NEXT:            %[[ADDED:.*]] = arith.addf %[[PART]], %[[E]] : f32
// CHECK-NEXT:            %[[LAST:.*]] = arith.addi %[[START]], %[[S2]] : index
// CHECK-NEXT:            %[[SEEN:.*]] = arith.cmpi ule, %[[T2]], %[[LAST]] : index
// CHECK-NEXT:            arith.select %[[SEEN]], %[[ADDED]], %[[PART]] : f32

// The output: (s, t, kv, g, d), one FMA of probability * value (the
// values head-major, [kv, t, d]) per visible key and feature, every head's
// features advancing key by key.
// CHECK:         memref.store %{{.*}} : memref<?x2x2x8xf32>
// CHECK:         scf.for %[[S3:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT:      scf.for %[[T3:.*]] = %c0 to %{{.*}} step %c1 {
// CHECK-NEXT:        scf.for %[[KV3:.*]] = %c0 to %c2 step %c1 {
// CHECK-NEXT:          scf.for %[[G3:.*]] = %c0 to %c2 step %c1 {
// CHECK-NEXT:            scf.for %[[D3:.*]] = %c0 to %c8 step %c1 {
// CHECK-NEXT:              %[[P:.*]] = memref.load %{{.*}}[%[[S3]], %[[KV3]], %[[G3]], %[[T3]]]
// CHECK-NEXT:              %[[V:.*]] = memref.load %{{.*}}[%[[KV3]], %[[T3]], %[[D3]]]
// CHECK-NEXT:              %[[O:.*]] = memref.load %[[OUT:.*]][%[[S3]], %[[KV3]], %[[G3]], %[[D3]]]
// CHECK-NEXT:              %[[PV:.*]] = math.fma %[[P]], %[[V]], %[[O]] : f32
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index, %kc: tensor<8x16xf32>, %vc: tensor<8x16xf32>) -> (tensor<?x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %wk = xfmr.weight "wk" from "model.bin" {offset = 2048 : i64} : tensor<16x32xf32>
  %k = xfmr.linear %x, %wk : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  %o, %c:2 = xfmr.attention %x, %k, %k cache(%kc, %vc) at %start {causal, n_heads = 4 : i64, n_kv_heads = 2 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, index) -> (tensor<?x32xf32>, tensor<8x16xf32>, tensor<8x16xf32>)
  %y = xfmr.linear %o, %wk : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  return %y, %c#0, %c#1 : tensor<?x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>
}
