// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="depth=16 narrow-depth=4 parallel-work=1024 single-row-dispatch=false" --cse --split-input-file | FileCheck %s
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="threads=false single-row-dispatch=false" --split-input-file | FileCheck %s --check-prefix=SERIAL
// RUN: mlir-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --split-input-file | mixtile-opt --mixtile-cpu-vectorize-rows="permute-tables=true single-row-dispatch=false" --split-input-file | FileCheck %s --check-prefix=PERMUTE

// mixtile-cpu-vectorize-rows: a linear (m, n, k) becomes a kernel function
// of a range of column vectors. Its loops: blocks of k in order (depth 16
// of the 64, or narrow-depth 4 for fewer than 6 rows), blocks of 768 rows
// (row-block), groups of 4 vectors of 16 columns (a loop over the group
// numbers within the range, which starts at a whole group), tiles of 6 rows,
// and the k loop carrying the 6 x 4 accumulators, each updated by one
// vector FMA per k (the body's math.fma, so the order is the scalar loop's).
// Large kernels run through mixtile_parallel_for with a task function that
// reads the operands from a context struct. (single-row-dispatch=false
// keeps these dynamic-row kernels to the 6 x 4 tile; the 1 x 8 tile a
// single row takes at run time: vectorize-rows-single-row.mlir.)

// CHECK-LABEL: func.func @linear(
// CHECK:         %[[CTX:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>)>
// CHECK-COUNT-3: llvm.store
// CHECK:         %[[TASK:.*]] = constant @linear_rows0_task : (!llvm.ptr, index, index) -> ()
// CHECK:         call @mixtile_parallel_for(%[[TASK]], %[[CTX]], %c8, %c4)
// CHECK-NOT:     linalg.generic

// CHECK-LABEL: func.func private @linear_rows0(
// CHECK-SAME:      %[[X:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<64x128xf32>, %[[Y:.*]]: memref<?x128xf32>, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK:         %[[NARROW:.*]] = arith.cmpi ult, %{{.*}}, %c6 : index
// CHECK:         %[[STEP:.*]] = arith.select %[[NARROW]], %c4, %c16 : index
// CHECK:         scf.for %[[KB:.*]] = %c0 to %c64 step %[[STEP]] {
// CHECK:           scf.for %[[MB:.*]] = %c0 to %{{.*}} step %c768 {
// CHECK:             %[[GB:.*]] = arith.divui %[[BEGIN]], %c4 : index
// CHECK:             %[[GE:.*]] = arith.divui %[[END]], %c4 : index
// CHECK:             scf.for %[[G:.*]] = %[[GB]] to %[[GE]] step %c1 {
// CHECK:               scf.for %[[M:.*]] = %[[MB]] to %{{.*}} step %c6 {
// CHECK-COUNT-24:      vector.load %[[Y]]
// CHECK:               %[[ACC:.*]]:24 = scf.for %[[K:.*]] = %[[KB]] to %{{.*}} step %{{.*}} iter_args(
// CHECK:                 %[[XK:.*]] = affine.apply #{{.*}}(%[[K]])
// CHECK:                 memref.load %[[X]][%{{.*}}, %[[XK]]] : memref<?x64xf32>
// CHECK-COUNT-4:         vector.load %[[W]][%{{.*}}, %{{.*}}] : memref<64x128xf32>, vector<16xf32>
// CHECK:                 vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK:                 math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-COUNT-24:      vector.store
// CHECK-LABEL: func.func private @linear_rows0_task(
// CHECK-SAME:      %[[CONTEXT:.*]]: !llvm.ptr, %[[B:.*]]: index, %[[E:.*]]: index)
// CHECK-COUNT-3: llvm.load
// CHECK:         call @linear_rows0(%{{.*}}, %{{.*}}, %{{.*}}, %[[B]], %[[E]])

// SERIAL-LABEL: func.func @linear(
// SERIAL:         call @linear_rows0(%{{.*}}, %{{.*}}, %{{.*}}, %c0, %c8)
// SERIAL-NOT:     mixtile_parallel_for
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<64x128xf32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x128xf32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// fp4 codes, two columns to a byte ([k, n / 2]): one half-width load of 8
// bytes per vector, each byte duplicated; the nibble is chosen by the
// column's parity (before any k loop). The block scale [k / 32, n] is a
// full-width load that changes every 32 values of k: it and what depends on
// it alone are computed in a loop over the periods of 32 (each block of k,
// 16 or 4 values, lies within one), around the loop over k.

