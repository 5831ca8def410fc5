// RUN: mixtile-opt %s --split-input-file --mixtile-cpu-outline-linalg="threads=true parallel-work=64" | FileCheck %s
// RUN: mixtile-opt %s --split-input-file --mixtile-cpu-outline-linalg="threads=true parallel-work=64" --mixtile-cpu-outline-linalg="threads=true parallel-work=64" | FileCheck %s

// mixtile-cpu-outline-linalg{threads}: a generic with a parallel loop of a
// static trip count (here the 4 heads) runs, when its loop nest has
// parallel-work iterations or more, in ranges of that loop on the
// runtime's threads: a function of a range views every operand the loop
// indexes in the range, and a task unpacks the arguments for it. Smaller
// loop nests run the generic itself on one thread. A second run leaves
// the functions as they are.

// CHECK-LABEL: func.func @heads(
// CHECK:         call @heads_loops0(%{{.*}}, %{{.*}}) : (memref<?x4x8xf32>, memref<?x4x8xf32>) -> ()
// CHECK:       func.func private @heads_loops0(%[[A:.*]]: memref<?x4x8xf32>, %[[B:.*]]: memref<?x4x8xf32>) attributes {mixtile.noalias_pointers = array<i64: 10>, mixtile.threaded_loop = 1 : i64, passthrough = ["noinline"]} {
// CHECK-DAG:     %[[ROWS:.*]] = memref.dim %[[A]], %c0
// CHECK-DAG:     %[[WORK:.*]] = arith.muli %{{.*}}, %c8
// CHECK:         %[[LARGE:.*]] = arith.cmpi sge, %[[WORK]], %c64
// CHECK:         scf.if %[[LARGE]] {
// CHECK:           %[[TASK:.*]] = func.constant @heads_loops0_range_task
// CHECK:           func.call @mixtile_parallel_for(%[[TASK]], %{{.*}}, %[[HEADS:.*]], %[[GRAIN:.*]]) :
// CHECK:         } else {
// CHECK-NEXT:      linalg.generic {{.*}} ins(%[[A]] : memref<?x4x8xf32>) outs(%[[B]] : memref<?x4x8xf32>)
// CHECK:       func.func private @heads_loops0_range(%[[RA:.*]]: memref<?x4x8xf32>, %[[RB:.*]]: memref<?x4x8xf32>, %[[BEGIN:.*]]: index, %[[END:.*]]: index) attributes {mixtile.noalias_pointers = array<i64: 10>, passthrough = ["noinline"]} {
// CHECK:         %[[LENGTH:.*]] = arith.subi %[[END]], %[[BEGIN]] : index
// CHECK:         %[[VA:.*]] = memref.subview %[[RA]][0, %[[BEGIN]], 0] [%{{.*}}, %[[LENGTH]], 8] [1, 1, 1]
// CHECK:         %[[VB:.*]] = memref.subview %[[RB]][0, %[[BEGIN]], 0] [%{{.*}}, %[[LENGTH]], 8] [1, 1, 1]
// CHECK:         linalg.generic {{.*}} ins(%[[VA]] : {{.*}}) outs(%[[VB]] : {{.*}})
// CHECK:       func.func private @heads_loops0_range_task(%[[CONTEXT:.*]]: !llvm.ptr, %[[TB:.*]]: index, %[[TE:.*]]: index)
// CHECK:         call @heads_loops0_range(%{{.*}}, %{{.*}}, %[[TB]], %[[TE]])
// CHECK-NOT:   func.func private @heads_loops1
#id = affine_map<(i, j, k) -> (i, j, k)>
func.func @heads(%a: memref<?x4x8xf32>, %n: index) -> memref<?x4x8xf32> {
  %out = memref.alloc(%n) : memref<?x4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%a : memref<?x4x8xf32>) outs(%out : memref<?x4x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  return %out : memref<?x4x8xf32>
}

// -----

// No loop to split: the static loops are a reduction and a loop the body
// reads (linalg.index); an operand used twice; a static loop of one.
// CHECK-LABEL: func.func @unsplit(
// CHECK-NOT:   mixtile.threaded_loop
// CHECK-NOT:   _range
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
func.func @unsplit(%a: memref<?x4xf32>, %s: memref<?xf32>, %one: memref<?x1xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%a : memref<?x4xf32>) outs(%s : memref<?xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]} outs(%a : memref<?x4xf32>) {
  ^bb0(%y: f32):
    %j = linalg.index 1 : index
    %i = arith.index_cast %j : index to i32
    %f = arith.sitofp %i : i32 to f32
    linalg.yield %f : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : memref<?x4xf32>) outs(%a : memref<?x4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]} outs(%one : memref<?x1xf32>) {
  ^bb0(%y: f32):
    %r = arith.negf %y : f32
    linalg.yield %r : f32
  }
  return
}
