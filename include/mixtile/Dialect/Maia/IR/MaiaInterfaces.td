//===- MaiaInterfaces.td - maia op interfaces --------------*- tablegen -*-===//
//
// What the instructions of a tile's stream have in common.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_MAIA_IR_MAIAINTERFACES_TD
#define MIXTILE_DIALECT_MAIA_IR_MAIAINTERFACES_TD

include "mlir/IR/OpBase.td"

def Maia_InstructionOpInterface : OpInterface<"InstructionOpInterface"> {
  let cppNamespace = "::mixtile::maia";
  let description = [{
    An instruction of a tile's command stream (one maia::Instruction
    alternative). Only instructions may appear in a `maia.tile`.
  }];
  let methods = [
    InterfaceMethod<[{
        The chip-wide id of the tile whose stream holds this instruction, or
        nothing when it is not (yet) inside a `maia.tile`.
      }], "::std::optional<uint32_t>", "getExecutingTile", (ins), [{}], [{
        return ::mixtile::maia::detail::getExecutingTile($_op);
      }]>
  ];
}

def Maia_CommandOpInterface
    : OpInterface<"CommandOpInterface", [Maia_InstructionOpInterface]> {
  let cppNamespace = "::mixtile::maia";
  let description = [{
    An asynchronous command (dma, mm and the vector ops) with its
    synchronisation (maia::Sync): before it issues, every semaphore of
    `waits` must hold its count, which is taken; when it completes,
    `signal` (if any) is incremented by one.
  }];
  let methods = [
    InterfaceMethod<"The semaphore waits (#maia.sem list), or null for none.",
      "::mlir::ArrayAttr", "getWaitsAttr">,
    InterfaceMethod<"The completion signal, or null for none.",
      "::mixtile::maia::SemAttr", "getSignalAttr">
  ];
  let verify = [{
    return ::mixtile::maia::detail::verifyCommandSync($_op);
  }];
}

#endif // MIXTILE_DIALECT_MAIA_IR_MAIAINTERFACES_TD
