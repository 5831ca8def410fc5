// RUN: rm -rf %t && mkdir -p %t/data
// RUN: %python -c "open('%t/data/weights.bin', 'wb').write(bytes(range(16)))"

/// File segments are read at export: relative names are looked up in the
/// working directory, then in --maia-data-dir, by default the directory of
/// the input.
// RUN: mixtile-translate --maia-to-asm --maia-data-dir=%t/data %s | FileCheck %s
// RUN: cp %s %t/data/program.mlir
// RUN: mixtile-translate --maia-to-asm %t/data/program.mlir | FileCheck %s

/// The binary carries the bytes; importing it gives them back in the IR.
// RUN: mixtile-translate --maia-to-bin --maia-data-dir=%t/data %s | mixtile-translate --import-maia-bin | FileCheck %s --check-prefix=IMPORT

// CHECK: .data %w+4 "0405060708090a0b"
// CHECK: .data %w+64 "feff00"
// CHECK: .data %w+128 "2a2a2a2a"

// IMPORT: maia.data @w[4] = dense<[4, 5, 6, 7, 8, 9, 10, 11]> : tensor<8xi8>
// IMPORT: maia.data @w[64] = dense<[-2, -1, 0]> : tensor<3xi8>
// IMPORT: maia.data @w[128] = dense<42> : tensor<4xi8>

maia.program {
  maia.buffer @w hbm offset 0 size 256 : f4E2M1FN
  maia.data @w[4] from "weights.bin" offset 4 size 8
  maia.data @w[64] = dense_resource<blob> : tensor<3xi8>
  maia.data @w[128] = dense<42> : tensor<4xi8>
}

{-#
  dialect_resources: {
    builtin: {
      blob: "0x01000000feff00"
    }
  }
#-}
