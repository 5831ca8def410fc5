//===- MaiaProgramTest.cpp - maia dialect <-> maia::Program ---------------===//
//
// Checks that the bridge is exact in both directions on programs built in
// C++ (every instruction kind and the extreme values of their fields), and
// what exportProgram reports for IR that does not verify, which the lit
// tests cannot build.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Maia/IR/MaiaProgram.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mixtile;
using namespace mixtile::maia;

namespace {

std::string toAssembly(const Program &program) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printAssembly(program, os);
  return text;
}

float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// Two tiles using every instruction kind, with extreme field values.
Program makeProgram() {
  Program p;
  auto add = [&](const char *name, MemoryLevel level, uint32_t unit,
                 uint64_t offset, uint64_t size, FloatFormat format) {
    return p.addBuffer(Buffer{name, level, unit, offset, size, format});
  };
  uint32_t hbm =
      add("x.hbm", MemoryLevel::HBM, 0, 0, 1 << 20, FloatFormat::F32);
  uint32_t stage =
      add("stage", MemoryLevel::CSRAM, 0, 0, 4096, FloatFormat::F4E2M1FN);
  uint32_t x = add("x", MemoryLevel::TSRAM, 0, 0, 4096, FloatFormat::F32);
  uint32_t acc =
      add("acc", MemoryLevel::TSRAM, 0, 4096, 4096, FloatFormat::F32);
  uint32_t q =
      add("q", MemoryLevel::TSRAM, 0, 8192, 1024, FloatFormat::F8E4M3FN);
  uint32_t qs = add("qs", MemoryLevel::TSRAM, 0, 9216, 64, FloatFormat::F32);
  uint32_t w =
      add("w", MemoryLevel::TSRAM, 0, 12288, 2048, FloatFormat::F4E2M1FN);
  uint32_t ws =
      add("ws", MemoryLevel::TSRAM, 0, 14336, 520, FloatFormat::F8E4M3FN);
  uint32_t y = add("y", MemoryLevel::TSRAM, 1, 0, 4096, FloatFormat::F32);

  p.data.push_back(DataSegment{{hbm, 16}, {0x00, 0x80, 0xff, 0x7f}});
  p.data.push_back(DataSegment{{hbm, 64}, std::vector<uint8_t>(32, 0)});

  TileProgram &t0 = p.getOrCreateTile(0);
  DmaInst load;
  load.queue = {DmaQueue::Kind::Cluster, 7};
  load.src = {hbm, 0};
  load.dst = {stage, 64};
  load.elementBytes = 64;
  load.counts = {1, 2, 3};
  // A stride that is never applied (count 1) may take any value.
  load.srcStrides = {UINT64_MAX, 1024, 64};
  load.dstStrides = {0, 256, 64};
  load.sync.signal = SemRef{0, 31};
  t0.instructions.push_back(load);

  DmaInst spread = load;
  spread.queue = {DmaQueue::Kind::Tile, 0};
  spread.src = {stage, 0};
  spread.dst = {w, 0};
  spread.multicast = 0x3;
  spread.sync.waits = {SemWait{{0, 31}, 1}, SemWait{{0, 2}, 4294967295u}};
  spread.sync.signal.reset();
  t0.instructions.push_back(spread);

  VecQuantizeInst quant;
  quant.rows = 16;
  quant.len = 64;
  quant.dst =
      TensorOperand{{q, 0}, FloatFormat::F8E4M3FN, ScaleMode::Rows, 0, {qs, 0}};
  quant.src = {x, 0};
  t0.instructions.push_back(quant);

  MatmulInst mm;
  mm.m = 16;
  mm.n = 64;
  mm.k = 64;
  mm.a = quant.dst;
  mm.b = TensorOperand{
      {w, 0}, FloatFormat::F4E2M1FN, ScaleMode::NVFP4Rows, 16, {ws, 4}};
  mm.acc = {acc, 0};
  mm.accumulate = true;
  mm.sync.signal = SemRef{1, 0};
  t0.instructions.push_back(mm);

  VecBinaryInst scaled;
  scaled.op = VecBinaryOp::Mul;
  scaled.rows = 16;
  scaled.len = 64;
  scaled.dst = {acc, 0};
  scaled.a = {acc, 0};
  scaled.broadcast = Broadcast::Scalar;
  scaled.scalar = floatFromBits(0x7fc00001); // a NaN with a payload
  t0.instructions.push_back(scaled);

  VecBinaryInst biased = scaled;
  biased.op = VecBinaryOp::Max;
  biased.broadcast = Broadcast::Column;
  biased.scalar = 0;
  biased.b = {x, 128};
  t0.instructions.push_back(biased);

  VecBinaryInst negZero = scaled;
  negZero.op = VecBinaryOp::Sub;
  negZero.scalar = -0.0f;
  t0.instructions.push_back(negZero);

  t0.instructions.push_back(
      VecUnaryInst{VecUnaryOp::Silu, 16, 64, {x, 0}, {acc, 0}, {}});
  t0.instructions.push_back(
      VecReduceInst{VecReduceOp::SumSquares, 16, 64, {x, 0}, {acc, 0}, {}});
  VecDequantizeInst dequant;
  dequant.rows = 16;
  dequant.len = 64;
  dequant.dst = {x, 0};
  dequant.src = quant.dst;
  t0.instructions.push_back(dequant);
  t0.instructions.push_back(SemSignalInst{{1, 3}, 4294967295u});
  t0.instructions.push_back(SemWaitInst{{0, 5}, 2});
  t0.instructions.push_back(BarrierInst{{0, 1}});
  t0.instructions.push_back(HaltInst{});

  TileProgram &t1 = p.getOrCreateTile(1);
  t1.instructions.push_back(
      VecUnaryInst{VecUnaryOp::Copy, 1, 1024, {y, 0}, {y, 0}, {}});
  p.getOrCreateTile(4000000000u);
  return p;
}

