// Diagnostics of sensitivity=probe, budget local= and function=: one error
// on the module each, nothing annotated.

// RUN: sed -n '1,/^module @two/p' %s | sed '$d' > %t.main.mlir
// RUN: mixtile-opt %t.main.mlir -verify-diagnostics --xfmr-assign-precision="budget=local=0.01 sensitivity=probe objective=bytes" -o /dev/null
// RUN: sed -n 's|^// LOCAL: |// expected-error @below |p' %s > %t.LOCAL.mlir && sed -n '/^module @two/,$p' %s >> %t.LOCAL.mlir
// RUN: mixtile-opt %t.LOCAL.mlir --xfmr-assign-precision="budget=local=0.01 objective=bytes function=two" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// MODE: |// expected-error @below |p' %s > %t.MODE.mlir && sed -n '/^module @two/,$p' %s >> %t.MODE.mlir
// RUN: mixtile-opt %t.MODE.mlir --xfmr-assign-precision="budget=kl=0.01 sensitivity=probe objective=bytes function=two" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// DATA: |// expected-error @below |p' %s > %t.DATA.mlir && sed -n '/^module @two/,$p' %s >> %t.DATA.mlir
// RUN: mixtile-opt %t.DATA.mlir --xfmr-assign-precision="budget=local=0.01 sensitivity=probe objective=bytes function=two calibration=%s" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// ROWS: |// expected-error @below |p' %s > %t.ROWS.mlir && sed -n '/^module @two/,$p' %s >> %t.ROWS.mlir
// RUN: mixtile-opt %t.ROWS.mlir --xfmr-assign-precision="budget=local=0.01 sensitivity=probe objective=bytes function=two probe-rows=0" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// OUTPUTS: |// expected-error @below |p' %s > %t.OUTPUTS.mlir && sed -n '/^module @two/,$p' %s >> %t.OUTPUTS.mlir
// RUN: mixtile-opt %t.OUTPUTS.mlir --xfmr-assign-precision="budget=local=0.01 sensitivity=probe objective=bytes function=two probe-outputs=-1" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// NOFUNC: |// expected-error @below |p' %s > %t.NOFUNC.mlir && sed -n '/^module @two/,$p' %s >> %t.NOFUNC.mlir
// RUN: mixtile-opt %t.NOFUNC.mlir --xfmr-assign-precision="budget=local=0.01 sensitivity=probe objective=bytes function=nope" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// NOWEIGHTS: |// expected-error @below |p' %s > %t.NOWEIGHTS.mlir && sed -n '/^module @two/,$p' %s >> %t.NOWEIGHTS.mlir
// RUN: mixtile-opt %t.NOWEIGHTS.mlir --xfmr-assign-precision="budget=local=0.01 sensitivity=probe objective=bytes function=other" -verify-diagnostics -o /dev/null

// LOCAL: {{xfmr-assign-precision: budget local= goes with sensitivity=probe, and sensitivity=probe with budget local=}}
// MODE: {{xfmr-assign-precision: budget local= goes with sensitivity=probe, and sensitivity=probe with budget local=}}
// DATA: {{xfmr-assign-precision: sensitivity=probe uses no data; drop calibration= and holdout=}}
// ROWS: {{xfmr-assign-precision: probe-rows must be positive}}
// OUTPUTS: {{xfmr-assign-precision: probe-outputs must be 0 (every output) or positive}}
// NOFUNC: {{xfmr-assign-precision: no function @nope in the module}}
// NOWEIGHTS: {{xfmr-assign-precision: @other has no layers with weights to assign}}

// Two functions, neither @forward: the pass must be told which.
// expected-error @below {{xfmr-assign-precision: the module has no @forward; name the function to assign with function=}}
module {
  func.func @a() { return }
  func.func @b() { return }
}

// The products the other cases run on.

module @two {
  func.func @two(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
    %w = arith.constant dense<0.5> : tensor<64x64xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<4x64xf32>
    %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
    %y = linalg.matmul ins(%x, %w : tensor<4x64xf32>, tensor<64x64xf32>) outs(%z : tensor<4x64xf32>) -> tensor<4x64xf32>
    return %y : tensor<4x64xf32>
  }
  func.func @other() { return }
}
