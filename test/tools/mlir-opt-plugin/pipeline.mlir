// RUN: %mlir_opt %s --load-dialect-plugin=%mixtile_plugin \
// RUN:   --load-pass-plugin=%mixtile_plugin \
// RUN:   --pass-pipeline="builtin.module(xfmr-attach-target,xfmr-set-precision{weights=mxfp4 activations=mxfp8-e4m3 match=feed_forward})" \
// RUN:   | FileCheck %s
// RUN: not %mlir_opt %s --load-dialect-plugin=%mixtile_plugin \
// RUN:   --xfmr-attach-target 2>&1 | FileCheck %s --check-prefix=FLAG

/// Upstream mlir-opt runs our passes from the plugin. They are named in
/// --pass-pipeline: mlir-opt builds its table of pass flags
/// (--xfmr-set-precision=...) before it loads plugins.

// FLAG: Unknown command line argument '--xfmr-attach-target'

// CHECK: module attributes {xfmr.target = {
// CHECK-SAME: name = "maia200"
// CHECK-LABEL: func.func @mlp
// CHECK: xfmr.linear %{{.*}}, %{{.*}} : (tensor<4x64xf32>, tensor<64x64xf32>)
// CHECK: xfmr.linear {{.*}} {precision = #xfmr.precision<weights = f4E2M1FN, activations = f8E4M3FN, scale = f8E8M0FNU, block = 32, accumulator = f32>}
func.func @mlp(%x: tensor<4x64xf32>) -> tensor<4x172xf32> {
  %wq = xfmr.weight "layers.0.attention.wq" from "m.bin" : tensor<64x64xf32>
  %w1 = xfmr.weight "layers.0.feed_forward.w1" from "m.bin" : tensor<172x64xf32>
  %0 = xfmr.linear %x, %wq : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %1 = xfmr.linear %0, %w1 : (tensor<4x64xf32>, tensor<172x64xf32>) -> tensor<4x172xf32>
  return %1 : tensor<4x172xf32>
}
