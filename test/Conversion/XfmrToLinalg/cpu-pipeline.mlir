// RUN: mixtile-opt %s --mixtile-cpu-pipeline="cpu=x86-64-v3 features=+avx2,+fma" | FileCheck %s
// RUN: mixtile-opt %s --mixtile-cpu-pipeline="cpu=x86-64-v3 features=+avx2,+fma" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: mixtile-opt %s --mixtile-cpu-pipeline | FileCheck %s --check-prefix=NATIVE

// mixtile-cpu-pipeline ends in the LLVM dialect: the entry point and its C
// interface, tagged with the target CPU (the host's by default); FMAs are
// the llvm.fma intrinsic, exp a libm call through llvm.exp, and nothing
// calls MLIR's runtime libraries (no memrefCopy).

// CHECK:       module attributes {llvm.target_triple = "{{.*}}"}
// CHECK-NOT:   memrefCopy
// CHECK:       llvm.func @mixtile_forward(
// CHECK-SAME:      target_cpu = "x86-64-v3"
// CHECK-SAME:      target_features = #llvm.target_features<["+avx2", "+fma"]>
// CHECK:         llvm.intr.fma
// CHECK:         llvm.intr.exp
// CHECK:       llvm.func @_mlir_ciface_mixtile_forward(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK:       llvm.func @mixtile_info_weight_fingerprint() -> i64
// CHECK-NOT:   memrefCopy

// LLVMIR:      define void @mixtile_forward({{.*}}) #[[ATTRS:[0-9]+]]
// LLVMIR:      call float @llvm.fma.f32
// LLVMIR:      define void @_mlir_ciface_mixtile_forward(ptr %0, ptr %1, i64 %2, ptr %3, ptr %4, ptr %5) #[[ATTRS]]
// LLVMIR:      attributes #[[ATTRS]] = { "target-cpu"="x86-64-v3" "target-features"="+avx2,+fma" }

// NATIVE:      llvm.func @mixtile_forward({{.*}} target_cpu = "{{[a-z0-9-]+}}"
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x16xf32> {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %w = xfmr.weight "output" from "model.bin" {offset = 2048 : i64} : tensor<16x32xf32>
  %y = xfmr.linear %x, %w : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  %s = xfmr.softmax %y : tensor<?x16xf32>
  return %s : tensor<?x16xf32>
}
