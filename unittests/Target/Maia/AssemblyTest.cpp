//===- AssemblyTest.cpp - Maia assembly, binary round trips, verifier -----===//
//
// Text and binary round trips over every instruction kind, parser errors
// with their line and column, and verifier errors naming the tile, the
// instruction and the problem.
//
//===----------------------------------------------------------------------===//

#include "TestPrograms.h"

#include "mixtile/Target/Maia/ISA.h"

#include "gtest/gtest.h"

using namespace mixtile;
using namespace mixtile::maia;
using namespace mixtile::maia::testing;

namespace {

std::string print(const Program &program) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printAssembly(program, os);
  return text;
}

Program parse(llvm::StringRef text) {
  llvm::Expected<Program> program = parseAssembly(text, "test.masm");
  EXPECT_TRUE(bool(program)) << llvm::toString(program.takeError());
  return program ? std::move(*program) : Program();
}

std::string parseError(llvm::StringRef text) {
  llvm::Expected<Program> program = parseAssembly(text, "bad.masm");
  return program ? "parsed" : llvm::toString(program.takeError());
}

std::string verifyError(llvm::StringRef text) {
  Program program = parse(text);
  llvm::Error error = verifyProgram(program, maia200());
  return error ? llvm::toString(std::move(error)) : "verified";
}

TEST(MaiaAssemblyTest, EveryInstructionKindIsValid) {
  Program program = parse(kEveryInstruction);
  ASSERT_EQ(program.tiles.size(), 2u);
  EXPECT_EQ(program.tiles[0].instructions.size(), 31u);
  EXPECT_EQ(verifyError(kEveryInstruction), "verified");
  // Every alternative of the variant appears.
  std::vector<bool> seen(std::variant_size_v<Instruction>, false);
  for (const Instruction &inst : program.tiles[0].instructions)
    seen[inst.index()] = true;
  for (size_t i = 0; i < seen.size(); ++i)
    EXPECT_TRUE(seen[i]) << "instruction kind " << i << " is not covered";
}

TEST(MaiaAssemblyTest, TextAndBinaryRoundTripsAreExact) {
  Program program = parse(kEveryInstruction);
  std::string text = print(program);
  // asm -> program -> asm is a fixed point.
  EXPECT_EQ(print(parse(text)), text);
  // asm -> program -> bin -> program -> asm gives the same text, and
  // re-encoding gives the same bytes.
  std::vector<uint8_t> binary = encodeBinary(program);
  llvm::Expected<Program> decoded = decodeBinary(binary, "test.mbin");
  ASSERT_TRUE(bool(decoded)) << llvm::toString(decoded.takeError());
  EXPECT_EQ(print(*decoded), text);
  EXPECT_EQ(encodeBinary(*decoded), binary);
  EXPECT_TRUE(isBinary(binary));
}

TEST(MaiaAssemblyTest, PrintedSyntax) {
  Program program = parse(R"(
.buffer a hbm offset=0 size=64 type=f32
.buffer b tsram[2] offset=128 size=64 type=f32
.data %a+4 "0000803F"
.tile 2
  dma q=c1 src=%a dst=%b elem=4 shape=[1,1,16] wait=[s0] signal=t2.s1
  vec.mul rows=1 len=16 dst=%b a=%b b=0.1
  halt
)");
  EXPECT_EQ(print(program),
            "# Maia program (buffers: 2, data segments: 1, tile streams: 1)\n"
            ".buffer a hbm offset=0 size=64 type=f32\n"
            ".buffer b tsram[2] offset=128 size=64 type=f32\n"
            ".data %a+4 \"0000803f\"\n"
            "\n"
            ".tile 2\n"
            "  dma q=c1 src=%a dst=%b elem=4 shape=[1,1,16] "
            "src.strides=[64,64,4] dst.strides=[64,64,4] wait=[t2.s0] "
            "signal=t2.s1\n"
            "  vec.mul rows=1 len=16 dst=%b a=%b b=0.1\n"
            "  halt\n");
}

TEST(MaiaAssemblyTest, ImmediatesKeepTheirBits) {
  for (float value : {0.1f, -0.0f, 3.4028235e38f, 1.4e-45f, 1.0f / 3.0f,
                      std::numeric_limits<float>::infinity()}) {
    Program program;
    uint32_t buffer = program.addBuffer(
        Buffer{"y", MemoryLevel::TSRAM, 0, 0, 64, FloatFormat::F32});
    VecBinaryInst mul;
    mul.op = VecBinaryOp::Mul;
    mul.rows = 1;
    mul.len = 4;
    mul.dst = mul.a = BufferRef{buffer, 0};
    mul.broadcast = Broadcast::Scalar;
    mul.scalar = value;
    program.getOrCreateTile(0).instructions.push_back(mul);
    Program again = parse(print(program));
    const auto &parsed =
        std::get<VecBinaryInst>(again.tiles[0].instructions[0]);
    EXPECT_EQ(numerics::floatBits(parsed.scalar), numerics::floatBits(value))
        << print(program);
  }
}

