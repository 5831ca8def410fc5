//===- ISA.cpp - Maia programs, layouts and verification ------------------===//
//
// Program helpers, operand layouts, and the two verifiers: the structural one
// that the parser and the decoder rely on (so that every program they return
// prints and encodes), and the target one that the simulator relies on (so
// that every access stays inside real memory).
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/Maia/ISA.h"
#include "ISAInternal.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>

using namespace mixtile;
using namespace mixtile::maia;
using llvm::Error;
using llvm::StringRef;
using llvm::Twine;

//===----------------------------------------------------------------------===//
// Instructions and programs
//===----------------------------------------------------------------------===//

namespace {
struct MnemonicOf {
  StringRef operator()(const DmaInst &) const { return "dma"; }
  StringRef operator()(const MatmulInst &) const { return "mm"; }
  StringRef operator()(const VecBinaryInst &i) const {
    return getVecBinaryMnemonic(i.op);
  }
  StringRef operator()(const VecUnaryInst &i) const {
    return getVecUnaryMnemonic(i.op);
  }
  StringRef operator()(const VecReduceInst &i) const {
    return getVecReduceMnemonic(i.op);
  }
  StringRef operator()(const VecQuantizeInst &) const { return "vec.quant"; }
  StringRef operator()(const VecDequantizeInst &) const {
    return "vec.dequant";
  }
  StringRef operator()(const SemSignalInst &) const { return "sem.signal"; }
  StringRef operator()(const SemWaitInst &) const { return "sem.wait"; }
  StringRef operator()(const BarrierInst &) const { return "barrier"; }
  StringRef operator()(const HaltInst &) const { return "halt"; }
};
} // namespace

StringRef mixtile::maia::getVecBinaryMnemonic(VecBinaryOp op) {
  switch (op) {
  case VecBinaryOp::Add:
    return "vec.add";
  case VecBinaryOp::Sub:
    return "vec.sub";
  case VecBinaryOp::Mul:
    return "vec.mul";
  case VecBinaryOp::Div:
    return "vec.div";
  case VecBinaryOp::Max:
    return "vec.max";
  }
  return "vec.?";
}

StringRef mixtile::maia::getVecUnaryMnemonic(VecUnaryOp op) {
  switch (op) {
  case VecUnaryOp::Copy:
    return "vec.copy";
  case VecUnaryOp::Exp:
    return "vec.exp";
  case VecUnaryOp::Rsqrt:
    return "vec.rsqrt";
  case VecUnaryOp::Silu:
    return "vec.silu";
  }
  return "vec.?";
}

StringRef mixtile::maia::getVecReduceMnemonic(VecReduceOp op) {
  switch (op) {
  case VecReduceOp::Max:
    return "vec.rmax";
  case VecReduceOp::Sum:
    return "vec.rsum";
  case VecReduceOp::SumSquares:
    return "vec.rsumsq";
  }
  return "vec.?";
}

StringRef mixtile::maia::getMnemonic(const Instruction &inst) {
  return std::visit(MnemonicOf(), inst);
}

const Sync *mixtile::maia::getSync(const Instruction &inst) {
  return std::visit(
      [](const auto &i) -> const Sync * {
        using T = std::decay_t<decltype(i)>;
        if constexpr (std::is_same_v<T, SemSignalInst> ||
                      std::is_same_v<T, SemWaitInst> ||
                      std::is_same_v<T, BarrierInst> ||
                      std::is_same_v<T, HaltInst>)
          return nullptr;
        else
          return &i.sync;
      },
      inst);
}

Sync *mixtile::maia::getSync(Instruction &inst) {
  return const_cast<Sync *>(getSync(std::as_const(inst)));
}

std::optional<uint32_t> Program::findBuffer(StringRef name) const {
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i].name == name)
      return uint32_t(i);
  return std::nullopt;
}

uint32_t Program::addBuffer(Buffer buffer) {
  buffers.push_back(std::move(buffer));
  return uint32_t(buffers.size() - 1);
}

TileProgram &Program::getOrCreateTile(uint32_t tile) {
  for (TileProgram &stream : tiles)
    if (stream.tile == tile)
      return stream;
  tiles.push_back(TileProgram{tile, {}});
  return tiles.back();
}

//===----------------------------------------------------------------------===//
// Layouts
//===----------------------------------------------------------------------===//

