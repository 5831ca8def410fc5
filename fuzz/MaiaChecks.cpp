//===- MaiaChecks.cpp - invariants of decoded Maia programs ---------------===//
//
// Round trips through assembly, binary and the maia dialect, then a bounded
// simulation.
//
//===----------------------------------------------------------------------===//

#include "MaiaChecks.h"
#include "FuzzSupport.h"

#include "mixtile/Dialect/Maia/IR/MaiaOps.h"
#include "mixtile/Dialect/Maia/IR/MaiaProgram.h"
#include "mixtile/Target/Maia/Simulator.h"
#include "mixtile/Target/TargetModel.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/raw_ostream.h"

#include <variant>

using namespace mixtile;
using namespace mixtile::fuzz;

/// Simulations of at most this much work (bytes moved, MACs, vector
/// elements) run in well under a millisecond; bigger ones are skipped.
static constexpr uint64_t kMaxSimulatedWork = 1 << 20;

static std::string assemblyOf(const maia::Program &program) {
  std::string text;
  llvm::raw_string_ostream os(text);
  maia::printAssembly(program, os);
  return text;
}

/// Adds `b` to `a`, saturating at UINT64_MAX.
static uint64_t addSaturating(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mulSaturating(uint64_t a, uint64_t b) {
  return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/// An upper bound of what simulating `inst` costs.
static uint64_t workOf(const maia::Instruction &inst) {
  if (const auto *dma = std::get_if<maia::DmaInst>(&inst))
    return maia::getDmaBytes(*dma).value_or(UINT64_MAX);
  if (const auto *mm = std::get_if<maia::MatmulInst>(&inst))
    return mulSaturating(mulSaturating(mm->m, mm->n), mm->k);
  auto rowsTimesLen = [](const auto &op) -> uint64_t {
    return mulSaturating(op.rows, op.len);
  };
  if (const auto *op = std::get_if<maia::VecBinaryInst>(&inst))
    return rowsTimesLen(*op);
  if (const auto *op = std::get_if<maia::VecUnaryInst>(&inst))
    return rowsTimesLen(*op);
  if (const auto *op = std::get_if<maia::VecReduceInst>(&inst))
    return rowsTimesLen(*op);
  if (const auto *op = std::get_if<maia::VecQuantizeInst>(&inst))
    return rowsTimesLen(*op);
  if (const auto *op = std::get_if<maia::VecDequantizeInst>(&inst))
    return rowsTimesLen(*op);
  return 1;
}

static uint64_t workOf(const maia::Program &program) {
  uint64_t work = 0;
  for (const maia::TileProgram &tile : program.tiles)
    for (const maia::Instruction &inst : tile.instructions)
      work = addSaturating(work, workOf(inst));
  for (const maia::DataSegment &segment : program.data)
    work = addSaturating(work, segment.bytes.size());
  return work;
}

static void checkTextRoundTrip(const maia::Program &program,
                               llvm::StringRef reader,
                               const std::string &assembly) {
  llvm::Expected<maia::Program> reparsed =
      maia::parseAssembly(assembly, "printed");
  if (!reparsed)
    fail(reader.str() + ": printed assembly does not parse: " +
             llvm::toString(reparsed.takeError()),
         assembly);
  if (assemblyOf(*reparsed) != assembly)
    fail(reader.str() + ": assembly changes when re-parsed", assembly);
}

static void checkBinaryRoundTrip(const maia::Program &program,
                                 llvm::StringRef reader,
                                 const std::string &assembly) {
  std::vector<uint8_t> binary = maia::encodeBinary(program);
  llvm::Expected<maia::Program> decoded = maia::decodeBinary(binary, "encoded");
  if (!decoded)
    fail(reader.str() + ": encoded binary does not decode: " +
             llvm::toString(decoded.takeError()),
         assembly);
  if (assemblyOf(*decoded) != assembly)
    fail(reader.str() + ": program changes through the binary", assembly);
}

/// maia::Program -> maia.program -> maia::Program must be exact for
/// programs the chip accepts.
static void checkDialectRoundTrip(const maia::Program &program,
                                  llvm::StringRef reader,
                                  const std::string &assembly,
                                  bool targetValid) {
  std::unique_ptr<mlir::MLIRContext> ctx = makeContext();
  mlir::Location loc = mlir::UnknownLoc::get(ctx.get());
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
  mlir::OpBuilder builder = mlir::OpBuilder::atBlockEnd(module->getBody());
  maia::ProgramOp op = maia::importProgram(builder, loc, program);
  std::optional<std::string> irErrors = verifyErrors(*module);
  if (!targetValid)
    return;
  if (irErrors)
    fail(reader.str() + ": a program maia200 accepts imports as IR that "
                        "does not verify",
         *irErrors + "\n" + assembly);
  llvm::Expected<maia::Program> exported = maia::exportProgram(op);
  if (!exported)
    fail(reader.str() + ": imported IR does not export: " +
             llvm::toString(exported.takeError()),
         assembly);
  if (maia::encodeBinary(*exported) != maia::encodeBinary(program))
    fail(reader.str() + ": program changes through the maia dialect", assembly);
}

void mixtile::fuzz::checkAcceptedProgram(const maia::Program &program,
                                         llvm::StringRef reader) {
  if (llvm::Error error = maia::verifyStructure(program))
    fail(reader.str() + " accepted a program that fails verifyStructure: " +
         llvm::toString(std::move(error)));
  std::string assembly = assemblyOf(program);
  checkTextRoundTrip(program, reader, assembly);
  checkBinaryRoundTrip(program, reader, assembly);

  static const TargetModel target = [] {
    llvm::Expected<TargetModel> loaded = TargetModel::load("maia200");
    if (!loaded)
      fail("cannot load maia200", llvm::toString(loaded.takeError()));
    return *loaded;
  }();
  llvm::Error targetError = maia::verifyProgram(program, target);
  bool targetValid = !targetError;
  ignore(std::move(targetError));
  checkDialectRoundTrip(program, reader, assembly, targetValid);
  if (!targetValid || workOf(program) > kMaxSimulatedWork)
    return;
  llvm::Expected<maia::SimResult> result = maia::simulate(program, target);
  if (!result)
    ignore(result.takeError()); // Deadlocks and out-of-range accesses.
}
