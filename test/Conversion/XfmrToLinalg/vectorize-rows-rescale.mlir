// RUN: mixtile-opt %s --mixtile-cpu-vectorize-rows="threads=false rows=2 vectors=1 single-row-dispatch=false" --cse --split-input-file | FileCheck %s
// RUN: mixtile-opt %s --mixtile-cpu-vectorize-rows="threads=false rows=2 vectors=1 rescale-sums=false single-row-dispatch=false" --cse --split-input-file | FileCheck %s --check-prefix=OFF

// rescale-sums (on in every numerics mode): in one-row tiles, a body
// fma(a, e * s, acc) whose s is a block scale and e a value of a constant
// table within RescaleLimits (E2M1's) sums fma(a, e, acc') from
// acc' = acc * (1 / s) over each period of the scale and takes acc' * s,
// where per period the scales are powers of two within 2^+-32 and the sums
// zero or within [2^-32, 2^60] (else the period runs with the multiplies),
// and afterwards the activations zero or within 2^+-40 (else the period is
// redone with them). Tiles of two rows keep the multiplies.

// CHECK-LABEL: func.func private @block_scaled_rows0(
// Two-row tiles: the multiply per term.
// CHECK:         scf.for %{{.*}} step %c32 iter_args(
// CHECK:           scf.for %{{.*}} iter_args(
// CHECK:             arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:             math.fma
// One-row tiles: the checks of the scale and the sum.
// CHECK:         scf.for %{{.*}} step %c32 iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>) {
// CHECK:           %[[SCALE:.*]] = vector.load %{{.*}} : memref<2x16xf32>, vector<16xf32>
// CHECK:           %[[SCALEBITS:.*]] = arith.bitcast %[[SCALE]] : vector<16xf32> to vector<16xi32>
// CHECK:           arith.subi %[[SCALEBITS]], %cst{{.*}} : vector<16xi32>
// CHECK:           arith.cmpi ule
// CHECK:           arith.cmpi eq
// CHECK:           arith.bitcast %[[ACC]] : vector<16xf32> to vector<16xi32>
// CHECK:           arith.cmpi uge
// CHECK:           arith.cmpi ule
// CHECK:           %[[OK:.*]] = vector.reduction <and>, %{{.*}} : vector<16xi1> into i1
// CHECK:           scf.if %[[OK]] -> (vector<16xf32>) {
// The sum starts at acc / s: 1 / 2^x has the bits (254 << 23) - 2^x's.
// CHECK:             %[[INVBITS:.*]] = arith.subi %{{.*}}, %[[SCALEBITS]] : vector<16xi32>
// CHECK:             %[[INV:.*]] = arith.bitcast %[[INVBITS]] : vector<16xi32> to vector<16xf32>
// CHECK:             %[[START:.*]] = arith.mulf %[[ACC]], %[[INV]] : vector<16xf32>
// CHECK:             %[[SUM:.*]]:3 = scf.for %{{.*}} iter_args(%[[PARTIAL:.*]] = %[[START]], %[[LEAST:.*]] = %c-1_i32, %[[MOST:.*]] = %c0_i32) -> (vector<16xf32>, i32, i32) {
// CHECK:               %[[A:.*]] = memref.load
// CHECK-NOT:           arith.mulf
// CHECK:               %[[E:.*]] = vector.gather
// CHECK:               math.fma %{{.*}}, %[[E]], %[[PARTIAL]] : vector<16xf32>
// CHECK:               arith.bitcast %[[A]] : f32 to i32
// CHECK:               arith.minui %[[LEAST]]
// CHECK:               arith.maxui %[[MOST]]
// CHECK:             %[[PRODUCT:.*]] = arith.mulf %[[SUM]]#0, %[[SCALE]] : vector<16xf32>
// CHECK:             scf.if %{{.*}} -> (vector<16xf32>) {
// CHECK:               scf.yield %[[PRODUCT]]
// CHECK:             } else {
// CHECK:               scf.for %{{.*}} iter_args(%{{.*}} = %[[ACC]])
// CHECK:                 arith.mulf %{{.*}}, %[[SCALE]] : vector<16xf32>
// CHECK:           } else {
// CHECK:             scf.for %{{.*}} iter_args(%{{.*}} = %[[ACC]])
// CHECK:               arith.mulf %{{.*}}, %[[SCALE]] : vector<16xf32>

