//===- MaiaBinaryFuzzer.cpp - fuzz the Maia binary loader -----------------===//
//
// The input is a .mbin file. It is decoded as it is (the header checks),
// then again with its file size and CRC-32 fixed up, so that mutations reach
// the section and instruction decoders instead of stopping at the checksum.
// A program decodeBinary accepts must survive the round trips and the
// simulation of MaiaChecks.h.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"
#include "MaiaChecks.h"

#include "llvm/Support/CRC.h"
#include "llvm/Support/Endian.h"

#include <vector>

using namespace mixtile;

/// The header of docs/MaiaISA.md: magic, version, section count, u64 file
/// size at byte 8, u32 CRC-32 of the bytes after the header at byte 16.
static constexpr size_t kHeaderBytes = 24;

static void decodeAndCheck(llvm::ArrayRef<uint8_t> bytes) {
  llvm::Expected<maia::Program> program =
      maia::decodeBinary(bytes, "input.mbin");
  if (!program) {
    fuzz::ignore(program.takeError());
    return;
  }
  fuzz::checkAcceptedProgram(*program, "decodeBinary");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::ArrayRef<uint8_t> input(data, size);
  decodeAndCheck(input);
  if (size < kHeaderBytes)
    return 0;
  std::vector<uint8_t> fixed(input.begin(), input.end());
  llvm::support::endian::write64le(fixed.data() + 8, size);
  llvm::support::endian::write32le(fixed.data() + 16,
                                   llvm::crc32(input.drop_front(kHeaderBytes)));
  if (fixed != std::vector<uint8_t>(input.begin(), input.end()))
    decodeAndCheck(fixed);
  return 0;
}
