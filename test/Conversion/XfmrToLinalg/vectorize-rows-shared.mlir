// RUN: mixtile-opt %s --mixtile-cpu-vectorize-rows="threads=false single-row-dispatch=false" | FileCheck %s

// Generics that would compile to the same kernel share one (a model's
// layers repeat each linear on other weights): the same body, maps and
// types, with each value from above at the same place, the same constant
// table (one global) and the same constants. A kernel of its own for a
// generic that reads another table of the same type (the plan reads tables
// when it compiles), scales by another constant or has another weight type.

// CHECK-LABEL: func.func @layers(
// CHECK-SAME:      %[[X:[^:]*]]: memref<?x64xf32>, %[[W0:[^:]*]]: memref<64x32xi32>, %[[W1:[^:]*]]: memref<64x32xi32>, %[[W2:[^:]*]]: memref<64x64xi32>, %[[Y0:[^:]*]]: memref<?x32xf32>, %[[Y1:[^:]*]]: memref<?x32xf32>, %[[Y2:[^:]*]]: memref<?x64xf32>)
// CHECK:         call @layers_rows0(%[[X]], %[[W0]], %[[Y0]], %{{.*}},
// CHECK:         call @layers_rows0(%[[X]], %[[W1]], %[[Y1]], %{{.*}},
// CHECK:         call @layers_rows1(%[[X]], %[[W1]], %[[Y1]], %{{.*}},
// CHECK:         call @layers_rows2(%[[X]], %[[W0]], %[[Y0]], %{{.*}},
// CHECK:         call @layers_rows3(%[[X]], %[[W0]], %[[Y0]], %{{.*}},
// CHECK:         call @layers_rows4(%[[X]], %[[W2]], %[[Y2]], %{{.*}},
// CHECK:         call @layers_rows2(%[[X]], %[[W1]], %[[Y1]], %{{.*}},
// CHECK-NOT:     linalg.generic
// CHECK:       func.func private @layers_rows0(
// CHECK:       func.func private @layers_rows1(
// CHECK:       func.func private @layers_rows2(
// CHECK:       func.func private @layers_rows3(
// CHECK:       func.func private @layers_rows4(
// CHECK-NOT:   func.func private @layers_rows5(
memref.global "private" constant @e2m1 : memref<16xf32> = dense<[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]>
memref.global "private" constant @halves : memref<16xf32> = dense<[0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, -0.0, -0.25, -0.5, -0.75, -1.0, -1.5, -2.0, -3.0]>
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @layers(%x: memref<?x64xf32>, %w0: memref<64x32xi32>, %w1: memref<64x32xi32>, %w2: memref<64x64xi32>, %y0: memref<?x32xf32>, %y1: memref<?x32xf32>, %y2: memref<?x64xf32>) {
  %two = arith.constant 2.0 : f32
  %three = arith.constant 3.0 : f32
  %e2m1 = memref.get_global @e2m1 : memref<16xf32>
  %halves = memref.get_global @halves : memref<16xf32>
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w0 : memref<?x64xf32>, memref<64x32xi32>) outs(%y0 : memref<?x32xf32>) {
  ^bb0(%a: f32, %code: i32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %e2m1[%i] : memref<16xf32>
    %f = math.fma %a, %e, %acc : f32
    linalg.yield %f : f32
  }
  // The same table through another memref.get_global.
  %again = memref.get_global @e2m1 : memref<16xf32>
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w1 : memref<?x64xf32>, memref<64x32xi32>) outs(%y1 : memref<?x32xf32>) {
  ^bb0(%a: f32, %code: i32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %again[%i] : memref<16xf32>
    %f = math.fma %a, %e, %acc : f32
    linalg.yield %f : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w1 : memref<?x64xf32>, memref<64x32xi32>) outs(%y1 : memref<?x32xf32>) {
  ^bb0(%a: f32, %code: i32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %halves[%i] : memref<16xf32>
    %f = math.fma %a, %e, %acc : f32
    linalg.yield %f : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w0 : memref<?x64xf32>, memref<64x32xi32>) outs(%y0 : memref<?x32xf32>) {
  ^bb0(%a: f32, %code: i32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %e2m1[%i] : memref<16xf32>
    %s = arith.mulf %e, %two : f32
    %f = math.fma %a, %s, %acc : f32
    linalg.yield %f : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w0 : memref<?x64xf32>, memref<64x32xi32>) outs(%y0 : memref<?x32xf32>) {
  ^bb0(%a: f32, %code: i32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %e2m1[%i] : memref<16xf32>
    %s = arith.mulf %e, %three : f32
    %f = math.fma %a, %s, %acc : f32
    linalg.yield %f : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w2 : memref<?x64xf32>, memref<64x64xi32>) outs(%y2 : memref<?x64xf32>) {
  ^bb0(%a: f32, %code: i32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %e2m1[%i] : memref<16xf32>
    %f = math.fma %a, %e, %acc : f32
    linalg.yield %f : f32
  }
  // Another constant 2.0 of the same value.
  %two_again = arith.constant 2.0 : f32
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w1 : memref<?x64xf32>, memref<64x32xi32>) outs(%y1 : memref<?x32xf32>) {
  ^bb0(%a: f32, %code: i32, %acc: f32):
    %i = arith.index_cast %code : i32 to index
    %e = memref.load %e2m1[%i] : memref<16xf32>
    %s = arith.mulf %e, %two_again : f32
    %f = math.fma %a, %s, %acc : f32
    linalg.yield %f : f32
  }
  return
}
