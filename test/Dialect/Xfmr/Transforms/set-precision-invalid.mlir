// RUN: mixtile-opt %s --xfmr-set-precision="weights=fp5" -verify-diagnostics -split-input-file
// RUN: not mixtile-opt %s --xfmr-set-precision="weights=mxfp4 activations=int8" 2>&1 | FileCheck %s --check-prefix=ACT
// RUN: not mixtile-opt %s --xfmr-set-precision="weights=mxfp4 activations=nvfp4" 2>&1 | FileCheck %s --check-prefix=MIXED
// RUN: not mixtile-opt %s --xfmr-set-precision="weights=bf16 kv-cache=mxfp9" 2>&1 | FileCheck %s --check-prefix=KV
// RUN: not mixtile-opt %s --xfmr-set-precision="weights=bf16 match=(" 2>&1 | FileCheck %s --check-prefix=REGEX
// RUN: not mixtile-opt %s --xfmr-set-precision="weights=bf16 kv-cache=mxfp4" 2>&1 | FileCheck %s --check-prefix=KVFMT

/// Bad options name the option and the valid choices; the module is left
/// unchanged and the tool exits nonzero.

// expected-error @below {{unknown weights scheme 'fp5'; expected one of: f32, bf16, fp8-e4m3, fp8-e5m2, mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, mxfp6-e3m2, mxfp4, nvfp4}}
module {
  func.func @f(%x: tensor<4x64xf32>, %w: tensor<64x64xf32>) -> tensor<4x64xf32> {
    %0 = xfmr.linear %x, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
    return %0 : tensor<4x64xf32>
  }
}

// ACT: unknown activations scheme 'int8'
// MIXED: weights scheme 'mxfp4' and activations scheme 'nvfp4' scale differently; one record holds one scale and block size
// KV: unknown kv-cache scheme 'mxfp9'
// REGEX: invalid match pattern '(':
// KVFMT: unsupported KV cache format 'f4E2M1FN'
