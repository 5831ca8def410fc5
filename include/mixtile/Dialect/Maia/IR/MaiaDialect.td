//===- MaiaDialect.td - The maia dialect -------------------*- tablegen -*-===//
//
// The maia dialect: a Maia program (docs/MaiaISA.md) as MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_MAIA_IR_MAIADIALECT_TD
#define MIXTILE_DIALECT_MAIA_IR_MAIADIALECT_TD

include "mlir/IR/OpBase.td"

def Maia_Dialect : Dialect {
  let name = "maia";
  let cppNamespace = "::mixtile::maia";
  let summary = "Programs of the modeled Maia accelerator";
  let description = [{
    The `maia` dialect is a one-to-one mirror of a Maia program
    (`mixtile::maia::Program`, docs/MaiaISA.md): a `maia.program` holds the
    buffer table (`maia.buffer`), the initial data segments (`maia.data`) and
    one command stream per tile (`maia.tile`), and every instruction of the
    ISA is one op whose attributes are the fields of its C++ struct.

    Buffers are symbols; instructions name them with flat symbol references
    plus a byte offset. Verification mirrors `maia::verifyProgram`: the op
    verifiers check everything that does not depend on the chip (operands
    inside their buffers, aligned, in the format of their buffer and in the
    executing tile's TSRAM; formats the tensor unit accepts; semaphore use;
    barriers), and when the enclosing module carries an `xfmr.target`
    description, `maia.program` also checks the program against that chip
    (memory capacities, tile, cluster, semaphore and queue ids, the MX block,
    DMA paths).

    `exportProgram` and `importProgram` (mixtile/Dialect/Maia/IR/
    MaiaProgram.h) convert between the dialect and the C++ program; the
    `--maia-to-asm`, `--maia-to-bin`, `--import-maia-asm` and
    `--import-maia-bin` translations of `mixtile-translate` are built on them.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class Maia_Op<string mnemonic, list<Trait> traits = []>
    : Op<Maia_Dialect, mnemonic, traits>;

#endif // MIXTILE_DIALECT_MAIA_IR_MAIADIALECT_TD