TEST(MaiaAssemblyTest, ParseErrorsNameLineAndColumn) {
  const char *header = ".buffer a tsram[0] offset=0 size=64 type=f32\n"
                       ".tile 0\n";
  auto error = [&](const std::string &line) {
    return parseError(header + line);
  };
  EXPECT_EQ(error("  frob x=1"), "bad.masm:3:3: unknown instruction 'frob'");
  EXPECT_EQ(error("  vec.exp rows=1 len=4 dst=%a a=%a color=3"),
            "bad.masm:3:36: unknown field 'color' for vec.exp");
  EXPECT_EQ(error("  vec.exp rows=1 dst=%a a=%a"),
            "bad.masm:3:3: vec.exp needs field 'len='");
  EXPECT_EQ(error("  vec.exp rows=1 len=4 dst=%b a=%a"),
            "bad.masm:3:29: unknown buffer 'b'");
  EXPECT_EQ(error("  vec.exp rows=1 len=x4 dst=%a a=%a"),
            "bad.masm:3:22: expected an unsigned integer");
  EXPECT_EQ(error("  vec.exp rows=1 rows=2 len=4 dst=%a a=%a"),
            "bad.masm:3:18: field 'rows' is given twice");
  EXPECT_EQ(error("  vec.exp rows=1 len=4 dst=%a a=%a wait=[t0.s1:0]"),
            "bad.masm:3:48: a count must be at least 1");
  EXPECT_EQ(error("  halt\n  halt"),
            "bad.masm:4:3: instructions after a halt would never run");
  EXPECT_EQ(error("  mm m=1 n=1 k=32 a=%a:f4E2M1FN a.scale=tensor/32:%a "
                  "b=%a:f32 c=%a"),
            "bad.masm:3:47: scale mode 'tensor' has no block scales and "
            "takes no block size");
  EXPECT_EQ(error("  barrier tiles=[1,2]"),
            "bad.masm:3:17: the barrier does not include its own tile 0");
  EXPECT_EQ(parseError(".buffer a tsram[0] offset=0 size=64 type=f32\n"
                       ".buffer a hbm offset=0 size=64 type=f32\n"),
            "bad.masm:2:9: buffer 'a' is already defined");
  EXPECT_EQ(parseError(".tile 0\n.tile 0\n"),
            "bad.masm:2:7: tile 0 already has a stream");
  EXPECT_EQ(parseError("  halt\n"),
            "bad.masm:1:3: instructions must follow a '.tile N' line");
  EXPECT_EQ(parseError(".data %a \"00\"\n"),
            "bad.masm:1:8: unknown buffer 'a'");
  EXPECT_EQ(parseError(".buffer a hbm offset=0 size=1 type=f32\n"
                       ".data %a \"0000\"\n"),
            "bad.masm:2:7: 2 bytes at offset 0 do not fit buffer 'a' of 1 "
            "bytes");
  EXPECT_EQ(parseError(".buffer a hbm offset=0 size=1 type=f99\n"),
            "bad.masm:1:36: expected an element format (f32, bf16, f16, "
            "f8E4M3FN, f8E5M2, f6E2M3FN, f6E3M2FN, f4E2M1FN, f8E8M0FNU)");
  EXPECT_EQ(parseError(".buffer a hbm offset=0 size=1 type=f32 $\n"),
            "bad.masm:1:40: unexpected character '$'");
}