std::optional<uint64_t> mixtile::maia::getTensorBytes(FloatFormat format,
                                                      uint64_t rows,
                                                      uint64_t cols) {
  uint64_t bits = numerics::getFormatInfo(format).bits;
  uint64_t rowBits;
  if (__builtin_mul_overflow(cols, bits, &rowBits) || rowBits % 8 != 0)
    return std::nullopt;
  uint64_t total;
  if (__builtin_mul_overflow(rows, rowBits / 8, &total))
    return std::nullopt;
  return total;
}

std::optional<uint64_t> mixtile::maia::getScaleBytes(ScaleMode mode,
                                                     uint32_t block,
                                                     uint64_t rows,
                                                     uint64_t cols) {
  uint64_t tensorScales = 0, blockScales = 0;
  switch (mode) {
  case ScaleMode::None:
    return 0;
  case ScaleMode::Tensor:
    return 4;
  case ScaleMode::Rows:
    tensorScales = rows;
    break;
  case ScaleMode::MX:
    break;
  case ScaleMode::NVFP4:
    tensorScales = 1;
    break;
  case ScaleMode::NVFP4Rows:
    tensorScales = rows;
    break;
  }
  if (hasBlockScales(mode)) {
    if (block == 0)
      return std::nullopt;
    uint64_t blocksPerRow = cols / block + (cols % block != 0);
    if (__builtin_mul_overflow(rows, blocksPerRow, &blockScales))
      return std::nullopt;
  }
  uint64_t total;
  if (__builtin_mul_overflow(tensorScales, uint64_t(4), &total) ||
      __builtin_add_overflow(total, blockScales, &total))
    return std::nullopt;
  return total;
}

numerics::QuantScheme mixtile::maia::getQuantScheme(FloatFormat format,
                                                    ScaleMode mode,
                                                    uint32_t block) {
  numerics::ScaleKind kind = numerics::ScaleKind::None;
  switch (mode) {
  case ScaleMode::None:
    break;
  case ScaleMode::Tensor:
  case ScaleMode::Rows:
    kind = numerics::ScaleKind::TensorF32;
    break;
  case ScaleMode::MX:
    kind = numerics::ScaleKind::BlockE8M0;
    break;
  case ScaleMode::NVFP4:
  case ScaleMode::NVFP4Rows:
    kind = numerics::ScaleKind::BlockE4M3WithTensorF32;
    break;
  }
  return numerics::QuantScheme{"", format, kind,
                               hasBlockScales(mode) ? block : 0};
}

FloatFormat mixtile::maia::getScaleBufferFormat(ScaleMode mode) {
  switch (mode) {
  case ScaleMode::MX:
    return FloatFormat::F8E8M0FNU;
  case ScaleMode::NVFP4:
  case ScaleMode::NVFP4Rows:
    return FloatFormat::F8E4M3FN;
  default:
    return FloatFormat::F32;
  }
}

StringRef mixtile::maia::getScaleModeName(ScaleMode mode) {
  switch (mode) {
  case ScaleMode::None:
    return "none";
  case ScaleMode::Tensor:
    return "tensor";
  case ScaleMode::Rows:
    return "rows";
  case ScaleMode::MX:
    return "mx";
  case ScaleMode::NVFP4:
    return "nvfp4";
  case ScaleMode::NVFP4Rows:
    return "nvfp4.rows";
  }
  return "?";
}

StringRef mixtile::maia::getMemoryLevelName(MemoryLevel level) {
  switch (level) {
  case MemoryLevel::HBM:
    return "hbm";
  case MemoryLevel::CSRAM:
    return "csram";
  case MemoryLevel::TSRAM:
    return "tsram";
  }
  return "?";
}

bool mixtile::maia::isValidBufferName(StringRef name) {
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_'))
    return false;
  return llvm::all_of(
      name, [](char c) { return llvm::isAlnum(c) || c == '_' || c == '.'; });
}

bool mixtile::maia::hasBlockScales(ScaleMode mode) {
  return mode == ScaleMode::MX || mode == ScaleMode::NVFP4 ||
         mode == ScaleMode::NVFP4Rows;
}

uint64_t mixtile::maia::getNaturalAlignment(FloatFormat format) {
  unsigned bits = numerics::getFormatInfo(format).bits;
  return bits >= 32 ? 4 : bits >= 16 ? 2 : 1;
}

//===----------------------------------------------------------------------===//
// Operand enumeration
//===----------------------------------------------------------------------===//

namespace {
/// Lists every BufferRef field of an instruction, used or not.
struct OperandLister {
  llvm::SmallVectorImpl<OperandUse> &uses;

