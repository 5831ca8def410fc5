// RUN: mixtile-opt %s --xfmr-attach-target | FileCheck %s
// RUN: mixtile-opt %s --xfmr-attach-target="target=%S/Inputs/small-chip.json" | FileCheck %s --check-prefix=CUSTOM

/// The default target is the built-in maia200 description; a user's file
/// replaces it field for field.

// CHECK: module attributes {xfmr.target = {
// CHECK-SAME: clusters = 16 : i64
// CHECK-SAME: name = "maia200"
// CHECK-SAME: ttu_macs_per_cycle = {bf16 = 8192 : i64, fp4 = 65536 : i64, fp8 = 32768 : i64}
// CUSTOM: module attributes {xfmr.target = {
// CUSTOM-SAME: clusters = 2 : i64
// CUSTOM-SAME: name = "small-chip"
module {
  func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    return %x : tensor<4x8xf32>
  }
}
