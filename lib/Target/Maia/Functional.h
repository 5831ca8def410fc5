//===- Functional.h - data semantics of Maia commands -----------*- C++ -*-===//
//
// Private to lib/Target/Maia: what each command does to memory. The
// simulator's scheduler calls executeCommand when a command completes.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_TARGET_MAIA_FUNCTIONAL_H
#define MIXTILE_LIB_TARGET_MAIA_FUNCTIONAL_H

#include "mixtile/Target/Maia/Simulator.h"

namespace mixtile::maia {

/// Applies the effect of the asynchronous command `inst` (dma, mm, vec.*) to
/// `memory`. `program` must have passed verifyProgram for `target`; accesses
/// are still bounds-checked by the memories.
llvm::Error executeCommand(const Instruction &inst, const Program &program,
                           const TargetModel &target, MachineMemory &memory);

/// The memories a DMA writes: the destination's unit, or every tile of the
/// destination's cluster named by the multicast mask.
llvm::SmallVector<uint32_t, 4>
getDmaDestinationTiles(const DmaInst &dma, const Buffer &dst,
                       const TargetModel &target);

} // namespace mixtile::maia

#endif // MIXTILE_LIB_TARGET_MAIA_FUNCTIONAL_H
