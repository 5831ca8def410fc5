// RUN: mixtile-opt %s --xfmr-set-precision="weights=mxfp4" -split-input-file | FileCheck %s --check-prefix=MXFP4
// RUN: mixtile-opt %s --xfmr-set-precision="weights=mxfp4 activations=mxfp8-e4m3" -split-input-file | FileCheck %s --check-prefix=W4A8
// RUN: mixtile-opt %s --xfmr-set-precision="weights=fp8-e4m3" -split-input-file | FileCheck %s --check-prefix=FP8
// RUN: mixtile-opt %s --xfmr-set-precision="weights=nvfp4 match=feed_forward" -split-input-file | FileCheck %s --check-prefix=FFN
// RUN: mixtile-opt %s --xfmr-set-precision="weights=bf16 kv-cache=fp8-e4m3" -split-input-file | FileCheck %s --check-prefix=KV
// RUN: mixtile-opt %s --xfmr-set-precision="weights=mxfp4 overwrite=false" -split-input-file | FileCheck %s --check-prefix=KEEP

/// Weight-only FP4 by default keeps activations at bf16; layers are named by
/// their weight's key, so `match` selects by key.

// MXFP4-LABEL: func.func @mlp
// MXFP4: xfmr.linear {{.*}} {precision = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E8M0FNU, block = 32, accumulator = f32>}
// MXFP4: xfmr.linear {{.*}} {precision = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E8M0FNU, block = 32, accumulator = f32>}
// W4A8-LABEL: func.func @mlp
// W4A8-COUNT-2: #xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>
// FP8-LABEL: func.func @mlp
// FP8-COUNT-2: #xfmr.precision<weights = f8E4M3FN, activations = f8E4M3FN, scale = f32, accumulator = f32>
// FFN-LABEL: func.func @mlp
// FFN: xfmr.linear %{{.*}}, %[[WQ:.*]] : (tensor<4x64xf32>
// FFN: xfmr.linear {{.*}} {precision = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E4M3FN, block = 16, accumulator = f32>}
func.func @mlp(%x: tensor<4x64xf32>) -> tensor<4x172xf32> {
  %wq = xfmr.weight "layers.0.attention.wq" from "m.bin" : tensor<64x64xf32>
  %w1 = xfmr.weight "layers.0.feed_forward.w1" from "m.bin" : tensor<172x64xf32>
  %0 = xfmr.linear %x, %wq : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %1 = xfmr.linear %0, %w1 : (tensor<4x64xf32>, tensor<172x64xf32>) -> tensor<4x172xf32>
  return %1 : tensor<4x172xf32>
}

// -----

/// The KV cache field lands only on attention ops that have a cache.

// KV-LABEL: func.func @decode
// KV: xfmr.attention {{.*}} cache({{.*}}) at {{.*}}precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32, kv_cache = f8E4M3FN>
// KV: xfmr.matmul {{.*}}precision = #xfmr.precision<weights = bf16, activations = bf16, accumulator = f32>}
func.func @decode(%q: tensor<1x64xf32>, %k: tensor<1x32xf32>, %v: tensor<1x32xf32>,
                  %kc: tensor<512x32xf32>, %vc: tensor<512x32xf32>, %pos: index,
                  %m: tensor<64x64xf32>) -> tensor<1x64xf32> {
  %0:3 = xfmr.attention %q, %k, %v cache(%kc, %vc) at %pos {causal, n_heads = 8 : i64, n_kv_heads = 4 : i64} : (tensor<1x64xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<512x32xf32>, tensor<512x32xf32>, index) -> (tensor<1x64xf32>, tensor<512x32xf32>, tensor<512x32xf32>)
  %1 = xfmr.matmul %0#0, %m : (tensor<1x64xf32>, tensor<64x64xf32>) -> tensor<1x64xf32>
  return %1 : tensor<1x64xf32>
}

// -----

/// overwrite=false keeps records that are already there.

// KEEP-LABEL: func.func @negative_keep_existing
// KEEP: xfmr.linear {{.*}} {precision = #xfmr.precision<weights = f8E5M2, activations = f8E5M2, scale = f32, accumulator = f32>}
// KEEP: xfmr.linear {{.*}} {precision = #xfmr.precision<weights = f4E2M1FN, activations = bf16, scale = f8E8M0FNU, block = 32, accumulator = f32>}
func.func @negative_keep_existing(%x: tensor<4x64xf32>, %w: tensor<64x64xf32>) -> tensor<4x64xf32> {
  %0 = xfmr.linear %x, %w {precision = #xfmr.precision<weights = f8E5M2, activations = f8E5M2, scale = f32, accumulator = f32>} : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %1 = xfmr.linear %0, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  return %1 : tensor<4x64xf32>
}
