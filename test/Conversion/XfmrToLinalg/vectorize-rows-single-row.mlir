// A product with one row (a batch-1 decode step) gets a tile of its own:
// one row and single-row-vectors (8) vectors of columns, with no 6-row
// tile. With a static row count of 1 that is the whole kernel; with a row
// count unknown at compile time (the model's linears) the kernel checks it
// and takes the 1 x 8 tile for one row, else 6 x 4
// (single-row-dispatch=false: always 6 x 4). The thread pool then splits
// the columns at multiples of 8 vectors, whole groups of both tiles.
// Products of fewer than 8 vectors keep the general tile.

// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false" --cse --split-input-file | FileCheck %s
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false single-row-vectors=2" --cse --split-input-file | FileCheck %s --check-prefix=TWO
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false single-row-dispatch=false" --cse --split-input-file | FileCheck %s --check-prefix=STATIC
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="parallel-work=1024" --cse --split-input-file | FileCheck %s --check-prefix=THREADS
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="parallel-work=1024 single-row-dispatch=false" --cse --split-input-file | FileCheck %s --check-prefix=THREADS-STATIC

// CHECK-LABEL: func.func private @single_row_rows0(
// CHECK-SAME:      %[[X:.*]]: memref<1x64xf32>, %[[W:.*]]: memref<64x256xf32>, %[[Y:.*]]: memref<1x256xf32>, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK:         %[[GB:.*]] = arith.divui %[[BEGIN]], %c8 : index
// CHECK:         %[[GE:.*]] = arith.divui %[[END]], %c8 : index
// CHECK:         scf.for %[[G:.*]] = %[[GB]] to %[[GE]] step %c1 {
// CHECK-NOT:       step %c6
// CHECK:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK-COUNT-8:     vector.load %[[Y]]
// CHECK-NOT:         vector.load %[[Y]]
// CHECK:             scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-COUNT-8:       vector.load %[[W]]
// CHECK-NOT:           vector.load %[[W]]
// CHECK:               scf.yield
// CHECK-COUNT-8:     vector.store

// TWO-LABEL: func.func private @single_row_rows0(
// TWO:         arith.divui %{{.*}}, %c2 : index
// TWO-NOT:     step %c6
// TWO:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>) {
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @single_row(%x: tensor<1x64xf32>, %w: tensor<64x256xf32>, %y: tensor<1x256xf32>) -> tensor<1x256xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<1x64xf32>, tensor<64x256xf32>) outs(%y : tensor<1x256xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<1x256xf32>
  return %r : tensor<1x256xf32>
}

// -----

// CHECK-LABEL: func.func private @any_rows_rows0(
// CHECK-SAME:      %[[X:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<64x256xf32>, %[[Y:.*]]: memref<?x256xf32>, %{{.*}}: index, %{{.*}}: index)
// CHECK:         %[[M:.*]] = memref.dim %[[Y]], %c0 : memref<?x256xf32>
// CHECK:         %[[ONE:.*]] = arith.cmpi eq, %[[M]], %c1 : index
// CHECK:         scf.if %[[ONE]] {
// CHECK:           arith.divui %{{.*}}, %c8 : index
// CHECK-NOT:       step %c6
// CHECK:           scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:         } else {
// CHECK:           arith.divui %{{.*}}, %c4 : index
// CHECK:           step %c6
// CHECK:           scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {

// TWO-LABEL: func.func private @any_rows_rows0(
// TWO:         scf.if
// TWO:           arith.divui %{{.*}}, %c2 : index
// TWO:         } else {
// TWO:           arith.divui %{{.*}}, %c4 : index

// STATIC-LABEL: func.func private @any_rows_rows0(
// STATIC-NOT:     scf.if
// STATIC:         arith.divui %{{.*}}, %c4 : index
// STATIC:         step %c6
// STATIC-NOT:     scf.if

// 16 vectors of columns: two threads' parts of 8 vectors each, or of 4
// vectors without the dispatch.
// THREADS-LABEL: func.func @any_rows(
// THREADS:         call @mixtile_parallel_for(%{{.*}}, %{{.*}}, %c16, %c8)
// THREADS-STATIC-LABEL: func.func @any_rows(
// THREADS-STATIC:  call @mixtile_parallel_for(%{{.*}}, %{{.*}}, %c16, %c4)
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @any_rows(%x: tensor<?x64xf32>, %w: tensor<64x256xf32>, %y: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x256xf32>) outs(%y : tensor<?x256xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x256xf32>
  return %r : tensor<?x256xf32>
}

// -----

// 64 columns, 4 vectors: no whole group of the single-row tile, which would
// take them one vector at a time; one row keeps the general tile (its
// one-row tiles take 4 vectors), with no branch on the row count.
// CHECK-LABEL: func.func private @narrow_single_row_rows0(
// CHECK-NOT:     scf.if
// CHECK:         arith.divui %{{.*}}, %c4 : index
// CHECK:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-LABEL: func.func private @narrow_any_rows_rows1(
// CHECK-NOT:     scf.if
// CHECK:         arith.divui %{{.*}}, %c4 : index
// CHECK:         step %c6
// CHECK-NOT:     scf.if
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @narrow_single_row(%x: tensor<1x64xf32>, %w: tensor<64x64xf32>, %y: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<1x64xf32>, tensor<64x64xf32>) outs(%y : tensor<1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<1x64xf32>
  return %r : tensor<1x64xf32>
}
func.func @narrow_any_rows(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>, %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x64xf32>) outs(%y : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
