// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false bf16-dot=true" --cse | FileCheck %s
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false bf16-dot=true dot-depth=7" --cse | FileCheck %s --check-prefix=ODD-BLOCKS
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false" --cse | FileCheck %s --check-prefix=EXACT

// A product of bf16 codes (the linear of BF16 activations and BF16
// weights, ScalarBuilder::fromBF16Code on both) whose activation codes are
// in pair order (x[m, k] at [m, k + 1 - 2 (k mod 2)]): with bf16-dot, the k
// loop of a tile runs over pairs of k, each row's pair of codes broadcast as
// one 32-bit word (at k, even: x[k + 1] in the low half, x[k] in the high
// one), each vector's columns at k + 1 and k interleaved
// in the same order, and one vdpbf16ps per accumulator. Tiles of 7 rows and
// 3 vectors (dot-rows, dot-vectors: 21 accumulators, one broadcast pair per
// row). Codes in the order of k, an odd K, or k blocks of an odd size would
// pair the wrong codes: FMAs only. Without the option, FMAs only.

// CHECK-DAG:   #[[IDENTITY:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func private @dot_rows0
// CHECK:         scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %c2
// CHECK:           arith.addi %[[K]], %c1
// CHECK:           %[[WORD:.*]] = affine.apply #[[IDENTITY]](%[[K]])
// CHECK:           vector.load %{{.*}}[%{{.*}}, %[[WORD]]] : memref<?x64xi16>, vector<2xi16>
// CHECK:           vector.bitcast %{{.*}} : vector<2xi16> to vector<1xi32>
// CHECK:           vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK:           vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK:           %[[LO:.*]] = vector.load %{{.*}} : memref<64x128xi16>, vector<16xi16>
// CHECK:           %[[HI:.*]] = vector.load %{{.*}} : memref<64x128xi16>, vector<16xi16>
// CHECK:           vector.shuffle %[[HI]], %[[LO]] [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31]
// CHECK-COUNT-21:  llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK:           scf.yield
// CHECK-LABEL: func.func private @codes_in_k_order_rows1
// CHECK-NOT:     dpbf16ps
// CHECK:         math.fma
// CHECK-LABEL: func.func private @odd_k_rows2
// CHECK-NOT:     dpbf16ps
// CHECK:         math.fma
// CHECK-NOT:     dpbf16ps
// ODD-BLOCKS-NOT: dpbf16ps
// EXACT-NOT:     dpbf16ps
#pairs = affine_map<(m, n, k) -> (m, k + 1 - (k mod 2) * 2)>
#rows = affine_map<(m, n, k) -> (m, k)>
#columns = affine_map<(m, n, k) -> (k, n)>
#out = affine_map<(m, n, k) -> (m, n)>
func.func @dot(%x: tensor<?x64xi16>, %w: tensor<64x128xi16>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#pairs, #columns, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xi16>, tensor<64x128xi16>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: i16, %b: i16, %acc: f32):
    %c16 = arith.constant 16 : i32
    %ae = arith.extui %a : i16 to i32
    %as = arith.shli %ae, %c16 : i32
    %af = arith.bitcast %as : i32 to f32
    %be = arith.extui %b : i16 to i32
    %bs = arith.shli %be, %c16 : i32
    %bf = arith.bitcast %bs : i32 to f32
    %f = math.fma %af, %bf, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
func.func @codes_in_k_order(%x: tensor<?x64xi16>, %w: tensor<64x128xi16>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#rows, #columns, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xi16>, tensor<64x128xi16>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: i16, %b: i16, %acc: f32):
    %c16 = arith.constant 16 : i32
    %ae = arith.extui %a : i16 to i32
    %as = arith.shli %ae, %c16 : i32
    %af = arith.bitcast %as : i32 to f32
    %be = arith.extui %b : i16 to i32
    %bs = arith.shli %be, %c16 : i32
    %bf = arith.bitcast %bs : i32 to f32
    %f = math.fma %af, %bf, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
func.func @odd_k(%x: tensor<?x64xi16>, %w: tensor<63x128xi16>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#pairs, #columns, #out], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xi16>, tensor<63x128xi16>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: i16, %b: i16, %acc: f32):
    %c16 = arith.constant 16 : i32
    %ae = arith.extui %a : i16 to i32
    %as = arith.shli %ae, %c16 : i32
    %af = arith.bitcast %as : i32 to f32
    %be = arith.extui %b : i16 to i32
    %bs = arith.shli %be, %c16 : i32
    %bf = arith.bitcast %bs : i32 to f32
    %f = math.fma %af, %bf, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