class MaiaProgramTest : public ::testing::Test {
protected:
  MaiaProgramTest() : builder(&context), loc(UnknownLoc::get(&context)) {
    module = ModuleOp::create(loc);
    builder.setInsertionPointToEnd(module->getBody());
  }

  std::string print(Operation *op) {
    std::string text;
    llvm::raw_string_ostream os(text);
    op->print(os);
    return text;
  }

  MLIRContext context;
  OpBuilder builder;
  Location loc;
  OwningOpRef<ModuleOp> module;
};

TEST_F(MaiaProgramTest, ProgramToIRToProgramIsExact) {
  Program original = makeProgram();
  ASSERT_FALSE(llvm::errorToBool(verifyStructure(original)));
  ProgramOp op = importProgram(builder, loc, original);
  ASSERT_TRUE(succeeded(verify(*module)));

  llvm::Expected<Program> exported = exportProgram(op);
  ASSERT_TRUE(bool(exported)) << llvm::toString(exported.takeError());
  EXPECT_EQ(toAssembly(*exported), toAssembly(original));
  // The binary holds every field, including the NaN payload the assembly
  // does not spell.
  EXPECT_EQ(encodeBinary(*exported), encodeBinary(original));
  const auto &scaled =
      std::get<VecBinaryInst>(exported->tiles[0].instructions[4]);
  uint32_t bits;
  std::memcpy(&bits, &scaled.scalar, sizeof(bits));
  EXPECT_EQ(bits, 0x7fc00001u);
}

TEST_F(MaiaProgramTest, IRToProgramToIRIsExact) {
  ProgramOp first = importProgram(builder, loc, makeProgram());
  llvm::Expected<Program> exported = exportProgram(first);
  ASSERT_TRUE(bool(exported)) << llvm::toString(exported.takeError());
  ProgramOp second = importProgram(builder, loc, *exported);
  EXPECT_EQ(print(first), print(second));
}

TEST_F(MaiaProgramTest, ExportWithoutDataSkipsSegments) {
  ProgramOp op = importProgram(builder, loc, makeProgram());
  ExportOptions options;
  options.includeData = false;
  llvm::Expected<Program> exported = exportProgram(op, options);
  ASSERT_TRUE(bool(exported)) << llvm::toString(exported.takeError());
  EXPECT_TRUE(exported->data.empty());
  EXPECT_EQ(exported->buffers.size(), 9u);
}

TEST_F(MaiaProgramTest, ImportsProgramsThatDoNotVerify) {
  // A reference past the buffer table becomes a name no buffer has.
  Program p;
  p.addBuffer(Buffer{"x", MemoryLevel::TSRAM, 0, 0, 64, FloatFormat::F32});
  p.getOrCreateTile(0).instructions.push_back(
      VecUnaryInst{VecUnaryOp::Exp, 1, 4, {0, 0}, {7, 0}, {}});
  importProgram(builder, loc, p);
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_TRUE(failed(verify(*module)));
  EXPECT_EQ(message, "'maia.vec.exp' op a names @\"#7\", which is not a "
                     "buffer of the program");
}

TEST_F(MaiaProgramTest, ExportNamesTheOpOfUnverifiedIR) {
  // Parsed without verification: the data segment names no buffer.
  const char *text = R"mlir(
    maia.program {
      maia.buffer @x hbm offset 0 size 64 : f32
      maia.data @nope = dense<0> : tensor<4xi8>
    }
  )mlir";
  context.loadDialect<MaiaDialect>();
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, config);
  ASSERT_TRUE(parsed);
  auto program = cast<ProgramOp>(parsed->getBody()->front());
  llvm::Expected<Program> exported = exportProgram(program);
  ASSERT_FALSE(bool(exported));
  llvm::Error error = exported.takeError();
  ASSERT_TRUE(error.isA<ExportError>());

  std::string message;
  Location at = UnknownLoc::get(&context);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    at = diag.getLocation();
    return success();
  });
  EXPECT_TRUE(failed(emitExportError(std::move(error), program)));
  EXPECT_EQ(message,
            "'maia.data' op names @nope, which is not a buffer of the program");
  EXPECT_EQ(at, (*std::next(program.getBody()->begin())).getLoc());
}

/// The message of exporting the (unverified) program of `text`.
static std::string getExportError(MLIRContext &context, const char *text) {
  context.loadDialect<MaiaDialect>();
  context.allowUnregisteredDialects();
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, config);
  if (!parsed)
    return "<parse error>";
  auto program = cast<ProgramOp>(parsed->getBody()->front());
  llvm::Expected<Program> exported = exportProgram(program);
  return exported ? "<no error>" : llvm::toString(exported.takeError());
}

TEST_F(MaiaProgramTest, ExportRejectsForeignOps) {
  EXPECT_EQ(getExportError(context, R"mlir(
              maia.program {
                maia.tile 0 {
                  "test.other"() : () -> ()
                }
              }
            )mlir"),
            "'test.other' op is not a maia instruction");
  EXPECT_EQ(getExportError(context, R"mlir(
              maia.program {
                "test.other"() : () -> ()
              }
            )mlir"),
            "'test.other' op does not belong in a maia.program");
}

TEST_F(MaiaProgramTest, OtherErrorsGoToTheFallback) {
  ProgramOp program = importProgram(builder, loc, Program());
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_TRUE(
      failed(emitExportError(llvm::createStringError("plain"), program)));
  EXPECT_EQ(message, "plain");
}

} // namespace
