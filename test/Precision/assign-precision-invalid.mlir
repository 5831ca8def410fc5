// RUN: mixtile-opt %s --xfmr-assign-precision="budget=kl=-1 objective=bytes candidates=bf16,mxfp4 test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -split-input-file
// RUN: not mixtile-opt %s --xfmr-assign-precision="budget=ppl=2 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" 2>&1 | FileCheck %s --check-prefix=METRIC
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=fp5 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" 2>&1 | FileCheck %s --check-prefix=CAND
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=bf16" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=bf16 objective=speed" 2>&1 | FileCheck %s --check-prefix=OBJECTIVE
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=bf16 objective=bytes" 2>&1 | FileCheck %s --check-prefix=CALIB
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=bf16,nvfp4 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" 2>&1 | FileCheck %s --check-prefix=HOOK
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=bf16,mxfp4 pins=a=nvfp4 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" 2>&1 | FileCheck %s --check-prefix=PINCAND
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=bf16,mxfp4 pins=zzz=bf16 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" 2>&1 | FileCheck %s --check-prefix=PINNONE
// RUN: not mixtile-opt %s --xfmr-assign-precision="candidates=bf16,mxfp4 pins=(=bf16 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" 2>&1 | FileCheck %s --check-prefix=PINREGEX

/// Impossible budgets, unknown metrics, candidates and objectives, a missing
/// target or calibration set: one error on the module, nothing annotated.

// expected-error @below {{xfmr-assign-precision: budget 'kl=-1' needs a non-negative bound (top1: at most 1), e.g. kl=0.01 or top1=0.99}}
module {
  func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<4x64xf32> {
    %x = arith.constant dense<1.0> : tensor<4x64xf32>
    %wa = xfmr.weight "a.weight" from "shapes-only" : tensor<64x64xf32>
    %wb = xfmr.weight "b.weight" from "shapes-only" : tensor<64x64xf32>
    %0 = xfmr.linear %x, %wa : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
    %1 = xfmr.linear %0, %wb : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
    return %1 : tensor<4x64xf32>
  }
}

// METRIC: error: xfmr-assign-precision: unsupported budget metric 'ppl' (supported: kl, top1, rel-l2)
// CAND: error: xfmr-assign-precision: candidate 'fp5': unknown weights scheme 'fp5'
// TARGET: error: xfmr-assign-precision: the latency objective needs a target: module has no 'xfmr.target' attribute; run xfmr-attach-target
// OBJECTIVE: error: xfmr-assign-precision: unknown objective 'speed' (expected latency or bytes)
// CALIB: error: xfmr-assign-precision: needs calibration tokens (calibration=FILE)
// PINCAND: error: xfmr-assign-precision: pin 'a=nvfp4' must be REGEX=CANDIDATE with a candidate of the menu
// PINNONE: error: xfmr-assign-precision: pin 'zzz=bf16' matches no layer group
// PINREGEX: error: xfmr-assign-precision: pin '(=bf16': invalid regex:
// HOOK: error: xfmr-assign-precision: '{{.*}}two-layers.json' has no value for 'a.weight' / 'nvfp4'
