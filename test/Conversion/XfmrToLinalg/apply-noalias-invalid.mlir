// RUN: mixtile-opt %s --split-input-file --mixtile-cpu-apply-noalias-pointers --verify-diagnostics

// expected-error @+1 {{'llvm.func' op mixtile.noalias_pointers: argument 0 is not a pointer}}
llvm.func @index(%n: i64) attributes {mixtile.noalias_pointers = array<i64: 0>} {
  llvm.return
}

// -----

// expected-error @+1 {{'llvm.func' op mixtile.noalias_pointers: argument 2 is not a pointer}}
llvm.func @past_the_end(%p: !llvm.ptr, %q: !llvm.ptr) attributes {mixtile.noalias_pointers = array<i64: 1, 2>} {
  llvm.return
}
