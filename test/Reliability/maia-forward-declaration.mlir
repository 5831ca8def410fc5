// Found by fuzzing the pipelines: convert-xfmr-to-maia read past the end of
// the empty body of a @forward declaration (ASan heap-buffer-overflow).
// RUN: mixtile-opt %s --xfmr-attach-target --convert-xfmr-to-maia="num-tokens=1" -verify-diagnostics

// expected-error @+1 {{convert-xfmr-to-maia: @forward is a declaration, without a body to lower}}
module {
  func.func private @forward(tensor<?xi32>, tensor<?xi32>, index) -> tensor<?x4xf32>
}