// CHECK-LABEL: func.func private @fp4_rows0(
// CHECK:         vector.step : vector<16xindex>
// CHECK:         arith.remui %{{.*}} : vector<16xindex>
// CHECK:         %[[ACC:.*]]:24 = scf.for %[[PERIOD:.*]] = %{{.*}} to %{{.*}} step %c32 iter_args(
// CHECK:           %[[SCALE:.*]] = vector.load %{{.*}} : memref<2x32xi8>, vector<16xi8>
// CHECK:           arith.extui %[[SCALE]] : vector<16xi8> to vector<16xi32>
// CHECK:           scf.for %{{.*}} = %[[PERIOD]] to %{{.*}} step %{{.*}} iter_args(
// CHECK:             %[[BYTES:.*]] = vector.load %{{.*}} : memref<64x16xi8>, vector<8xi8>
// CHECK:             vector.shuffle %[[BYTES]], %[[BYTES]] [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7] : vector<8xi8>, vector<8xi8>
// CHECK:             arith.shrui %{{.*}} : vector<16xi8>
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#codes = affine_map<(m, n, k) -> (k, n floordiv 2)>
#scales = affine_map<(m, n, k) -> (k floordiv 32, n)>
func.func @fp4(%x: tensor<?x64xf32>, %w: tensor<64x16xi8>, %s: tensor<2x32xi8>, %y: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %r = linalg.generic {indexing_maps = [#x, #codes, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : tensor<?x64xf32>, tensor<64x16xi8>, tensor<2x32xi8>) outs(%y : tensor<?x32xf32>) {
  ^bb0(%a: f32, %byte: i8, %scale: i8, %acc: f32):
    %n = linalg.index 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %odd = arith.remui %n, %c2 : index
    %bits = arith.muli %odd, %c4 : index
    %shift = arith.index_cast %bits : index to i8
    %nibble = arith.shrui %byte, %shift : i8
    %wide = arith.extui %nibble : i8 to i32
    %sw = arith.extui %scale : i8 to i32
    %sum = arith.addi %wide, %sw : i32
    %v = arith.sitofp %sum : i32 to f32
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

// Weights in panels of 64 columns ([n / 64, k, n mod 64], WeightPack.h):
// one vector load per vector of columns at [n0 / 64, k, n0 mod 64] (the
// parity tests check the values), the same kernel otherwise; with fewer rows than a tile the block of k is all
// of k (a column group's panel is one contiguous run).

// CHECK-LABEL: func.func private @panels_rows0(
// CHECK-SAME:      %[[W:[a-z0-9]+]]: memref<2x64x64xf32>
// CHECK:         %[[NARROW:.*]] = arith.cmpi ult, %{{.*}}, %c6 : index
// CHECK:         %[[ALL:.*]] = arith.maxui %c64, %c1 : index
// CHECK:         %[[STEP:.*]] = arith.select %[[NARROW]], %[[ALL]], %c16 : index
// CHECK:         scf.for %{{.*}} = %c0 to %c64 step %[[STEP]] {
// CHECK-COUNT-4:         vector.load %[[W]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x64x64xf32>, vector<16xf32>
// The one-row tiles (the batch-1 path, which streams the weights)
// prefetch the line of each vector prefetch-distance (1024) bytes ahead:
// 4 values of k, 256 bytes apart, but not past the last k. The 6-row
// tiles read them from the cache blocks of k and do not.
// CHECK-NOT:     memref.prefetch
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK:             %[[AHEAD:.*]] = arith.addi %{{.*}}, %c4 : index
// CHECK:             %[[CLAMPED:.*]] = arith.minui %[[AHEAD]], %{{.*}} : index
// CHECK:             %[[KAHEAD:.*]] = affine.apply #{{.*}}(%[[CLAMPED]])
// CHECK-COUNT-4:     memref.prefetch %[[W]][%{{.*}}, %[[KAHEAD]], %{{.*}}], read, locality<3>, data : memref<2x64x64xf32>
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n floordiv 64, k, n mod 64)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @panels(%x: tensor<?x64xf32>, %w: tensor<2x64x64xf32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<2x64x64xf32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// fp4 codes and block scales in panels: [n / 64, k, (n mod 64) / 2] half
// loads and [n / 64, k / 32, n mod 64] scale loads once per period.

// CHECK-LABEL: func.func private @fp4_panels_rows0(
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32 iter_args(
// CHECK:           vector.load %{{.*}} : memref<2x2x64xi8>, vector<16xi8>
// CHECK:           scf.for
// CHECK:             %[[BYTES:.*]] = vector.load %{{.*}} : memref<2x64x32xi8>, vector<8xi8>
// CHECK:             vector.shuffle %[[BYTES]], %[[BYTES]] [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7] : vector<8xi8>, vector<8xi8>
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#codes = affine_map<(m, n, k) -> (n floordiv 64, k, (n mod 64) floordiv 2)>
#scales = affine_map<(m, n, k) -> (n floordiv 64, k floordiv 32, n mod 64)>
func.func @fp4_panels(%x: tensor<?x64xf32>, %w: tensor<2x64x32xi8>, %s: tensor<2x2x64xi8>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#x, #codes, #scales, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w, %s : tensor<?x64xf32>, tensor<2x64x32xi8>, tensor<2x2x64xi8>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %byte: i8, %scale: i8, %acc: f32):
    %n = linalg.index 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %odd = arith.remui %n, %c2 : index
    %bits = arith.muli %odd, %c4 : index
    %shift = arith.index_cast %bits : index to i8
    %nibble = arith.shrui %byte, %shift : i8
    %wide = arith.extui %nibble : i8 to i32
    %sw = arith.extui %scale : i8 to i32
    %sum = arith.addi %wide, %sw : i32
    %v = arith.sitofp %sum : i32 to f32
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// fp4 codes in nibble planes within panels of 64 columns ([n / 64, k,
// 16 * ((n mod 64) / 32) + n mod 16], WeightPack.h): the bytes of a vector
// of 16 columns are 16 consecutive bytes, one full-width load. The group's
// first column is an affine multiple of its number, so the composed indices
// fold: the vectors of columns 0-15 and 16-31 of a group read the same 16
// bytes (one load after CSE), as do 32-47 and 48-63.

// CHECK-DAG:   #[[BYTE0:.*]] = affine_map<() -> (0)>
// CHECK-DAG:   #[[BYTE16:.*]] = affine_map<() -> (16)>
// CHECK-LABEL: func.func private @nibble_planes_rows0(
// CHECK-SAME:      %[[W:[a-z0-9]+]]: memref<2x64x32xi8>
// CHECK:         scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %c1 {
// CHECK:           scf.for
// CHECK:             %[[PANEL:.*]] = affine.apply #{{.*}}(%[[G]])
// CHECK:             %[[FIRST:.*]] = affine.apply #[[BYTE0]]()
// CHECK:             %[[SECOND:.*]] = affine.apply #[[BYTE16]]()
// CHECK:             scf.for
// CHECK:               %[[LOW:.*]] = vector.load %[[W]][%[[PANEL]], %{{.*}}, %[[FIRST]]] : memref<2x64x32xi8>, vector<16xi8>
// CHECK:               %[[HIGH:.*]] = vector.load %[[W]][%[[PANEL]], %{{.*}}, %[[SECOND]]] : memref<2x64x32xi8>, vector<16xi8>
// CHECK-NOT:           vector.load %[[W]]
// CHECK:               arith.extui %[[LOW]] : vector<16xi8> to vector<16xi32>
// CHECK:               arith.extui %[[HIGH]] : vector<16xi8> to vector<16xi32>
// CHECK-NOT:           vector.load %[[W]]
// CHECK:               scf.yield
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#codes = affine_map<(m, n, k) -> (n floordiv 64, k, ((n mod 64) floordiv 32) * 16 + n mod 16)>
func.func @nibble_planes(%x: tensor<?x64xf32>, %w: tensor<2x64x32xi8>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#x, #codes, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<2x64x32xi8>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %byte: i8, %acc: f32):
    %n = linalg.index 1 : index
    %c16 = arith.constant 16 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %pair = arith.divui %n, %c16 : index
    %odd = arith.remui %pair, %c2 : index
    %bits = arith.muli %odd, %c4 : index
    %shift = arith.index_cast %bits : index to i32
    %wide = arith.extui %byte : i8 to i32
    %nibble = arith.shrui %wide, %shift : i32
    %v = arith.sitofp %nibble : i32 to f32
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// A load from a table of 16 f32 values defined outside the generic (the
// E2M1 values decodeWeight looks fp4 codes up in) indexed by a value that
// varies with n: a gather from the table, or with permute-tables one
// vpermps of the table loaded once per tile, whose index is the value
// before the `and 15` (vpermps reads the low 4 bits of each lane).

// CHECK-LABEL: func.func private @lookup_rows0(
// CHECK-SAME:      %[[TABLE:[a-z0-9]+]]: memref<16xf32>
// CHECK:         vector.gather %[[TABLE]][%{{.*}}] [%{{.*}}], %{{.*}}, %{{.*}} : memref<16xf32>, vector<16xi32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK-NOT:     llvm.call_intrinsic

// PERMUTE-LABEL: func.func private @lookup_rows0(
// PERMUTE-SAME:      %[[TABLE:[a-z0-9]+]]: memref<16xf32>
// PERMUTE:           %[[VALUES:.*]] = vector.load %[[TABLE]][%{{.*}}] : memref<16xf32>, vector<16xf32>
// PERMUTE:           scf.for
// PERMUTE:             %[[SHIFTED:.*]] = arith.shrui %{{.*}} : vector<16xi32>
// PERMUTE:             llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%[[VALUES]], %[[SHIFTED]]) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// PERMUTE-NOT:         vector.gather
memref.global "private" constant @e2m1 : memref<16xf32> = dense<[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]>
#x = affine_map<(m, n, k) -> (m, k)>
#codes = affine_map<(m, n, k) -> (k, n floordiv 2)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @lookup(%x: tensor<?x64xf32>, %w: tensor<64x16xi8>, %y: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %table = memref.get_global @e2m1 : memref<16xf32>
  %r = linalg.generic {indexing_maps = [#x, #codes, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x16xi8>) outs(%y : tensor<?x32xf32>) {
  ^bb0(%a: f32, %byte: i8, %acc: f32):
    %n = linalg.index 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %c15 = arith.constant 15 : i32
    %odd = arith.remui %n, %c2 : index
    %bits = arith.muli %odd, %c4 : index
    %shift = arith.index_cast %bits : index to i32
    %wide = arith.extui %byte : i8 to i32
    %shifted = arith.shrui %wide, %shift : i32
    %nibble = arith.andi %shifted, %c15 : i32
    %i = arith.index_cast %nibble : i32 to index
    %v = memref.load %table[%i] : memref<16xf32>
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

// fp4 codes in nibble lanes (WeightPack.h): the word of column n is
// n floordiv 128 * 16 + n mod 16, the same for every vector of a group of
// 4 (64 columns), so the k loop loads it once for the group; each vector
// shifts it by its own amount.

// CHECK-LABEL: func.func private @nibble_lanes_rows0(
// CHECK-SAME:      %[[W:[a-z0-9]+]]: memref<64x16xi32>
// CHECK:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:           vector.load %[[W]][%{{.*}}, %{{.*}}] : memref<64x16xi32>, vector<16xi32>
// CHECK-NOT:       vector.load %[[W]]
// CHECK:           scf.yield
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#words = affine_map<(m, n, k) -> (k, (n floordiv 128) * 16 + n mod 16)>
func.func @nibble_lanes(%x: tensor<?x64xf32>, %w: tensor<64x16xi32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#x, #words, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x16xi32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %word: i32, %acc: f32):
    %n = linalg.index 1 : index
    %c16 = arith.constant 16 : index
    %c8 = arith.constant 8 : index
    %c4 = arith.constant 4 : index
    %lane = arith.divui %n, %c16 : index
    %t = arith.remui %lane, %c8 : index
    %bits = arith.muli %t, %c4 : index
    %shift = arith.index_cast %bits : index to i32
    %c15 = arith.constant 15 : i32
    %shifted = arith.shrui %word, %shift : i32
    %nibble = arith.andi %shifted, %c15 : i32
    %v = arith.sitofp %nibble : i32 to f32
    %f = math.fma %a, %v, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// Generics of other forms stay as they are: a column count that no vector
// width divides, a reduction over n, panels narrower than a vector, columns
// that are not consecutive, and an index of n and k together.

// CHECK-LABEL: func.func @odd(
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @strided(
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @column_and_k(
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @reduce_n(
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @thin_panels(
// CHECK:         linalg.generic
// CHECK-NOT:   func.func private
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @odd(%x: tensor<?x8xf32>, %w: tensor<8x6xf32>, %y: tensor<?x6xf32>) -> tensor<?x6xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x8xf32>, tensor<8x6xf32>) outs(%y : tensor<?x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x6xf32>
  return %r : tensor<?x6xf32>
}
// Every other column: a vector's columns are not consecutive.
func.func @strided(%x: tensor<?x64xf32>, %w: tensor<64x256xf32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n * 2)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x256xf32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
// The last index mixes n and k: not a function of the column alone.
func.func @column_and_k(%x: tensor<?x64xf32>, %w: tensor<64x192xf32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n + k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<64x192xf32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
func.func @reduce_n(%x: tensor<?x16xf32>, %y: tensor<?xf32>) -> tensor<?xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<?x16xf32>) outs(%y : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %f = arith.addf %a, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}
func.func @thin_panels(%x: tensor<?x64xf32>, %w: tensor<16x64x8xf32>, %y: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n floordiv 8, k, n mod 8)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<?x64xf32>, tensor<16x64x8xf32>) outs(%y : tensor<?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %f = math.fma %a, %b, %acc : f32
    linalg.yield %f : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
