// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false bf16-dot=true" --cse | FileCheck %s
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false" --cse | FileCheck %s --check-prefix=EXACT

// A product of bf16 codes (the linear of BF16 activations and BF16
// weights, ScalarBuilder::fromBF16Code on both): with bf16-dot, the k loop
// of a tile runs over pairs of k, each row's pair of codes broadcast as one
// 32-bit word, each vector's columns at k and k + 1 interleaved, and one
// vdpbf16ps per accumulator; the last k of the odd count (63) is an FMA of
// the widened codes. Tiles of 7 rows and 3 vectors (dot-rows, dot-vectors:
// 21 accumulators, one broadcast pair per row). Without the option, FMAs only.

// CHECK-LABEL: func.func @dot
// CHECK:         %[[PAIRS:.*]] = arith.andi %{{.*}}, %c-2
// CHECK:         %[[END:.*]] = arith.addi %{{.*}}, %[[PAIRS]]
// CHECK:         scf.for %[[K:.*]] = %{{.*}} to %[[END]] step %c2
// CHECK:           arith.addi %[[K]], %c1
// CHECK:           vector.load %{{.*}} : memref<?x63xi16>, vector<2xi16>
// CHECK:           vector.bitcast %{{.*}} : vector<2xi16> to vector<1xi32>
// CHECK:           vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK:           vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK:           %[[LO:.*]] = vector.load %{{.*}} : memref<63x128xi16>, vector<16xi16>
// CHECK:           %[[HI:.*]] = vector.load %{{.*}} : memref<63x128xi16>, vector<16xi16>
// CHECK:           vector.shuffle %[[LO]], %[[HI]] [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31]
// CHECK-COUNT-21:  llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// CHECK:           scf.yield
// CHECK:         scf.for %{{.*}} = %[[END]] to
// CHECK-NOT:       llvm.call_intrinsic
// CHECK:           math.fma
// EXACT-LABEL: func.func @dot
// EXACT-NOT:     dpbf16ps
// EXACT:         math.fma
// EXACT-NOT:     dpbf16ps
func.func @dot(%x: tensor<?x63xi16>, %w: tensor<63x128xi16>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x63xi16>, tensor<63x128xi16>) outs(%y : tensor<?x128xf32>) {
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
