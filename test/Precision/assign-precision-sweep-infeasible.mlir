// A sweep point below what the menu can reach (a pinned to mxfp4 makes the
// least error 0.05) is recorded as infeasible with a warning; the other
// points are still solved.
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.1 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 pins=^a=mxfp4 sweep=0.01,0.1 sweep-out=%t.sweep.json test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: FileCheck %s < %t.sweep.json

// CHECK:      "budget": "0.01",
// CHECK-NEXT: "infeasible": true,
// CHECK-NEXT: "least_predicted_error": 0.05
// CHECK:      "budget": "0.1",
// CHECK-NEXT: "cost": 4352,

// expected-warning @below {{sweep: no plan in the menu meets kl=0.01 (least predicted kl error 5.000e-02)}}
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
