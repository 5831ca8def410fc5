// RUN: mixtile-opt %s --split-input-file --mixtile-cpu-outline-linalg | FileCheck %s
// RUN: mixtile-opt %s --split-input-file --mixtile-cpu-outline-linalg | mlir-opt --split-input-file --convert-linalg-to-loops --convert-scf-to-cf --finalize-memref-to-llvm --convert-func-to-llvm | mixtile-opt --split-input-file --mixtile-cpu-apply-noalias-pointers | mlir-opt --split-input-file --reconcile-unrealized-casts | FileCheck %s --check-prefix=LLVM

// mixtile-cpu-outline-linalg records which written memrefs of an outlined
// function alias no other argument, as the positions of their aligned
// pointers in the LLVM function (each memref<8xf32> takes 5 arguments:
// allocated and aligned pointers, offset, size, stride), and
// mixtile-cpu-apply-noalias-pointers marks those llvm.noalias. An
// allocation aliases nothing; two function arguments may alias; slots of
// one buffer at constant offsets alias where their bytes overlap. A
// function shared by several ops keeps what holds at every call.

// CHECK-LABEL: func.func @distinct(
// CHECK:       func.func private @distinct_loops0(%{{.*}}: memref<8xf32>, %{{.*}}: memref<8xf32>) attributes {mixtile.noalias_pointers = array<i64: 6>, passthrough = ["noinline"]}
// CHECK:       func.func private @distinct_loops1(%{{.*}}: memref<8xf32>, %{{.*}}: memref<8xf32>) attributes {passthrough = ["noinline"]}
// LLVM-LABEL:  llvm.func @distinct_loops0(
// LLVM-SAME:       %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: i64,
// LLVM-NOT:    mixtile.noalias_pointers
// LLVM-LABEL:  llvm.func @distinct_loops1(
// LLVM-NOT:    llvm.noalias
// LLVM:        llvm.return
#id = affine_map<(i) -> (i)>
func.func @distinct(%a: memref<8xf32>, %b: memref<8xf32>) -> memref<8xf32> {
  %fresh = memref.alloc() : memref<8xf32>
  // Into an allocation.
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : memref<8xf32>) outs(%fresh : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  // From one argument into another, which may be the same memory.
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : memref<8xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  }
  return %fresh : memref<8xf32>
}

// -----

// CHECK-LABEL: func.func @slots(
// CHECK:       func.func private @slots_loops0({{.*}}) attributes {mixtile.noalias_pointers = array<i64: 6>, passthrough = ["noinline"]}
// CHECK:       func.func private @slots_loops1({{.*}}) attributes {passthrough = ["noinline"]}
// CHECK:       func.func private @slots_loops2({{.*}}) attributes {passthrough = ["noinline"]}
#id = affine_map<(i) -> (i)>
func.func @slots(%state: memref<?xi8>, %i: index) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c16 = arith.constant 16 : index
  %first = memref.view %state[%c0][] : memref<?xi8> to memref<8xf32>
  %second = memref.view %state[%c32][] : memref<?xi8> to memref<8xf32>
  %straddling = memref.view %state[%c16][] : memref<?xi8> to memref<8xf32>
  %somewhere = memref.view %state[%i][] : memref<?xi8> to memref<8xf32>
  // Bytes [0, 32) and [32, 64).
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%first : memref<8xf32>) outs(%second : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  // Bytes [16, 48) and [32, 64).
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%straddling : memref<8xf32>) outs(%second : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  }
  // A slot at an offset only known at run time.
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%somewhere : memref<8xf32>) outs(%second : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.subf %x, %y : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// The two negations share a function; the second writes an argument that
// may alias its input, so the shared function has no noalias pointer.
// CHECK-LABEL: func.func @shared(
// CHECK:         call @shared_loops0
// CHECK:         call @shared_loops0
// CHECK:       func.func private @shared_loops0({{.*}}) attributes {passthrough = ["noinline"]}
#id = affine_map<(i) -> (i)>
func.func @shared(%a: memref<8xf32>, %b: memref<8xf32>) {
  %fresh = memref.alloc() : memref<8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : memref<8xf32>) outs(%fresh : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : memref<8xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  memref.dealloc %fresh : memref<8xf32>
  return
}

// -----

// Slots of index elements (no bit width): their bytes are unknown, so the
// fill of one aliases the other.
// CHECK-LABEL: func.func @index_slots(
// CHECK:       func.func private @index_slots_loops0({{.*}}) attributes {passthrough = ["noinline"]}
#id = affine_map<(i) -> (i)>
func.func @index_slots(%state: memref<?xi8>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %first = memref.view %state[%c0][] : memref<?xi8> to memref<4xindex>
  %second = memref.view %state[%c64][] : memref<?xi8> to memref<4xindex>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%first : memref<4xindex>) outs(%second : memref<4xindex>) {
  ^bb0(%x: index, %y: index):
    linalg.yield %x : index
  }
  return
}
