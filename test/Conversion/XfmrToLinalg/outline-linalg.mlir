// RUN: mixtile-opt %s --mixtile-cpu-outline-linalg | FileCheck %s
// RUN: mixtile-opt %s --mixtile-cpu-outline-linalg --mixtile-cpu-outline-linalg | FileCheck %s
// RUN: %mlir_opt %s --load-dialect-plugin=%mixtile_plugin --load-pass-plugin=%mixtile_plugin --pass-pipeline="builtin.module(mixtile-cpu-outline-linalg)" | FileCheck %s

// mixtile-cpu-outline-linalg: each linalg op on buffers becomes a call of a
// private, never-inlined function of the values it uses (constants are
// cloned into it; a scalar from above is an operand), one function for ops
// that would outline alike: the two adds on other buffers share one, the
// fills of 0 and 1 do not, and an op under scf.if is outlined too. The two
// ops on %s and %t use the same values at the same places but would pass
// them in other places among their operands (one takes %s as an operand,
// the other %t), so they get functions of their own. A second run leaves
// the functions as they are; an op alone in a function of the input is
// outlined all the same, here into the function of the other fill of 1
// (ops in different functions share them too). The adds write an
// argument that may alias the other (no noalias pointer); a memref alone
// among a function's arguments aliases none (outline-noalias.mlir).

// CHECK-LABEL: func.func @layers(
// CHECK-SAME:      %[[A:[^:]*]]: memref<8xf32>, %[[B:[^:]*]]: memref<8xf32>, %[[C:[^:]*]]: memref<8xf32>, %[[D:[^:]*]]: memref<8xf32>, %[[S:[^:]*]]: f32, %[[T:[^:]*]]: f32, %[[P:[^:]*]]: i1)
// CHECK:         call @layers_loops0(%[[A]], %[[B]]) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK:         call @layers_loops0(%[[C]], %[[D]]) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK:         call @layers_loops1(%[[A]]) : (memref<8xf32>) -> ()
// CHECK:         call @layers_loops2(%[[A]]) : (memref<8xf32>) -> ()
// CHECK:         scf.if %[[P]] {
// CHECK:           call @layers_loops3(%[[A]], %[[S]]) : (memref<8xf32>, f32) -> ()
// CHECK:         call @layers_loops4(%[[S]], %[[A]], %[[T]])
// CHECK:         call @layers_loops5(%[[T]], %[[A]], %[[S]])
// CHECK-NOT:     linalg.
// CHECK-LABEL: func.func @single(
// CHECK:         call @layers_loops2(%{{.*}}) : (memref<8xf32>) -> ()
// CHECK-NOT:     linalg.
// CHECK:       func.func private @layers_loops0(%[[X:.*]]: memref<8xf32>, %[[Y:.*]]: memref<8xf32>) attributes {passthrough = ["noinline"]} {
// CHECK-NEXT:    linalg.generic {{.*}} ins(%[[X]] : memref<8xf32>) outs(%[[Y]] : memref<8xf32>)
// CHECK:           arith.addf
// CHECK:         return
// CHECK:       func.func private @layers_loops1(%[[Z:.*]]: memref<8xf32>) attributes {mixtile.noalias_pointers = array<i64: 1>, passthrough = ["noinline"]} {
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    linalg.fill ins(%[[ZERO]] : f32) outs(%[[Z]] : memref<8xf32>)
// CHECK:       func.func private @layers_loops2(
// CHECK-NEXT:    arith.constant 1.000000e+00 : f32
// CHECK:       func.func private @layers_loops3(%[[O:.*]]: memref<8xf32>, %[[F:.*]]: f32)
// CHECK-NEXT:    linalg.generic {{.*}} outs(%[[O]] : memref<8xf32>)
// CHECK:           arith.mulf %{{.*}}, %[[F]] : f32
// CHECK:       func.func private @layers_loops4(
// CHECK:       func.func private @layers_loops5(
// CHECK-NOT:   func.func
#id = affine_map<(i) -> (i)>
#scalar = affine_map<(i) -> ()>
func.func @layers(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>, %d: memref<8xf32>, %s: f32, %t: f32, %p: i1) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : memref<8xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%c : memref<8xf32>) outs(%d : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  }
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%zero : f32) outs(%a : memref<8xf32>)
  linalg.fill ins(%one : f32) outs(%a : memref<8xf32>)
  scf.if %p {
    linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%a : memref<8xf32>) {
    ^bb0(%y: f32):
      %r = arith.mulf %y, %s : f32
      linalg.yield %r : f32
    }
  }
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel"]} ins(%s : f32) outs(%a : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %s : f32
    %q = arith.mulf %r, %t : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#scalar, #id], iterator_types = ["parallel"]} ins(%t : f32) outs(%a : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %s : f32
    %q = arith.mulf %r, %t : f32
    linalg.yield %q : f32
  }
  return
}

func.func @single(%a: memref<8xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%a : memref<8xf32>)
  return
}
