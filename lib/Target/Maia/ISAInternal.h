//===- ISAInternal.h - helpers shared by the Maia ISA files -----*- C++ -*-===//
//
// Private to lib/Target/Maia: mnemonics of the vector op families and a
// uniform list of an instruction's buffer operands, which the verifier, the
// printer and the binary codec walk.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_TARGET_MAIA_ISAINTERNAL_H
#define MIXTILE_LIB_TARGET_MAIA_ISAINTERNAL_H

#include "mixtile/Target/Maia/ISA.h"

#include "llvm/ADT/SmallVector.h"

namespace mixtile::maia {

llvm::StringRef getVecBinaryMnemonic(VecBinaryOp op);
llvm::StringRef getVecUnaryMnemonic(VecUnaryOp op);
llvm::StringRef getVecReduceMnemonic(VecReduceOp op);

/// One BufferRef field of an instruction. Fields an instruction does not use
/// (the scales of an unscaled operand, b of a scalar op) are listed with
/// `used` false and must be zero.
struct OperandUse {
  const char *role;
  BufferRef ref;
  bool used;
};

/// Appends every BufferRef field of `inst` to `uses`.
void listOperands(const Instruction &inst,
                  llvm::SmallVectorImpl<OperandUse> &uses);

} // namespace mixtile::maia

#endif // MIXTILE_LIB_TARGET_MAIA_ISAINTERNAL_H
