// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false bf16-dot=true" --cse | FileCheck %s
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false" --cse | FileCheck %s --check-prefix=EXACT

// A product of pairs of bf16 codes (the linear of BF16 activations and
// BF16 weights, both in pairs along k: i32 words, the code of k = 2i in the
// high half): fma(low(x), low(w), fma(high(x), high(w), acc)). With
// bf16-dot, each k of a tile broadcasts every row's word and loads every
// vector's 16 words as they are, and takes one vdpbf16ps per accumulator,
// which adds the high halves' product first. Tiles of 6 rows and 4 vectors
// (dot-rows, dot-vectors: 24 accumulators, one broadcast word per row);
// single rows (batch 1) take the same 4 vectors, prefetching each: a
// group of 64 columns, the pack's panel (WeightPack.h).
// A body whose FMAs take the low halves first, a single FMA of one half,
// or FMAs of two different weights are no such product: FMAs only. Without the option, FMAs only.

// CHECK-LABEL: func.func private @dot_rows0
// CHECK:         %{{.*}}:24 = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args
// CHECK:           memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x32xi32>
// CHECK:           vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK:           vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK:           %[[W:.*]] = vector.load %{{.*}} : memref<32x128xi32>, vector<16xi32>
// CHECK:           vector.bitcast %[[W]] : vector<16xi32> to vector<32xbf16>
// CHECK-NOT:       vector.shuffle
// CHECK-COUNT-24:  llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK:           scf.yield
// CHECK:         %{{.*}}:4 = scf.for
// CHECK-COUNT-4:     memref.prefetch
// CHECK-NOT:         memref.prefetch
// CHECK:           scf.yield
// CHECK-LABEL: func.func private @low_half_first_rows1
// CHECK-NOT:     dpbf16ps
// CHECK:         math.fma
// CHECK-LABEL: func.func private @one_half_rows2
// CHECK-NOT:     dpbf16ps
// CHECK:         math.fma
// CHECK-LABEL: func.func private @two_weights_rows3
// CHECK-NOT:     dpbf16ps
// CHECK:         math.fma
// CHECK-NOT:     dpbf16ps
// EXACT-LABEL: func.func private @dot_rows0
// EXACT-NOT:     dpbf16ps
// EXACT:         math.fma %{{.*}} : vector<16xf32>
// EXACT-NOT:     dpbf16ps
#rows = affine_map<(m, n, k) -> (m, k)>
#columns = affine_map<(m, n, k) -> (k, n)>
#out = affine_map<(m, n, k) -> (m, n)>
func.func @dot(%x: tensor<?x32xi32>, %w: tensor<32x128xi32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#rows, #columns, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x32xi32>, tensor<32x128xi32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: i32, %b: i32, %acc: f32):
    %c16 = arith.constant 16 : i32
    %high = arith.constant -65536 : i32
    %ah = arith.andi %a, %high : i32
    %ahf = arith.bitcast %ah : i32 to f32
    %bh = arith.andi %b, %high : i32
    %bhf = arith.bitcast %bh : i32 to f32
    %al = arith.shli %a, %c16 : i32
    %alf = arith.bitcast %al : i32 to f32
    %bl = arith.shli %b, %c16 : i32
    %blf = arith.bitcast %bl : i32 to f32
    %f = math.fma %ahf, %bhf, %acc : f32
    %g = math.fma %alf, %blf, %f : f32
    linalg.yield %g : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
func.func @low_half_first(%x: tensor<?x32xi32>, %w: tensor<32x128xi32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#rows, #columns, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x32xi32>, tensor<32x128xi32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: i32, %b: i32, %acc: f32):
    %c16 = arith.constant 16 : i32
    %high = arith.constant -65536 : i32
    %ah = arith.andi %a, %high : i32
    %ahf = arith.bitcast %ah : i32 to f32
    %bh = arith.andi %b, %high : i32
    %bhf = arith.bitcast %bh : i32 to f32
    %al = arith.shli %a, %c16 : i32
    %alf = arith.bitcast %al : i32 to f32
    %bl = arith.shli %b, %c16 : i32
    %blf = arith.bitcast %bl : i32 to f32
    %f = math.fma %alf, %blf, %acc : f32
    %g = math.fma %ahf, %bhf, %f : f32
    linalg.yield %g : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
func.func @one_half(%x: tensor<?x32xi32>, %w: tensor<32x128xi32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#rows, #columns, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x32xi32>, tensor<32x128xi32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: i32, %b: i32, %acc: f32):
    %high = arith.constant -65536 : i32
    %ah = arith.andi %a, %high : i32
    %ahf = arith.bitcast %ah : i32 to f32
    %bh = arith.andi %b, %high : i32
    %bhf = arith.bitcast %bh : i32 to f32
    %f = math.fma %ahf, %bhf, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
func.func @two_weights(%x: tensor<?x32xi32>, %w: tensor<32x128xi32>, %v: tensor<32x128xi32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#rows, #columns, #columns, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %v : tensor<?x32xi32>, tensor<32x128xi32>, tensor<32x128xi32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: i32, %b: i32, %c: i32, %acc: f32):
    %c16 = arith.constant 16 : i32
    %high = arith.constant -65536 : i32
    %ah = arith.andi %a, %high : i32
    %ahf = arith.bitcast %ah : i32 to f32
    %bh = arith.andi %b, %high : i32
    %bhf = arith.bitcast %bh : i32 to f32
    %al = arith.shli %a, %c16 : i32
    %alf = arith.bitcast %al : i32 to f32
    %cl = arith.shli %c, %c16 : i32
    %clf = arith.bitcast %cl : i32 to f32
    %f = math.fma %ahf, %bhf, %acc : f32
    %g = math.fma %alf, %clf, %f : f32
    linalg.yield %g : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
