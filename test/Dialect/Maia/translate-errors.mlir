// RUN: mixtile-translate --maia-to-bin --maia-data-dir=%S %s -split-input-file -verify-diagnostics -o /dev/null

/// Every failure of exporting verified maia IR: data that cannot be read, or
/// no single program to translate.

maia.program {
  maia.buffer @w hbm offset 0 size 64 : f32
  // expected-error-re @+1 {{'maia.data' op cannot read '{{.*}}missing.bin': No such file or directory}}
  maia.data @w from "missing.bin" offset 0 size 4
}

// -----

// Relative files are found in --maia-data-dir (here test/Dialect/Maia).
maia.program {
  maia.buffer @w hbm offset 0 size 1000000 : f32
  // expected-error-re @+1 {{'maia.data' op reads bytes [16, 999999) of '{{.*}}tiny-chip.json', which has {{[0-9]+}}}}
  maia.data @w from "Inputs/tiny-chip.json" offset 16 size 999983
}

// -----

maia.program {
  maia.buffer @w hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op has no data for resource 'nothere'}}
  maia.data @w = dense_resource<nothere> : tensor<4xi8>
}

// -----

maia.program {
  maia.buffer @w hbm offset 0 size 64 : f32
  // expected-error @+1 {{'maia.data' op resource 'short' holds 2 bytes, not 4}}
  maia.data @w = dense_resource<short> : tensor<4xi8>
}
{-#
  dialect_resources: {
    builtin: {
      short: "0x010000000102"
    }
  }
#-}

// -----

// expected-error @+1 {{expected one maia.program, found 0}}
module {
}

// -----

// expected-error @+1 {{expected one maia.program, found 2}}
module {
  maia.program {
  }
  maia.program {
  }
}
