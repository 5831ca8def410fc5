// RUN: mixtile-opt %s --mixtile-cpu-pipeline="cpu=x86-64-v3 features=+avx2,+fma" | FileCheck %s
// RUN: mixtile-opt %s --mixtile-cpu-pipeline="cpu=x86-64-v3 features=+avx2,+fma" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: mixtile-opt %s --mixtile-cpu-pipeline | FileCheck %s --check-prefix=NATIVE
// RUN: mixtile-opt %s --mixtile-cpu-pipeline="cpu=x86-64-v3 features=+avx2,+fma" | FileCheck %s --check-prefix=EXACT
// RUN: mixtile-opt %s --mixtile-cpu-pipeline="numerics=fast cpu=x86-64-v3 features=+avx2,+fma" | FileCheck %s --check-prefix=FAST
// RUN: mixtile-opt %s --mixtile-cpu-pipeline="numerics=fast-products cpu=x86-64-v3 features=+avx2,+fma" | FileCheck %s --check-prefix=FAST
// RUN: not mixtile-opt %s --mixtile-cpu-pipeline="numerics=sloppy" 2>&1 | FileCheck %s --check-prefix=BAD

// mixtile-cpu-pipeline ends in the LLVM dialect: the entry point and its C
// interface, tagged with the target CPU (the host's by default); the
// linear is a vectorized kernel of its own whose FMAs are the llvm.fma
// intrinsic on vectors, every other linalg op's loops a never-inlined
// function of their own (the softmax's exp numerics::exp's operations in
// f64, no libm call), and nothing calls MLIR's runtime libraries (no
// memrefCopy).

// CHECK:       module attributes {llvm.target_triple = "{{.*}}"}
// CHECK-NOT:   memrefCopy
// CHECK:       llvm.func @mixtile_forward(
// CHECK-SAME:      target_cpu = "x86-64-v3"
// CHECK-SAME:      target_features = #llvm.target_features<["+avx2", "+fma"]>
// CHECK:         llvm.call @mixtile_forward_loops0(
// CHECK:         llvm.call @mixtile_forward_rows0(
// CHECK-NOT:     llvm.intr.exp
// CHECK-NOT:     @expf
// CHECK:       llvm.func @_mlir_ciface_mixtile_forward(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK:       llvm.func @mixtile_info_weight_fingerprint() -> i64
// CHECK:       llvm.func @mixtile_forward_rows0(
// CHECK-SAME:      target_cpu = "x86-64-v3"
// CHECK:         llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK:       llvm.func @mixtile_forward_loops0(
// CHECK-SAME:      passthrough = ["noinline"]
// CHECK-SAME:      target_cpu = "x86-64-v3"
// CHECK:       llvm.func @mixtile_forward_loops4(
// CHECK:         llvm.intr.roundeven(%{{.*}}) : (f64) -> f64
// CHECK:         llvm.fptosi %{{.*}} : f64 to i64
// CHECK:         llvm.fptrunc %{{.*}} : f64 to f32
// CHECK-NOT:   memrefCopy
// CHECK-NOT:   llvm.intr.exp

// LLVMIR:      define void @mixtile_forward({{.*}}) #[[ATTRS:[0-9]+]]
// LLVMIR:      define void @_mlir_ciface_mixtile_forward(ptr %0, ptr %1, i64 %2, ptr %3, ptr %4, ptr %5) #[[ATTRS]]
// LLVMIR:      call <16 x float> @llvm.fma.v16f32
// LLVMIR:      attributes #[[ATTRS]] = { "target-cpu"="x86-64-v3" "target-features"="+avx2,+fma" }

// NATIVE:      llvm.func @mixtile_forward({{.*}} target_cpu = "{{[a-z0-9-]+}}"

// Exact numerics add no fast-math flags; fast numerics (fast and
// fast-products) let every floating-point op be reassociated and
// contracted (calls and integer ops keep none).
// EXACT-NOT:   fastmath
// FAST-NOT:    llvm.call {{.*}}fastmath
// FAST:        llvm.func @mixtile_forward_rows0(
// FAST:          llvm.intr.fma({{.*}}) {fastmathFlags = #llvm.fastmath<contract, reassoc>} : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// FAST:        llvm.func @mixtile_forward_loops4(
// FAST:          llvm.fmul %{{.*}}, %{{.*}} {fastmathFlags = #llvm.fastmath<contract, reassoc>} : f64
// BAD:         for the --numerics option: Cannot find option named 'sloppy'!
func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x16xf32> {
  %table = xfmr.weight "tok_embeddings" from "model.bin" {offset = 0 : i64} : tensor<16x32xf32>
  %x = xfmr.embedding %table[%tokens] : tensor<16x32xf32>, tensor<?xi32> -> tensor<?x32xf32>
  %w = xfmr.weight "output" from "model.bin" {offset = 2048 : i64} : tensor<16x32xf32>
  %y = xfmr.linear %x, %w : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  %s = xfmr.softmax %y : tensor<?x16xf32>
  return %s : tensor<?x16xf32>
}
