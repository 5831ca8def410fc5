// RUN: mixtile-opt %s --mixtile-cpu-vectorize-rows="threads=false rows=2 vectors=2 single-row-dispatch=false" --cse | FileCheck %s

// The run-time check before a rescaled period, for a one-row tile of two
// vectors: each limit is one compare on the largest (or least) of the
// tile's values, folded across its vectors first, so that the compares do
// not form a chain as long as the tile is wide.

// CHECK-LABEL: func.func private @two_vectors_rows0(
// CHECK:         scf.for %{{.*}} step %c32 iter_args(%[[ACC0:.*]] = %{{.*}}, %[[ACC1:.*]] = %{{.*}}) -> (vector<16xf32>, vector<16xf32>) {
// CHECK:           %[[S0:.*]] = arith.bitcast %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK:           %[[OFF0:.*]] = arith.subi %[[S0]], %[[LEAST:.*]] : vector<16xi32>
// CHECK:           %[[S1:.*]] = arith.bitcast %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK:           %[[OFF1:.*]] = arith.subi %[[S1]], %[[LEAST]] : vector<16xi32>
// CHECK:           %[[OFF:.*]] = arith.maxui %[[OFF0]], %[[OFF1]] : vector<16xi32>
// CHECK:           %[[SCALEOK:.*]] = arith.cmpi ule, %[[OFF]], %{{.*}} : vector<16xi32>
// CHECK:           %[[BITS:.*]] = arith.ori %[[S0]], %[[S1]] : vector<16xi32>
// CHECK:           %[[FRACTION:.*]] = arith.andi %[[BITS]], %{{.*}} : vector<16xi32>
// CHECK:           %[[POWER:.*]] = arith.cmpi eq, %[[FRACTION]], %{{.*}} : vector<16xi32>
// CHECK:           %[[BOTH:.*]] = arith.andi %[[SCALEOK]], %[[POWER]] : vector<16xi1>
// CHECK:           %[[A0:.*]] = arith.bitcast %[[ACC0]] : vector<16xf32> to vector<16xi32>
// CHECK:           %[[M0:.*]] = arith.andi %[[A0]], %{{.*}} : vector<16xi32>
// CHECK:           %[[B0:.*]] = arith.subi %[[M0]], %{{.*}} : vector<16xi32>
// CHECK:           %[[A1:.*]] = arith.bitcast %[[ACC1]] : vector<16xf32> to vector<16xi32>
// CHECK:           %[[M1:.*]] = arith.andi %[[A1]], %{{.*}} : vector<16xi32>
// CHECK:           %[[B1:.*]] = arith.subi %[[M1]], %{{.*}} : vector<16xi32>
// CHECK:           %[[BELOW:.*]] = arith.minui %[[B0]], %[[B1]] : vector<16xi32>
// CHECK:           %[[LOW:.*]] = arith.cmpi uge, %[[BELOW]], %{{.*}} : vector<16xi32>
// CHECK:           %[[THREE:.*]] = arith.andi %[[BOTH]], %[[LOW]] : vector<16xi1>
// CHECK:           %[[MOST:.*]] = arith.maxui %[[M0]], %[[M1]] : vector<16xi32>
// CHECK:           %[[HIGH:.*]] = arith.cmpi ule, %[[MOST]], %{{.*}} : vector<16xi32>
// CHECK:           %[[ALL:.*]] = arith.andi %[[THREE]], %[[HIGH]] : vector<16xi1>
// CHECK:           %[[OK:.*]] = vector.reduction <and>, %[[ALL]] : vector<16xi1> into i1
// CHECK:           scf.if %[[OK]] -> (vector<16xf32>, vector<16xf32>) {
memref.global "private" constant @e2m1 : memref<16xf32> = dense<[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]>
#x = affine_map<(m, n, k) -> (m, k)>
#codes = affine_map<(m, n, k) -> (k, n)>
#scales = affine_map<(m, n, k) -> (k floordiv 32, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @two_vectors(%x: memref<?x64xf32>, %w: memref<64x32xi32>, %s: memref<2x32xf32>, %y: memref<?x32xf32>) {
  %table = memref.get_global @e2m1 : memref<16xf32>
  linalg.generic {indexing_maps = [#x, #codes, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : memref<?x64xf32>, memref<64x32xi32>, memref<2x32xf32>) outs(%y : memref<?x32xf32>) {
  ^bb0(%a: f32, %code: i32, %scale: f32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %table[%i] : memref<16xf32>
    %w_s = arith.mulf %e, %scale : f32
    %f = math.fma %a, %w_s, %acc : f32
    linalg.yield %f : f32
  }
  return
}
