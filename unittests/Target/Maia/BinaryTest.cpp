//===- BinaryTest.cpp - the Maia binary decoder on malformed input --------===//
//
// Every prefix of a valid binary is rejected; corrupted headers, checksums,
// opcodes and fields give errors naming the byte, and no corruption of any
// byte crashes the decoder or lets a structurally invalid program through,
// or one whose printed assembly the assembler rejects.
//
//===----------------------------------------------------------------------===//

#include "TestPrograms.h"

#include "mixtile/Target/Maia/ISA.h"

#include "llvm/Support/CRC.h"

#include "gtest/gtest.h"

using namespace mixtile;
using namespace mixtile::maia;
using namespace mixtile::maia::testing;

namespace {

std::vector<uint8_t> validBinary() {
  llvm::Expected<Program> program =
      parseAssembly(kEveryInstruction, "every.masm");
  EXPECT_TRUE(bool(program)) << llvm::toString(program.takeError());
  return program ? encodeBinary(*program) : std::vector<uint8_t>();
}

std::string decodeError(llvm::ArrayRef<uint8_t> bytes) {
  llvm::Expected<Program> program = decodeBinary(bytes, "bad.mbin");
  return program ? "decoded" : llvm::toString(program.takeError());
}

/// Rewrites the header's checksum so that the corruption reaches the
/// field checks.
void fixChecksum(std::vector<uint8_t> &bytes) {
  uint32_t crc = llvm::crc32(llvm::ArrayRef<uint8_t>(bytes).drop_front(24));
  llvm::support::endian::write32le(bytes.data() + 16, crc);
}

/// Offset of the first instruction record of the code section.
size_t firstInstruction(const std::vector<uint8_t> &bytes) {
  // Section table entry 4 (code) at 24 + 3 * 24; its offset is at +8.
  uint64_t code = llvm::support::endian::read64le(bytes.data() + 24 + 72 + 8);
  return code + 8 /* stream count */ + 8 /* tile, instruction count */;
}

TEST(MaiaBinaryTest, EveryPrefixIsAnError) {
  std::vector<uint8_t> bytes = validBinary();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(decodeError(bytes), "decoded");
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string error =
        decodeError(llvm::ArrayRef<uint8_t>(bytes).take_front(n));
    EXPECT_NE(error, "decoded") << "prefix of " << n << " bytes";
    EXPECT_EQ(error.rfind("bad.mbin: ", 0), 0u) << error;
  }
  EXPECT_EQ(decodeError(llvm::ArrayRef<uint8_t>(bytes).take_front(10)),
            "bad.mbin: truncated: 10 bytes, less than the 24-byte header (at "
            "byte 10)");
  EXPECT_EQ(decodeError(llvm::ArrayRef<uint8_t>(bytes).drop_back()),
            "bad.mbin: truncated: the header says " +
                std::to_string(bytes.size()) + " bytes but the input has " +
                std::to_string(bytes.size() - 1) + " (at byte 8)");
}

TEST(MaiaBinaryTest, HeaderErrors) {
  std::vector<uint8_t> bytes = validBinary();
  std::vector<uint8_t> magic = bytes;
  magic[0] = 'X';
  EXPECT_EQ(decodeError(magic), "bad.mbin: bad magic: not a Maia binary "
                                "(expected \"MAIA\") (at byte 0)");
  std::vector<uint8_t> version = bytes;
  version[4] = 2;
  EXPECT_EQ(decodeError(version),
            "bad.mbin: unsupported version 2 (expected 1) (at byte 4)");
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(decodeError(longer),
            "bad.mbin: the header says " + std::to_string(bytes.size()) +
                " bytes but the input has " + std::to_string(bytes.size() + 1) +
                " (at byte 8)");
  std::vector<uint8_t> flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_NE(decodeError(flipped).find("checksum mismatch"), std::string::npos);
}

TEST(MaiaBinaryTest, FieldErrorsNameTheByte) {
  std::vector<uint8_t> bytes = validBinary();
  size_t inst = firstInstruction(bytes);
  std::vector<uint8_t> opcode = bytes;
  opcode[inst] = 99;
  fixChecksum(opcode);
  EXPECT_EQ(decodeError(opcode),
            "bad.mbin: bad opcode 99 (at byte " + std::to_string(inst) + ")");
  std::vector<uint8_t> queue = bytes; // The first instruction is a dma.
  queue[inst + 8] = 7;
  fixChecksum(queue);
  EXPECT_EQ(decodeError(queue), "bad.mbin: bad queue kind 7 (at byte " +
                                    std::to_string(inst + 8) + ")");
  std::vector<uint8_t> length = bytes;
  length[inst + 4] += 1;
  fixChecksum(length);
  EXPECT_NE(decodeError(length), "decoded");
  std::vector<uint8_t> buffer = bytes; // src of the dma: buffer #0 -> #200.
  buffer[inst + 16] = 200;
  fixChecksum(buffer);
  EXPECT_EQ(decodeError(buffer),
            "bad.mbin: invalid program: tile 0, instruction 0 (dma): operand "
            "src names buffer #200 but the program has 17");
}

TEST(MaiaBinaryTest, NoByteCorruptionCrashes) {
  std::vector<uint8_t> bytes = validBinary();
  // Every byte, with a checksum that matches, set to values that hit
  // counts, enums, lengths and flags: each decode either fails cleanly or
  // yields a program that passes verifyStructure and re-encodes.
  for (size_t i = 24; i < bytes.size(); ++i) {
    for (uint8_t value : {uint8_t(0), uint8_t(1), uint8_t(0x7f), uint8_t(0xff),
                          uint8_t(bytes[i] + 1)}) {
      if (value == bytes[i])
        continue;
      std::vector<uint8_t> corrupt = bytes;
      corrupt[i] = value;
      fixChecksum(corrupt);
      llvm::Expected<Program> program = decodeBinary(corrupt, "bad.mbin");
      if (!program) {
        llvm::consumeError(program.takeError());
        continue;
      }
      llvm::Error error = verifyStructure(*program);
      EXPECT_FALSE(bool(error)) << llvm::toString(std::move(error));
      // Decoding accepts only canonical encodings, and only programs the
      // assembly can spell.
      EXPECT_EQ(encodeBinary(*program), corrupt) << "byte " << i;
      std::string text;
      llvm::raw_string_ostream os(text);
      printAssembly(*program, os);
      llvm::Expected<Program> reparsed = parseAssembly(text, "printed.masm");
      EXPECT_TRUE(bool(reparsed))
          << "byte " << i << ": " << llvm::toString(reparsed.takeError());
    }
  }
}

} // namespace