  void add(const char *role, const BufferRef &ref, bool used) {
    uses.push_back({role, ref, used});
  }
  void addTensor(const char *role, const char *scaleRole,
                 const TensorOperand &t) {
    add(role, t.data, true);
    add(scaleRole, t.scales, t.scaleMode != ScaleMode::None);
  }

  void operator()(const DmaInst &i) {
    add("src", i.src, true);
    add("dst", i.dst, true);
  }
  void operator()(const MatmulInst &i) {
    addTensor("a", "a.scale", i.a);
    addTensor("b", "b.scale", i.b);
    add("c", i.acc, true);
  }
  void operator()(const VecBinaryInst &i) {
    add("dst", i.dst, true);
    add("a", i.a, true);
    add("b", i.b, i.broadcast != Broadcast::Scalar);
  }
  void operator()(const VecUnaryInst &i) {
    add("dst", i.dst, true);
    add("a", i.a, true);
  }
  void operator()(const VecReduceInst &i) {
    add("dst", i.dst, true);
    add("a", i.a, true);
  }
  void operator()(const VecQuantizeInst &i) {
    addTensor("dst", "dst.scale", i.dst);
    add("src", i.src, true);
  }
  void operator()(const VecDequantizeInst &i) {
    add("dst", i.dst, true);
    addTensor("src", "src.scale", i.src);
  }
  void operator()(const SemSignalInst &) {}
  void operator()(const SemWaitInst &) {}
  void operator()(const BarrierInst &) {}
  void operator()(const HaltInst &) {}
};
} // namespace

void mixtile::maia::listOperands(const Instruction &inst,
                                 llvm::SmallVectorImpl<OperandUse> &uses) {
  std::visit(OperandLister{uses}, inst);
}

//===----------------------------------------------------------------------===//
// Structural verification
//===----------------------------------------------------------------------===//

namespace {

Error fail(const Twine &message) { return llvm::createStringError(message); }

Error failAt(uint32_t tile, size_t index, const Instruction &inst,
             const Twine &message) {
  return fail("tile " + Twine(tile) + ", instruction " + Twine(index) + " (" +
              getMnemonic(inst) + "): " + message);
}

/// Canonical form of the fields the text does not show: a scale mode without
/// block scales has block 0 (and one with block scales a block of at least
/// 1, which the text must spell), and unused fields are zero, so that every
/// program survives printing and parsing unchanged.
Error checkCanonical(const Instruction &inst) {
  auto checkTensor = [](const char *role,
                        const TensorOperand &t) -> std::optional<std::string> {
    std::string mode = getScaleModeName(t.scaleMode).str();
    if (!hasBlockScales(t.scaleMode) && t.block != 0)
      return std::string(role) + " has a block size but scale mode '" + mode +
             "' has no block scales";
    if (hasBlockScales(t.scaleMode) && t.block == 0)
      return std::string(role) + ": scale mode '" + mode +
             "' needs a block size of at least 1";
    return std::nullopt;
  };
  std::optional<std::string> problem;
  if (auto *mm = std::get_if<MatmulInst>(&inst)) {
    problem = checkTensor("a", mm->a);
    if (!problem)
      problem = checkTensor("b", mm->b);
  } else if (auto *q = std::get_if<VecQuantizeInst>(&inst)) {
    problem = checkTensor("dst", q->dst);
  } else if (auto *d = std::get_if<VecDequantizeInst>(&inst)) {
    problem = checkTensor("src", d->src);
  } else if (auto *b = std::get_if<VecBinaryInst>(&inst)) {
    if (b->broadcast != Broadcast::Scalar &&
        numerics::floatBits(b->scalar) != 0)
      problem = "an immediate is only allowed with a scalar operand b";
  }
  if (problem)
    return fail(*problem);
  return Error::success();
}

/// Counts the assembly cannot spell as zero, so that every program
/// decodeBinary accepts prints as assembly parseAssembly accepts.
std::optional<std::string> checkCounts(const Instruction &inst) {
  auto *semWait = std::get_if<SemWaitInst>(&inst);
  const Sync *sync = getSync(inst);
  if ((semWait && semWait->count == 0) ||
      (sync && llvm::any_of(sync->waits,
                            [](const SemWait &w) { return w.count == 0; })))
    return std::string("a wait count must be at least 1");
  auto *signal = std::get_if<SemSignalInst>(&inst);
  if (signal && signal->count == 0)
    return std::string("a signal count must be at least 1");
  return std::nullopt;
}

Error verifyInstructionStructure(const Program &program,
                                 const TileProgram &stream, size_t index) {
  const Instruction &inst = stream.instructions[index];
  llvm::SmallVector<OperandUse, 8> uses;
  listOperands(inst, uses);
  for (const OperandUse &use : uses) {
    if (!use.used) {
      if (use.ref.buffer != 0 || use.ref.offset != 0)
        return failAt(stream.tile, index, inst,
                      Twine("unused operand ") + use.role + " must be zero");
      continue;
    }
    if (use.ref.buffer >= program.buffers.size())
      return failAt(stream.tile, index, inst,
                    Twine("operand ") + use.role + " names buffer #" +
                        Twine(use.ref.buffer) + " but the program has " +
                        Twine(program.buffers.size()));
  }
  if (Error error = checkCanonical(inst))
    return failAt(stream.tile, index, inst, llvm::toString(std::move(error)));
  if (std::optional<std::string> problem = checkCounts(inst))
    return failAt(stream.tile, index, inst, *problem);
  if (std::holds_alternative<HaltInst>(inst) &&
      index + 1 != stream.instructions.size())
    return failAt(stream.tile, index, inst,
                  "instructions after a halt would never run");
  if (auto *barrier = std::get_if<BarrierInst>(&inst)) {
    const std::vector<uint32_t> &tiles = barrier->tiles;
    if (tiles.empty())
      return failAt(stream.tile, index, inst, "a barrier needs tiles");
    for (size_t i = 1; i < tiles.size(); ++i)
      if (tiles[i] <= tiles[i - 1])
        return failAt(stream.tile, index, inst,
                      "barrier tiles must be ascending and distinct");
    if (!std::binary_search(tiles.begin(), tiles.end(), stream.tile))
      return failAt(stream.tile, index, inst,
                    "the barrier does not include its own tile " +
                        Twine(stream.tile));
  }
  return Error::success();
}

} // namespace

