// Fixed sensitivities (test hook) on a two-layer model with equal weight
// sizes; objective bytes: bf16 16, fp8 8, mxfp4 4.25 bits per weight.
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.01 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 test-sensitivities=%S/Inputs/two-layers.json plan=%t.plan.json" | FileCheck %s --check-prefix=TEN
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.01 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 print-table test-sensitivities=%S/Inputs/two-layers.json" -o %t.table.mlir | FileCheck %s --check-prefix=TABLE
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.015 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 test-sensitivities=%S/Inputs/two-layers.json" | FileCheck %s --check-prefix=FIFTEEN
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.1 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 test-sensitivities=%S/Inputs/two-layers.json" | FileCheck %s --check-prefix=LOOSE
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 test-sensitivities=%S/Inputs/two-layers.json" | FileCheck %s --check-prefix=EXACT
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.1 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 pins=^a=bf16 test-sensitivities=%S/Inputs/two-layers.json" | FileCheck %s --check-prefix=PINNED
// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=0.01 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 sweep=0,0.01,0.015,0.1 sweep-out=%t.sweep.json sweep-svg=%t.sweep.svg test-sensitivities=%S/Inputs/two-layers.json" -o /dev/null
// RUN: FileCheck %s --check-prefix=SWEEP < %t.sweep.json
// RUN: FileCheck %s --check-prefix=SVG < %t.sweep.svg
// RUN: not mixtile-opt %s --xfmr-assign-precision="budget=kl=0.01 objective=bytes candidates=bf16,fp8-e4m3,mxfp4 pins=^a=mxfp4 test-sensitivities=%S/Inputs/two-layers.json" 2>&1 | FileCheck %s --check-prefix=IMPOSSIBLE

/// kl <= 0.01: bf16 + mxfp4 (0.008, 20.25 bits) loses to fp8 + fp8 (0.005,
/// 16 bits): mixing is cheaper than protecting one layer.
// TEN-LABEL: func.func @forward
// TEN: xfmr.linear {{.*}}#xfmr.precision<weights = f8E4M3FN, activations = f8E4M3FN, scale = f32, accumulator = f32>
// TEN: xfmr.linear {{.*}}#xfmr.precision<weights = f8E4M3FN, activations = f8E4M3FN, scale = f32, accumulator = f32>
// PLAN: "candidate": "fp8-e4m3"
// PLAN: "group": "a.weight"
// PLAN: "candidate": "fp8-e4m3"
// PLAN: "group": "b.weight"
// PLAN: "predicted_error": 0.005

/// print-table: one row per group and the totals, on stdout.
// TABLE: layer group format bytes model (us) predicted kl
// TABLE-NEXT: a.weight fp8-e4m3 4096 0.000 4.000e-03
// TABLE-NEXT: b.weight fp8-e4m3 4096 0.000 1.000e-03
// TABLE-NEXT: total 8192 0.000 5.000e-03
// TABLE-NEXT: measured kl error on calibration: 5.000e-03 (budget kl=0.01)

/// kl <= 0.015: the sensitive layer stays at fp8, the other takes mxfp4.
// FIFTEEN: xfmr.linear {{.*}}weights = f8E4M3FN
// FIFTEEN: xfmr.linear {{.*}}weights = f4E2M1FN

// LOOSE-COUNT-2: weights = f4E2M1FN

/// A sweep reuses the sensitivities for every bound: costs 2 x 4096
/// weights at 16+16, 8+8, 8+4.25 and 4.25+4.25 bits.
// SWEEP: "budget": "0",
// SWEEP: "cost": 16384,
// SWEEP: "budget": "0.01",
// SWEEP: "cost": 8192,
// SWEEP: "budget": "0.015",
// SWEEP: "cost": 6272,
// SWEEP: "budget": "0.1",
// SWEEP: "cost": 4352,
// SVG: <svg
// SVG-COUNT-4: <circle
// SVG: </svg>

/// A pin can make the budget impossible: the error names the bound.
// IMPOSSIBLE: error: xfmr-assign-precision: no plan in the menu meets kl=0.01 (least predicted kl error 5.000e-02)

/// A pin fixes a group; the others are still optimized.
// PINNED: xfmr.linear {{.*}}weights = bf16
// PINNED: xfmr.linear {{.*}}weights = f4E2M1FN
// EXACT-COUNT-2: #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32>

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
