// A plan written by the search applies back to the same records.
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.015 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 test-sensitivities=%S/Inputs/two-layers.json plan=%t.plan.json" -o %t.searched.mlir
// RUN: mixtile-opt %s --xfmr-assign-precision="plan-in=%t.plan.json" -o %t.applied.mlir
// RUN: diff %t.searched.mlir %t.applied.mlir

// A hand-written plan: candidate names or full records.
// RUN: mixtile-opt %s --xfmr-assign-precision="plan-in=%S/Inputs/hand-plan.json" | FileCheck %s
// CHECK: xfmr.linear {{.*}}#xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>
// CHECK: xfmr.linear {{.*}}#xfmr.precision<weights = f8E5M2, activations = f8E5M2, scale = f32, accumulator = f32>

// Plans that do not fit the model are errors.
// RUN: %python %S/Inputs/bad-plans.py %t
// RUN: not mixtile-opt %s --xfmr-assign-precision="plan-in=%t.unknown-group.json" 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: error: xfmr-assign-precision: plan '{{.*}}unknown-group.json' names layer group 'c.weight', which the model does not have
// RUN: not mixtile-opt %s --xfmr-assign-precision="plan-in=%t.bad-record.json" 2>&1 | FileCheck %s --check-prefix=RECORD
// RECORD: error: xfmr-assign-precision: plan '{{.*}}bad-record.json': layer group 'a.weight' has record '#xfmr.precision<weights = i8>', which is not a valid #xfmr.precision
// RUN: not mixtile-opt %s --xfmr-assign-precision="plan-in=%t.no-format.json" 2>&1 | FileCheck %s --check-prefix=NOFORMAT
// NOFORMAT: error: xfmr-assign-precision: plan '{{.*}}no-format.json': layer group 'a.weight' needs a "record" or a "candidate"
// RUN: not mixtile-opt %s --xfmr-assign-precision="plan-in=%t.bad-candidate.json" 2>&1 | FileCheck %s --check-prefix=CANDIDATE
// CANDIDATE: error: xfmr-assign-precision: plan '{{.*}}bad-candidate.json': layer group 'a.weight': unknown weights scheme 'fp5'
// RUN: not mixtile-opt %s --xfmr-assign-precision="plan-in=%t.no-layers.json" 2>&1 | FileCheck %s --check-prefix=NOLAYERS
// NOLAYERS: error: xfmr-assign-precision: plan '{{.*}}no-layers.json' is not a JSON object with "layers"
// RUN: not mixtile-opt %s --xfmr-assign-precision="plan-in=%t.missing.json" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: xfmr-assign-precision: cannot read plan '{{.*}}missing.json'

module {
  func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x64xf32> {
    %x = arith.constant dense<1.0> : tensor<4x64xf32>
    %wa = xfmr.weight "a.weight" from "shapes-only" : tensor<64x64xf32>
    %wb = xfmr.weight "b.weight" from "shapes-only" : tensor<64x64xf32>
    %0 = xfmr.linear %x, %wa : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
    %1 = xfmr.linear %0, %wb : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    return %1 : tensor<?x64xf32>
  }
}