// OFF-LABEL: func.func private @block_scaled_rows0(
// OFF-NOT:     vector.reduction
// OFF-NOT:     scf.if
// OFF:       return
memref.global "private" constant @e2m1 : memref<16xf32> = dense<[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]>
#x = affine_map<(m, n, k) -> (m, k)>
#codes = affine_map<(m, n, k) -> (k, n)>
#scales = affine_map<(m, n, k) -> (k floordiv 32, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @block_scaled(%x: memref<?x64xf32>, %w: memref<64x16xi32>, %s: memref<2x16xf32>, %y: memref<?x16xf32>) {
  %table = memref.get_global @e2m1 : memref<16xf32>
  linalg.generic {indexing_maps = [#x, #codes, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : memref<?x64xf32>, memref<64x16xi32>, memref<2x16xf32>) outs(%y : memref<?x16xf32>) {
  ^bb0(%a: f32, %code: i32, %scale: f32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %table[%i] : memref<16xf32>
    %w_s = arith.mulf %e, %scale : f32
    %f = math.fma %a, %w_s, %acc : f32
    linalg.yield %f : f32
  }
  return
}

// -----

// Tables whose values the bound does not cover, or that are not constant,
// keep the multiplies: a value of 2^17 (above 2^16), one of 2^-25 (not a
// multiple of 2^-24), a table passed in.

// CHECK-LABEL: func.func private @large_value_rows0(
// CHECK-NOT:     vector.reduction
// CHECK-LABEL: func.func private @fine_value_rows1(
// CHECK-NOT:     vector.reduction
// CHECK-LABEL: func.func private @table_argument_rows2(
// CHECK-NOT:     vector.reduction
// CHECK:         return
memref.global "private" constant @large : memref<4xf32> = dense<[0.0, 1.0, 2.0, 131072.0]>
memref.global "private" constant @fine : memref<4xf32> = dense<[0.0, 1.0, 2.0, 2.98023224e-08]>
#x = affine_map<(m, n, k) -> (m, k)>
#codes = affine_map<(m, n, k) -> (k, n)>
#scales = affine_map<(m, n, k) -> (k floordiv 32, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @large_value(%x: memref<?x64xf32>, %w: memref<64x16xi32>, %s: memref<2x16xf32>, %y: memref<?x16xf32>) {
  %table = memref.get_global @large : memref<4xf32>
  linalg.generic {indexing_maps = [#x, #codes, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : memref<?x64xf32>, memref<64x16xi32>, memref<2x16xf32>) outs(%y : memref<?x16xf32>) {
  ^bb0(%a: f32, %code: i32, %scale: f32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %table[%i] : memref<4xf32>
    %w_s = arith.mulf %e, %scale : f32
    %f = math.fma %a, %w_s, %acc : f32
    linalg.yield %f : f32
  }
  return
}
func.func @fine_value(%x: memref<?x64xf32>, %w: memref<64x16xi32>, %s: memref<2x16xf32>, %y: memref<?x16xf32>) {
  %table = memref.get_global @fine : memref<4xf32>
  linalg.generic {indexing_maps = [#x, #codes, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : memref<?x64xf32>, memref<64x16xi32>, memref<2x16xf32>) outs(%y : memref<?x16xf32>) {
  ^bb0(%a: f32, %code: i32, %scale: f32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %table[%i] : memref<4xf32>
    %w_s = arith.mulf %e, %scale : f32
    %f = math.fma %a, %w_s, %acc : f32
    linalg.yield %f : f32
  }
  return
}
func.func @table_argument(%x: memref<?x64xf32>, %w: memref<64x16xi32>, %s: memref<2x16xf32>, %table: memref<16xf32>, %y: memref<?x16xf32>) {
  linalg.generic {indexing_maps = [#x, #codes, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : memref<?x64xf32>, memref<64x16xi32>, memref<2x16xf32>) outs(%y : memref<?x16xf32>) {
  ^bb0(%a: f32, %code: i32, %scale: f32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %table[%i] : memref<16xf32>
    %w_s = arith.mulf %e, %scale : f32
    %f = math.fma %a, %w_s, %acc : f32
    linalg.yield %f : f32
  }
  return
}
