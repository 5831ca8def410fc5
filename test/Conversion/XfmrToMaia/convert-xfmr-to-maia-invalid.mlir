// RUN: mixtile-opt %s --split-input-file -verify-diagnostics --xfmr-attach-target --convert-xfmr-to-maia="tokens=1"
// RUN: sed -n 's|^// NOTARGET: |// expected-error @below |p' %s > %t.notarget.mlir && cat %S/Inputs/embedding-only.mlir >> %t.notarget.mlir
// RUN: mixtile-opt %t.notarget.mlir --convert-xfmr-to-maia="tokens=1" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// NOTOKENS: |// expected-error @below |p' %s > %t.notokens.mlir && cat %S/Inputs/embedding-only.mlir >> %t.notokens.mlir
// RUN: mixtile-opt %t.notokens.mlir --xfmr-attach-target --convert-xfmr-to-maia -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// BOTH: |// expected-error @below |p' %s > %t.both.mlir && cat %S/Inputs/embedding-only.mlir >> %t.both.mlir
// RUN: mixtile-opt %t.both.mlir --xfmr-attach-target --convert-xfmr-to-maia="tokens=1 num-tokens=2" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// RANGE: |// expected-error @below |p' %s > %t.range.mlir && cat %S/Inputs/embedding-only.mlir >> %t.range.mlir
// RUN: mixtile-opt %t.range.mlir --xfmr-attach-target --convert-xfmr-to-maia="tokens=1,99" -verify-diagnostics -o /dev/null

/// Every diagnostic of the pass: one error on the module, which is left as
/// it was.

// expected-error @below {{convert-xfmr-to-maia: the module has no @forward}}
module {
}

// -----

// expected-error @below {{convert-xfmr-to-maia: 'xfmr.gelu': is not lowered to Maia yet}}
module {
  func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>, %start: index) -> tensor<?x64xf32> {
    %w = xfmr.weight "tok_embeddings" from "synthetic:1" : tensor<64x64xf32>
    %x = xfmr.embedding %w[%tokens] : tensor<64x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    %y = xfmr.gelu %x : tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}

// NOTARGET: {{convert-xfmr-to-maia: module has no 'xfmr.target' attribute; run xfmr-attach-target}}
// NOTOKENS: {{convert-xfmr-to-maia: needs tokens=ID,... (or num-tokens=N for a program without weights)}}
// BOTH: {{convert-xfmr-to-maia: give tokens= or num-tokens=, not both}}
// RANGE: {{convert-xfmr-to-maia: 'xfmr.embedding' (tok_embeddings): token id 99 is out of range [0, 64)}}
