// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false rows=1 vectors=1 scale-block-sums=true single-row-dispatch=false" --cse --split-input-file | FileCheck %s
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false rows=1 vectors=1 single-row-dispatch=false" --cse --split-input-file | FileCheck %s --check-prefix=EXACT

// scale-block-sums (numerics=fast-products): a body fma(a, e * s, acc)
// whose s changes with k only per block of 32 (a block scale) sums
// fma(a, e, partial) from zero over each period of 32 and then adds
// fma(partial, s, acc): the multiply moves out of the loop over k. Without
// the option the multiply stays in it, once per k, the evaluator's order.

// CHECK-LABEL: func.func private @block_scaled_rows0(
// CHECK:         %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK:         %[[OUT:.*]] = scf.for %{{.*}} step %c32 iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>) {
// CHECK:           %[[SCALE:.*]] = vector.load %{{.*}} : memref<2x16xf32>, vector<16xf32>
// CHECK:           %[[SUM:.*]] = scf.for %{{.*}} iter_args(%[[PARTIAL:.*]] = %[[ZERO]]) -> (vector<16xf32>) {
// CHECK-NOT:         arith.mulf
// CHECK:             %[[E:.*]] = vector.load %{{.*}} : memref<64x16xf32>, vector<16xf32>
// CHECK:             %[[NEXT:.*]] = math.fma %{{.*}}, %[[E]], %[[PARTIAL]] : vector<16xf32>
// CHECK:             scf.yield %[[NEXT]]
// CHECK:           %[[SCALED:.*]] = math.fma %[[SUM]], %[[SCALE]], %[[ACC]] : vector<16xf32>
// CHECK:           scf.yield %[[SCALED]]
// CHECK:         vector.store %[[OUT]]

// EXACT-LABEL: func.func private @block_scaled_rows0(
// EXACT:         scf.for %{{.*}} step %c32 iter_args(
// EXACT:           %[[SCALE:.*]] = vector.load %{{.*}} : memref<2x16xf32>, vector<16xf32>
// EXACT:           scf.for %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>) {
// EXACT:             %[[E:.*]] = vector.load %{{.*}} : memref<64x16xf32>, vector<16xf32>
// EXACT:             %[[W:.*]] = arith.mulf %[[E]], %[[SCALE]] : vector<16xf32>
// EXACT:             math.fma %{{.*}}, %[[W]], %[[ACC]] : vector<16xf32>
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#w = affine_map<(m, n, k) -> (k, n)>
#scales = affine_map<(m, n, k) -> (k floordiv 32, n)>
func.func @block_scaled(%x: tensor<?x64xf32>, %w: tensor<64x16xf32>, %s: tensor<2x16xf32>, %y: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : tensor<?x64xf32>, tensor<64x16xf32>, tensor<2x16xf32>) outs(%y : tensor<?x16xf32>) {
  ^bb0(%a: f32, %e: f32, %scale: f32, %acc: f32):
    %v = arith.mulf %e, %scale : f32
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x16xf32>
  return %r : tensor<?x16xf32>
}

// -----

// A scale that does not change with k (a tensor scale) stays per term: out
// of the reduction, it would change every product's rounding, which FP8
// roundings of activations downstream amplify (docs/CpuBackend.md).

// CHECK-LABEL: func.func private @tensor_scaled_rows0(
// CHECK:         scf.for %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>) {
// CHECK:           %[[W:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:           math.fma %{{.*}}, %[[W]], %[[ACC]] : vector<16xf32>
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#w = affine_map<(m, n, k) -> (k, n)>
func.func @tensor_scaled(%x: tensor<?x64xf32>, %w: tensor<64x16xf32>, %scale: f32, %y: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x16xf32>) outs(%y : tensor<?x16xf32>) {
  ^bb0(%a: f32, %e: f32, %acc: f32):
    %v = arith.mulf %e, %scale : f32
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x16xf32>
  return %r : tensor<?x16xf32>
}

// -----

// A product whose scale changes with every k, or whose scaled weight has
// another use, is not a block-scaled product: it keeps its multiply.

// CHECK-LABEL: func.func private @scale_per_k_rows0(
// CHECK:         scf.for %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>) {
// CHECK:           arith.mulf
// CHECK:           math.fma
// CHECK-LABEL: func.func private @two_uses_rows1(
// CHECK:         scf.for %{{.*}} step %c32 iter_args(
// CHECK:           scf.for %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>) {
// CHECK:             %[[W:.*]] = arith.mulf
// CHECK:             math.fma %[[W]], %[[W]], %[[ACC]]
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#w = affine_map<(m, n, k) -> (k, n)>
#scales = affine_map<(m, n, k) -> (k floordiv 32, n)>
func.func @scale_per_k(%x: tensor<?x64xf32>, %w: tensor<64x16xf32>, %s: tensor<64x16xf32>, %y: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : tensor<?x64xf32>, tensor<64x16xf32>, tensor<64x16xf32>) outs(%y : tensor<?x16xf32>) {
  ^bb0(%a: f32, %e: f32, %scale: f32, %acc: f32):
    %v = arith.mulf %e, %scale : f32
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x16xf32>
  return %r : tensor<?x16xf32>
}
func.func @two_uses(%x: tensor<?x64xf32>, %w: tensor<64x16xf32>, %s: tensor<2x16xf32>, %y: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : tensor<?x64xf32>, tensor<64x16xf32>, tensor<2x16xf32>) outs(%y : tensor<?x16xf32>) {
  ^bb0(%a: f32, %e: f32, %scale: f32, %acc: f32):
    %v = arith.mulf %e, %scale : f32
    %f = math.fma %v, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x16xf32>
  return %r : tensor<?x16xf32>
}