TEST(MaiaVerifierTest, ErrorsNameTileInstructionAndProblem) {
  const char *buffers = ".buffer h hbm offset=0 size=4096 type=f32\n"
                        ".buffer x tsram[0] offset=0 size=256 type=f32\n"
                        ".buffer q tsram[0] offset=256 size=64 type=f4E2M1FN\n"
                        ".buffer s tsram[0] offset=320 size=4 type=f8E8M0FNU\n"
                        ".buffer far tsram[4] offset=0 size=256 type=f32\n"
                        ".tile 0\n";
  auto error = [&](const std::string &line) {
    return verifyError(buffers + line);
  };
  EXPECT_EQ(error("  vec.exp rows=1 len=128 dst=%x a=%x"),
            "tile 0, instruction 0 (vec.exp): dst needs 512 bytes at offset "
            "0 of buffer 'x', which has 256");
  EXPECT_EQ(error("  vec.exp rows=1 len=4 dst=%x+2 a=%x"),
            "tile 0, instruction 0 (vec.exp): dst at address 2 is not "
            "aligned to 4 bytes");
  EXPECT_EQ(error("  vec.exp rows=1 len=4 dst=%q a=%x"),
            "tile 0, instruction 0 (vec.exp): dst is f32 but buffer 'q' "
            "holds f4E2M1FN");
  EXPECT_EQ(error("  vec.exp rows=1 len=4 dst=%far a=%x"),
            "tile 0, instruction 0 (vec.exp): dst buffer 'far' is not in the "
            "TSRAM of tile 0");
  EXPECT_EQ(error("  mm m=1 n=1 k=64 a=%q:f4E2M1FN a.scale=mx/16:%s "
                  "b=%q:f4E2M1FN c=%x"),
            "tile 0, instruction 0 (mm): a: the target's MX block is 32, not "
            "16");
  EXPECT_EQ(error("  mm m=1 n=1 k=64 a=%x:f32 a.scale=tensor:%x b=%x:f32 "
                  "c=%x"),
            "tile 0, instruction 0 (mm): a: f32 scales need elements of at "
            "most 8 bits, not f32");
  EXPECT_EQ(error("  mm m=1 n=1 k=64 a=%q:f4E2M1FN a.scale=nvfp4/16:%s "
                  "b=%q:f4E2M1FN c=%x"),
            "tile 0, instruction 0 (mm): a.scale is f8E4M3FN but buffer 's' "
            "holds f8E8M0FNU");
  EXPECT_EQ(error("  mm m=1 n=1 k=3 a=%q:f4E2M1FN b=%q:f4E2M1FN c=%x"),
            "tile 0, instruction 0 (mm): a: a row of 3 f4E2M1FN codes does "
            "not fill whole bytes");
  EXPECT_EQ(error("  vec.exp rows=1 len=4 dst=%x a=%x wait=[t1.s0]"),
            "tile 0, instruction 0 (vec.exp): tile 0 waits on semaphore "
            "t1.s0 of another tile; a tile only waits on its own");
  EXPECT_EQ(error("  sem.signal sem=t0.s32"),
            "tile 0, instruction 0 (sem.signal): signalled semaphore t0.s32: "
            "a tile has 32 semaphores");
  EXPECT_EQ(error("  sem.signal sem=t64.s0"),
            "tile 0, instruction 0 (sem.signal): signalled semaphore t64.s0: "
            "the target has 64 tiles");
  EXPECT_EQ(error("  dma q=t4 src=%h dst=%x elem=4 shape=[1,1,1]"),
            "tile 0, instruction 0 (dma): queue t4 does not exist: a tile "
            "has 4 DMA queues");
  EXPECT_EQ(error("  dma q=c8 src=%h dst=%x elem=4 shape=[1,1,1]"),
            "tile 0, instruction 0 (dma): queue c8 does not exist: a cluster "
            "has 8 DMA queues");
  EXPECT_EQ(error("  dma q=t0 src=%h dst=%far elem=4 shape=[1,1,1]"),
            "tile 0, instruction 0 (dma): buffer 'far' is in cluster 1 but "
            "tile 0 is in cluster 0; clusters exchange data through HBM");
  EXPECT_EQ(error("  dma q=t0 src=%h dst=%x elem=4 shape=[1,1,1] mcast=0x6"),
            "tile 0, instruction 0 (dma): multicast mask 0x6 does not "
            "include the destination's tile 0");
  EXPECT_EQ(error("  dma q=t0 src=%h dst=%x elem=4 shape=[1,1,65]"),
            "tile 0, instruction 0 (dma): dst needs 260 bytes at offset 0 of "
            "buffer 'x', which has 256");
  EXPECT_EQ(error("  dma q=t0 src=%x dst=%x elem=4 shape=[1,1024,1024] "
                  "src.strides=[0,0,0] dst.strides=[0,0,0]"),
            "tile 0, instruction 0 (dma): a copy within one tsram moves "
            "4194304 bytes, more than its 2097152");
  EXPECT_EQ(error("  dma q=t0 src=%h dst=%h+8 elem=4 shape=[1,1,1]"),
            "tile 0, instruction 0 (dma): HBM to HBM copies have no modeled "
            "path; stage them through CSRAM");
  EXPECT_EQ(verifyError(".buffer t tsram[0] offset=2097000 size=1000 "
                        "type=f32\n"),
            "buffer 't': bytes [2097000, 2098000) exceed the 2097152 bytes "
            "of tsram");
  EXPECT_EQ(verifyError(".buffer t csram[16] offset=0 size=8 type=f32\n"),
            "buffer 't': cluster 16 does not exist (16 clusters)");
  EXPECT_EQ(verifyError(".tile 64\n  halt\n"),
            "stream for tile 64, but the target has 64 tiles");
}

TEST(MaiaVerifierTest, StructureOfBuiltPrograms) {
  Program program;
  program.addBuffer(Buffer{"a b", MemoryLevel::HBM, 0, 0, 8, FloatFormat::F32});
  llvm::Error error = verifyStructure(program);
  ASSERT_TRUE(bool(error));
  EXPECT_EQ(llvm::toString(std::move(error)),
            "invalid buffer name 'a b' (expected [A-Za-z_][A-Za-z0-9_.]*)");

  program.buffers[0].name = "a";
  VecUnaryInst copy;
  copy.rows = copy.len = 1;
  copy.dst = BufferRef{0, 0};
  copy.a = BufferRef{3, 0};
  program.getOrCreateTile(5).instructions.push_back(copy);
  error = verifyStructure(program);
  ASSERT_TRUE(bool(error));
  EXPECT_EQ(llvm::toString(std::move(error)),
            "tile 5, instruction 0 (vec.copy): operand a names buffer #3 but "
            "the program has 1");
}

} // namespace