Error mixtile::maia::verifyStructure(const Program &program) {
  llvm::StringSet<> names;
  for (const Buffer &buffer : program.buffers) {
    if (!isValidBufferName(buffer.name))
      return fail("invalid buffer name '" + buffer.name +
                  "' (expected [A-Za-z_][A-Za-z0-9_.]*)");
    if (!names.insert(buffer.name).second)
      return fail("duplicate buffer name '" + buffer.name + "'");
    if (buffer.level == MemoryLevel::HBM && buffer.unit != 0)
      return fail("buffer '" + buffer.name + "': HBM buffers have unit 0");
  }
  for (size_t i = 0; i < program.data.size(); ++i) {
    const DataSegment &segment = program.data[i];
    if (segment.at.buffer >= program.buffers.size())
      return fail("data segment " + Twine(i) + " names buffer #" +
                  Twine(segment.at.buffer) + " but the program has " +
                  Twine(program.buffers.size()));
    const Buffer &buffer = program.buffers[segment.at.buffer];
    if (segment.at.offset > buffer.size ||
        segment.bytes.size() > buffer.size - segment.at.offset)
      return fail("data segment " + Twine(i) + ": " +
                  Twine(segment.bytes.size()) + " bytes at offset " +
                  Twine(segment.at.offset) + " do not fit buffer '" +
                  buffer.name + "' of " + Twine(buffer.size) + " bytes");
  }
  llvm::SmallVector<uint32_t> seen;
  for (const TileProgram &stream : program.tiles) {
    if (llvm::is_contained(seen, stream.tile))
      return fail("two streams for tile " + Twine(stream.tile));
    seen.push_back(stream.tile);
    for (size_t i = 0; i < stream.instructions.size(); ++i)
      if (Error error = verifyInstructionStructure(program, stream, i))
        return error;
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Target verification
//===----------------------------------------------------------------------===//

namespace {

/// Checks of one instruction against the target; every failure names the
/// tile and the instruction.
class InstructionVerifier {
public:
  InstructionVerifier(const Program &program, const TargetModel &target,
                      uint32_t tile, size_t index, const Instruction &inst)
      : program(program), target(target), tile(tile), index(index), inst(inst) {
  }

  Error verify() {
    if (const Sync *sync = getSync(inst))
      if (Error error = checkSync(*sync))
        return error;
    return std::visit([this](const auto &i) { return check(i); }, inst);
  }

private:
  Error failHere(const Twine &message) const {
    return failAt(tile, index, inst, message);
  }

  const Buffer &bufferOf(const BufferRef &ref) const {
    return program.buffers[ref.buffer];
  }

  uint32_t clusterOfTile(uint64_t t) const {
    return uint32_t(t / target.tilesPerCluster);
  }

  /// `bytes` bytes at `ref` stay inside the buffer.
  Error checkExtent(const char *role, const BufferRef &ref,
                    uint64_t bytes) const {
    const Buffer &buffer = bufferOf(ref);
    if (ref.offset > buffer.size || bytes > buffer.size - ref.offset)
      return failHere(Twine(role) + " needs " + Twine(bytes) +
                      " bytes at offset " + Twine(ref.offset) + " of buffer '" +
                      buffer.name + "', which has " + Twine(buffer.size));
    return Error::success();
  }

  /// The address of `ref` in its memory is a multiple of `alignment`.
  Error checkAlignment(const char *role, const BufferRef &ref,
                       uint64_t alignment) const {
    uint64_t address = bufferOf(ref).offset + ref.offset;
    if (address % alignment != 0)
      return failHere(Twine(role) + " at address " + Twine(address) +
                      " is not aligned to " + Twine(alignment) + " bytes");
    return Error::success();
  }

  /// The operand lives in the executing tile's TSRAM and its buffer holds
  /// `format` elements.
  Error checkLocal(const char *role, const BufferRef &ref,
                   FloatFormat format) const {
    const Buffer &buffer = bufferOf(ref);
    if (buffer.level != MemoryLevel::TSRAM || buffer.unit != tile)
      return failHere(Twine(role) + " buffer '" + buffer.name +
                      "' is not in the TSRAM of tile " + Twine(tile));
    if (buffer.format != format)
      return failHere(Twine(role) + " is " +
                      numerics::getFormatInfo(format).name.data() +
                      " but buffer '" + buffer.name + "' holds " +
                      numerics::getFormatInfo(buffer.format).name.data());
    return Error::success();
  }

  /// A local f32 [elements] operand.
  Error checkF32(const char *role, const BufferRef &ref,
                 uint64_t elements) const {
    uint64_t bytes;
    if (__builtin_mul_overflow(elements, uint64_t(4), &bytes))
      return failHere(Twine(role) + " is too large");
    if (Error error = checkLocal(role, ref, FloatFormat::F32))
      return error;
    if (Error error = checkExtent(role, ref, bytes))
      return error;
    return checkAlignment(role, ref, 4);
  }

  /// A local coded operand [rows, cols] with its scales, in a format the
  /// tensor unit reads (the vector unit converts to and from the same ones).
  Error checkTensor(const char *role, const char *scaleRole,
                    const TensorOperand &t, uint64_t rows,
                    uint64_t cols) const {
    if (Error error = checkFormat(role, t))
      return error;
    std::optional<uint64_t> bytes = getTensorBytes(t.format, rows, cols);
    if (!bytes)
      return failHere(Twine(role) + ": a row of " + Twine(cols) + " " +
                      numerics::getFormatInfo(t.format).name.data() +
                      " codes does not fill whole bytes");
    if (Error error = checkLocal(role, t.data, t.format))
      return error;
    if (Error error = checkExtent(role, t.data, *bytes))
      return error;
    if (Error error =
            checkAlignment(role, t.data, getNaturalAlignment(t.format)))
      return error;
    if (t.scaleMode == ScaleMode::None)
      return Error::success();
    std::optional<uint64_t> scaleBytes =
        getScaleBytes(t.scaleMode, t.block, rows, cols);
    if (!scaleBytes)
      return failHere(Twine(scaleRole) + " is too large");
    if (Error error =
            checkLocal(scaleRole, t.scales, getScaleBufferFormat(t.scaleMode)))
      return error;
    if (Error error = checkExtent(scaleRole, t.scales, *scaleBytes))
      return error;
    bool hasF32 = t.scaleMode != ScaleMode::MX;
    return checkAlignment(scaleRole, t.scales, hasF32 ? 4 : 1);
  }

  Error checkFormat(const char *role, const TensorOperand &t) const {
    const numerics::FormatInfo &info = numerics::getFormatInfo(t.format);
    if (t.format == FloatFormat::F8E8M0FNU)
      return failHere(Twine(role) + ": f8E8M0FNU is a scale format, not an "
                                    "element format");
    bool narrow = info.bits <= 8;
    switch (t.scaleMode) {
    case ScaleMode::None:
      return Error::success();
    case ScaleMode::Tensor:
    case ScaleMode::Rows:
      if (!narrow)
        return failHere(Twine(role) +
                        ": f32 scales need elements of at "
                        "most 8 bits, not " +
                        info.name.data());
      return Error::success();
    case ScaleMode::MX:
      if (!narrow)
        return failHere(Twine(role) +
                        ": MX needs FP8, FP6 or FP4 "
                        "elements, not " +
                        info.name.data());
      if (t.block != uint64_t(target.mxBlock))
        return failHere(Twine(role) + ": the target's MX block is " +
                        Twine(target.mxBlock) + ", not " + Twine(t.block));
      return Error::success();
    case ScaleMode::NVFP4:
    case ScaleMode::NVFP4Rows: {
      if (t.format != FloatFormat::F4E2M1FN)
        return failHere(Twine(role) +
                        ": NVFP4 needs f4E2M1FN elements, "
                        "not " +
                        info.name.data());
      unsigned block = numerics::parseQuantScheme("nvfp4")->blockSize;
      if (t.block != block)
        return failHere(Twine(role) + ": the NVFP4 block is " + Twine(block) +
                        ", not " + Twine(t.block));
      return Error::success();
    }
    }
    return failHere(Twine(role) + ": unknown scale mode");
  }

  Error checkSem(const char *role, const SemRef &sem) const {
    if (sem.tile >= uint64_t(target.numTiles()))
      return failHere(Twine(role) + " semaphore t" + Twine(sem.tile) + ".s" +
                      Twine(sem.id) + ": the target has " +
                      Twine(target.numTiles()) + " tiles");
    if (sem.id >= uint64_t(target.semaphoresPerTile))
      return failHere(Twine(role) + " semaphore t" + Twine(sem.tile) + ".s" +
                      Twine(sem.id) + ": a tile has " +
                      Twine(target.semaphoresPerTile) + " semaphores");
    return Error::success();
  }

  Error checkWait(const SemRef &sem) const {
    if (Error error = checkSem("waited", sem))
      return error;
    if (sem.tile != tile)
      return failHere("tile " + Twine(tile) + " waits on semaphore t" +
                      Twine(sem.tile) + ".s" + Twine(sem.id) +
                      " of another tile; a tile only waits on its own");
    return Error::success();
  }

  Error checkSync(const Sync &sync) const {
    for (size_t i = 0; i < sync.waits.size(); ++i) {
      const SemWait &wait = sync.waits[i];
      if (Error error = checkWait(wait.sem))
        return error;
      for (size_t j = 0; j < i; ++j)
        if (sync.waits[j].sem.id == wait.sem.id)
          return failHere("semaphore t" + Twine(wait.sem.tile) + ".s" +
                          Twine(wait.sem.id) + " is waited on twice");
    }
    if (sync.signal)
      return checkSem("signalled", *sync.signal);
    return Error::success();
  }

  Error checkShape(std::initializer_list<uint32_t> dims) const {
    for (uint32_t d : dims)
      if (d == 0)
        return failHere("every dimension must be at least 1");
    return Error::success();
  }

  Error check(const DmaInst &i) const;
  Error checkDmaPath(const DmaInst &i) const;
  Error checkMulticast(const DmaInst &i, const Buffer &dst) const;

  Error check(const MatmulInst &i) const {
    if (Error error = checkShape({i.m, i.n, i.k}))
      return error;
    if (Error error = checkTensor("a", "a.scale", i.a, i.m, i.k))
      return error;
    if (Error error = checkTensor("b", "b.scale", i.b, i.n, i.k))
      return error;
    return checkF32("c", i.acc, uint64_t(i.m) * i.n);
  }

  Error check(const VecBinaryInst &i) const {
    if (Error error = checkShape({i.rows, i.len}))
      return error;
    uint64_t elements = uint64_t(i.rows) * i.len;
    if (Error error = checkF32("dst", i.dst, elements))
      return error;
    if (Error error = checkF32("a", i.a, elements))
      return error;
    switch (i.broadcast) {
    case Broadcast::None:
      return checkF32("b", i.b, elements);
    case Broadcast::Row:
      return checkF32("b", i.b, i.len);
    case Broadcast::Column:
      return checkF32("b", i.b, i.rows);
    case Broadcast::Scalar:
      return Error::success();
    }
    return failHere("unknown broadcast");
  }

  Error check(const VecUnaryInst &i) const {
    if (Error error = checkShape({i.rows, i.len}))
      return error;
    uint64_t elements = uint64_t(i.rows) * i.len;
    if (Error error = checkF32("dst", i.dst, elements))
      return error;
    return checkF32("a", i.a, elements);
  }

  Error check(const VecReduceInst &i) const {
    if (Error error = checkShape({i.rows, i.len}))
      return error;
    if (Error error = checkF32("dst", i.dst, i.rows))
      return error;
    return checkF32("a", i.a, uint64_t(i.rows) * i.len);
  }

  Error check(const VecQuantizeInst &i) const {
    if (Error error = checkShape({i.rows, i.len}))
      return error;
    if (Error error = checkTensor("dst", "dst.scale", i.dst, i.rows, i.len))
      return error;
    return checkF32("src", i.src, uint64_t(i.rows) * i.len);
  }

  Error check(const VecDequantizeInst &i) const {
    if (Error error = checkShape({i.rows, i.len}))
      return error;
    if (Error error = checkF32("dst", i.dst, uint64_t(i.rows) * i.len))
      return error;
    return checkTensor("src", "src.scale", i.src, i.rows, i.len);
  }

  Error check(const SemSignalInst &i) const {
    return checkSem("signalled", i.sem);
  }

  Error check(const SemWaitInst &i) const { return checkWait(i.sem); }

  Error check(const BarrierInst &i) const {
    if (i.tiles.back() >= uint64_t(target.numTiles()))
      return failHere("barrier tile " + Twine(i.tiles.back()) +
                      ": the target has " + Twine(target.numTiles()) +
                      " tiles");
    return Error::success();
  }

  Error check(const HaltInst &) const { return Error::success(); }

  const Program &program;
  const TargetModel &target;
  uint32_t tile;
  size_t index;
  const Instruction &inst;
};

/// The extent sum((counts[d] - 1) * strides[d]) + elementBytes, or nullopt
/// on overflow.
std::optional<uint64_t> getDmaSpan(const DmaInst &i,
                                   const std::array<uint64_t, 3> &strides) {
  uint64_t span = i.elementBytes;
  for (int d = 0; d < 3; ++d) {
    uint64_t step;
    if (__builtin_mul_overflow(i.counts[d] - 1, strides[d], &step) ||
        __builtin_add_overflow(span, step, &span))
      return std::nullopt;
  }
  return span;
}

Error InstructionVerifier::check(const DmaInst &i) const {
  if (i.elementBytes == 0)
    return failHere("elem must be at least 1 byte");
  for (uint64_t count : i.counts)
    if (count == 0)
      return failHere("every dimension of the shape must be at least 1");
  if (!getDmaBytes(i))
    return failHere("the transfer is too large");
  std::optional<uint64_t> srcSpan = getDmaSpan(i, i.srcStrides);
  std::optional<uint64_t> dstSpan = getDmaSpan(i, i.dstStrides);
  if (!srcSpan || !dstSpan)
    return failHere("the strides overflow");
  if (Error error = checkExtent("src", i.src, *srcSpan))
    return error;
  if (Error error = checkExtent("dst", i.dst, *dstSpan))
    return error;
  uint64_t queues = i.queue.kind == DmaQueue::Kind::Tile
                        ? uint64_t(target.dmaQueuesPerTile)
                        : uint64_t(target.dmaQueuesPerCluster);
  if (i.queue.index >= queues)
    return failHere(
        Twine("queue ") + (i.queue.kind == DmaQueue::Kind::Tile ? "t" : "c") +
        Twine(i.queue.index) + " does not exist: a " +
        (i.queue.kind == DmaQueue::Kind::Tile ? "tile" : "cluster") + " has " +
        Twine(queues) + " DMA queues");
  return checkDmaPath(i);
}

Error InstructionVerifier::checkDmaPath(const DmaInst &i) const {
  const Buffer &src = bufferOf(i.src), &dst = bufferOf(i.dst);
  if (src.level == MemoryLevel::HBM && dst.level == MemoryLevel::HBM)
    return failHere("HBM to HBM copies have no modeled path; stage them "
                    "through CSRAM");
  if (src.level == MemoryLevel::CSRAM && dst.level == MemoryLevel::CSRAM)
    return failHere("CSRAM to CSRAM copies have no modeled path; stage them "
                    "through TSRAM");
  uint32_t cluster = clusterOfTile(tile);
  for (const Buffer *end : {&src, &dst}) {
    uint32_t endCluster = end->level == MemoryLevel::CSRAM ? end->unit
                          : end->level == MemoryLevel::TSRAM
                              ? clusterOfTile(end->unit)
                              : cluster;
    if (endCluster != cluster)
      return failHere("buffer '" + end->name + "' is in cluster " +
                      Twine(endCluster) + " but tile " + Twine(tile) +
                      " is in cluster " + Twine(cluster) +
                      "; clusters exchange data through HBM");
  }
  if (i.multicast != 0) {
    if (Error error = checkMulticast(i, dst))
      return error;
  }
  // A copy within one memory is staged whole (see docs/MaiaISA.md); one
  // that moves more bytes than the memory holds rewrites bytes it wrote.
  bool sameMemory =
      src.level == dst.level &&
      (src.unit == dst.unit ||
       (i.multicast != 0 &&
        clusterOfTile(src.unit) == clusterOfTile(dst.unit) &&
        (i.multicast >> (src.unit % target.tilesPerCluster) & 1)));
  uint64_t capacity = getMemoryCapacity(target, src.level);
  if (sameMemory && *getDmaBytes(i) > capacity)
    return failHere("a copy within one " + getMemoryLevelName(src.level) +
                    " moves " + Twine(*getDmaBytes(i)) +
                    " bytes, more than its " + Twine(capacity));
  return Error::success();
}

Error InstructionVerifier::checkMulticast(const DmaInst &i,
                                          const Buffer &dst) const {
  if (dst.level != MemoryLevel::TSRAM)
    return failHere("multicast needs a TSRAM destination");
  uint64_t perCluster = uint64_t(target.tilesPerCluster);
  if (perCluster > 32 || (perCluster < 32 && i.multicast >> perCluster != 0))
    return failHere("multicast mask 0x" + Twine::utohexstr(i.multicast) +
                    " names tiles beyond the " + Twine(perCluster) +
                    " of a cluster");
  if (!(i.multicast >> (dst.unit % perCluster) & 1))
    return failHere("multicast mask 0x" + Twine::utohexstr(i.multicast) +
                    " does not include the destination's tile " +
                    Twine(dst.unit));
  return Error::success();
}

uint64_t getCapacity(const TargetModel &target, MemoryLevel level) {
  switch (level) {
  case MemoryLevel::HBM:
    return uint64_t(target.hbmBytes);
  case MemoryLevel::CSRAM:
    return uint64_t(target.csramBytesPerCluster);
  case MemoryLevel::TSRAM:
    return uint64_t(target.tsramBytesPerTile);
  }
  return 0;
}

Error verifyBuffer(const Buffer &buffer, const TargetModel &target) {
  auto failBuffer = [&](const Twine &message) {
    return fail("buffer '" + buffer.name + "': " + message);
  };
  if (buffer.size == 0)
    return failBuffer("size must be at least 1 byte");
  if (buffer.level == MemoryLevel::CSRAM &&
      buffer.unit >= uint64_t(target.clusters))
    return failBuffer("cluster " + Twine(buffer.unit) + " does not exist (" +
                      Twine(target.clusters) + " clusters)");
  if (buffer.level == MemoryLevel::TSRAM &&
      buffer.unit >= uint64_t(target.numTiles()))
    return failBuffer("tile " + Twine(buffer.unit) + " does not exist (" +
                      Twine(target.numTiles()) + " tiles)");
  uint64_t capacity = getCapacity(target, buffer.level);
  if (buffer.offset > capacity || buffer.size > capacity - buffer.offset)
    return failBuffer("bytes [" + Twine(buffer.offset) + ", " +
                      Twine(buffer.offset + buffer.size) + ") exceed the " +
                      Twine(capacity) + " bytes of " +
                      getMemoryLevelName(buffer.level));
  return Error::success();
}

} // namespace

uint64_t mixtile::maia::getMemoryCapacity(const TargetModel &target,
                                          MemoryLevel level) {
  return getCapacity(target, level);
}

std::optional<uint64_t> mixtile::maia::getDmaBytes(const DmaInst &i) {
  uint64_t bytes = i.elementBytes;
  for (uint64_t count : i.counts)
    if (__builtin_mul_overflow(bytes, count, &bytes))
      return std::nullopt;
  return bytes;
}

Error mixtile::maia::verifyProgram(const Program &program,
                                   const TargetModel &target) {
  if (Error error = verifyStructure(program))
    return error;
  for (const Buffer &buffer : program.buffers)
    if (Error error = verifyBuffer(buffer, target))
      return error;
  for (const TileProgram &stream : program.tiles) {
    if (stream.tile >= uint64_t(target.numTiles()))
      return fail("stream for tile " + Twine(stream.tile) +
                  ", but the target has " + Twine(target.numTiles()) +
                  " tiles");
    for (size_t i = 0; i < stream.instructions.size(); ++i)
      if (Error error = InstructionVerifier(program, target, stream.tile, i,
                                            stream.instructions[i])
                            .verify())
        return error;
  }
  return Error::success();
}
