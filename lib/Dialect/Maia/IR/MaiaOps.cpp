//===- MaiaOps.cpp - maia op syntax and verifiers -------------------------===//
//
// The custom syntax of the maia ops and their verifiers. The op verifiers
// check everything maia::verifyProgram checks that does not depend on the
// chip, and report it at the op; maia.program adds the chip-dependent checks
// by exporting itself and running maia::verifyProgram against the target of
// the enclosing module.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Maia/IR/MaiaOps.h"
#include "MaiaSyntax.h"
#include "mixtile/Dialect/Maia/IR/MaiaProgram.h"
#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Target/TargetAttr.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mixtile;
using namespace mixtile::maia;

//===----------------------------------------------------------------------===//
// ISA enums
//===----------------------------------------------------------------------===//

MemoryLevel mixtile::maia::toISA(Memory memory) {
  switch (memory) {
  case Memory::hbm:
    return MemoryLevel::HBM;
  case Memory::csram:
    return MemoryLevel::CSRAM;
  case Memory::tsram:
    return MemoryLevel::TSRAM;
  }
  llvm_unreachable("unknown memory");
}

Memory mixtile::maia::fromISA(MemoryLevel level) {
  switch (level) {
  case MemoryLevel::HBM:
    return Memory::hbm;
  case MemoryLevel::CSRAM:
    return Memory::csram;
  case MemoryLevel::TSRAM:
    return Memory::tsram;
  }
  llvm_unreachable("unknown memory level");
}

ScaleMode mixtile::maia::toISA(Scaling scaling) {
  switch (scaling) {
  case Scaling::none:
    return ScaleMode::None;
  case Scaling::tensor:
    return ScaleMode::Tensor;
  case Scaling::rows:
    return ScaleMode::Rows;
  case Scaling::mx:
    return ScaleMode::MX;
  case Scaling::nvfp4:
    return ScaleMode::NVFP4;
  case Scaling::nvfp4_rows:
    return ScaleMode::NVFP4Rows;
  }
  llvm_unreachable("unknown scaling");
}

Scaling mixtile::maia::fromISA(ScaleMode mode) {
  switch (mode) {
  case ScaleMode::None:
    return Scaling::none;
  case ScaleMode::Tensor:
    return Scaling::tensor;
  case ScaleMode::Rows:
    return Scaling::rows;
  case ScaleMode::MX:
    return Scaling::mx;
  case ScaleMode::NVFP4:
    return Scaling::nvfp4;
  case ScaleMode::NVFP4Rows:
    return Scaling::nvfp4_rows;
  }
  llvm_unreachable("unknown scale mode");
}

DmaQueue::Kind mixtile::maia::toISA(QueueKind kind) {
  return kind == QueueKind::tile ? DmaQueue::Kind::Tile
                                 : DmaQueue::Kind::Cluster;
}

QueueKind mixtile::maia::fromISA(DmaQueue::Kind kind) {
  return kind == DmaQueue::Kind::Tile ? QueueKind::tile : QueueKind::cluster;
}

//===----------------------------------------------------------------------===//
// Custom syntax
//===----------------------------------------------------------------------===//

static IntegerAttr getU64Attr(Builder &builder, uint64_t value) {
  return builder.getIntegerAttr(builder.getIntegerType(64, /*isSigned=*/false),
                                APInt(64, value));
}

/// `@buffer` or `@buffer[offset]`.
static ParseResult parseBufferRef(OpAsmParser &parser,
                                  FlatSymbolRefAttr &buffer,
                                  IntegerAttr &offset) {
  uint64_t value;
  if (maia::detail::parseBufferRef(parser, buffer, value))
    return failure();
  offset = getU64Attr(parser.getBuilder(), value);
  return success();
}

static void printBufferRef(OpAsmPrinter &printer, Operation *,
                           FlatSymbolRefAttr buffer, IntegerAttr offset) {
  maia::detail::printBufferRef(printer, buffer, offset.getUInt());
}

/// `hbm`, `csram[<cluster>]` or `tsram[<tile>]`. HBM has no unit; a nonzero
/// one is printed so that the verifier can point at it.
static ParseResult parseMemory(OpAsmParser &parser, MemoryAttr &level,
                               IntegerAttr &unit) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef name;
  if (parser.parseKeyword(&name))
    return failure();
  std::optional<Memory> memory = symbolizeMemory(name);
  if (!memory)
    return parser.emitError(loc, "expected a memory (hbm, csram[<cluster>] "
                                 "or tsram[<tile>]), got '")
           << name << "'";
  level = MemoryAttr::get(parser.getContext(), *memory);
  // CSRAM and TSRAM need their unit; HBM has none unless it is wrong.
  bool hasUnit = true;
  if (*memory == Memory::hbm)
    hasUnit = succeeded(parser.parseOptionalLSquare());
  else if (parser.parseLSquare())
    return failure();
  uint32_t value = 0;
  if (hasUnit && (parser.parseInteger(value) || parser.parseRSquare()))
    return failure();
  unit = parser.getBuilder().getUI32IntegerAttr(value);
  return success();
}

static void printMemory(OpAsmPrinter &printer, Operation *, MemoryAttr level,
                        IntegerAttr unit) {
  printer << stringifyMemory(level.getValue());
  if (level.getValue() != Memory::hbm || unit.getUInt() != 0)
    printer << "[" << unit.getUInt() << "]";
}

/// `t<index>` (a queue of the tile) or `c<index>` (one of its cluster).
static ParseResult parseQueue(OpAsmParser &parser, QueueKindAttr &kind,
                              IntegerAttr &index) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef name;
  if (parser.parseKeyword(&name))
    return failure();
  StringRef number = name.drop_front();
  uint32_t value;
  // getAsInteger returns true on error; it rejects signs and overflow.
  if ((!name.starts_with("t") && !name.starts_with("c")) || number.empty() ||
      number.getAsInteger(10, value))
    return parser.emitError(loc, "expected a DMA queue t<index> or c<index>, "
                                 "got '")
           << name << "'";
  kind = QueueKindAttr::get(parser.getContext(), name.starts_with("t")
                                                     ? QueueKind::tile
                                                     : QueueKind::cluster);
  index = parser.getBuilder().getUI32IntegerAttr(value);
  return success();
}

static void printQueue(OpAsmPrinter &printer, Operation *, QueueKindAttr kind,
                       IntegerAttr index) {
  printer << (kind.getValue() == QueueKind::tile ? "t" : "c")
          << index.getUInt();
}

/// `[a, b, ...]` of unsigned values stored in a dense array of the same
/// width (the ISA's uint64 and uint32 fields).
template <typename ArrayAttrT, typename UIntT>
static ParseResult parseUnsignedArray(OpAsmParser &parser, ArrayAttrT &array) {
  using IntT = std::make_signed_t<UIntT>;
  SmallVector<IntT> values;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        UIntT value;
        if (parser.parseInteger(value))
          return failure();
        values.push_back(IntT(value));
        return success();
      }))
    return failure();
  array = ArrayAttrT::get(parser.getContext(), values);
  return success();
}

template <typename UIntT, typename ArrayAttrT>
static void printUnsignedArray(OpAsmPrinter &printer, ArrayAttrT array) {
  printer << "[";
  llvm::interleaveComma(array.asArrayRef(), printer,
                        [&](auto value) { printer << UIntT(value); });
  printer << "]";
}

static ParseResult parseU64Array(OpAsmParser &parser,
                                 DenseI64ArrayAttr &array) {
  return parseUnsignedArray<DenseI64ArrayAttr, uint64_t>(parser, array);
}

static void printU64Array(OpAsmPrinter &printer, Operation *,
                          DenseI64ArrayAttr array) {
  printUnsignedArray<uint64_t>(printer, array);
}

static ParseResult parseU32Array(OpAsmParser &parser,
                                 DenseI32ArrayAttr &array) {
  return parseUnsignedArray<DenseI32ArrayAttr, uint32_t>(parser, array);
}

static void printU32Array(OpAsmPrinter &printer, Operation *,
                          DenseI32ArrayAttr array) {
  printUnsignedArray<uint32_t>(printer, array);
}

/// A 32-bit mask, printed in hexadecimal.
static ParseResult parseHex(OpAsmParser &parser, IntegerAttr &mask) {
  uint32_t value;
  if (parser.parseInteger(value))
    return failure();
  mask = parser.getBuilder().getUI32IntegerAttr(value);
  return success();
}

static void printHex(OpAsmPrinter &printer, Operation *, IntegerAttr mask) {
  printer << "0x" << llvm::utohexstr(mask.getUInt(), /*LowerCase=*/true);
}

/// A semaphore without the #maia.sem<> around it.
static ParseResult parseSem(OpAsmParser &parser, SemAttr &sem) {
  sem = SemAttr::parseBody(parser);
  return success(bool(sem));
}

static void printSem(OpAsmPrinter &printer, Operation *, SemAttr sem) {
  sem.printBody(printer);
}

/// `[t0.s1, t0.s2:3]`.
static ParseResult parseSemList(OpAsmParser &parser, ArrayAttr &list) {
  SmallVector<Attribute> sems;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        SemAttr sem = SemAttr::parseBody(parser);
        if (!sem)
          return failure();
        sems.push_back(sem);
        return success();
      }))
    return failure();
  list = parser.getBuilder().getArrayAttr(sems);
  return success();
}

static void printSemList(OpAsmPrinter &printer, Operation *, ArrayAttr list) {
  printer << "[";
  llvm::interleaveComma(list.getAsRange<SemAttr>(), printer,
                        [&](SemAttr sem) { sem.printBody(printer); });
  printer << "]";
}

/// A tensor operand without the #maia.tensor<> around it.
static ParseResult parseTensor(OpAsmParser &parser, TensorAttr &tensor) {
  tensor = TensorAttr::parseBody(parser);
  return success(bool(tensor));
}

static void printTensor(OpAsmPrinter &printer, Operation *, TensorAttr tensor) {
  tensor.printBody(printer);
}

/// Operand b of a binary vector op: `@b[offset]` or an f32 immediate, then
/// `broadcast row|col` unless it covers [rows, len]. The broadcast is parsed
/// after an immediate too, so that the verifier can reject it.
static ParseResult parseBinaryOperand(OpAsmParser &parser, FlatSymbolRefAttr &b,
                                      IntegerAttr &bOffset,
                                      BroadcastModeAttr &broadcast,
                                      FloatAttr &scalar) {
  Builder &builder = parser.getBuilder();
  uint64_t offset;
  OptionalParseResult isBuffer =
      maia::detail::parseOptionalBufferRef(parser, b, offset);
  if (isBuffer.has_value()) {
    if (failed(*isBuffer))
      return failure();
    bOffset = getU64Attr(builder, offset);
  } else {
    APFloat value(0.0f);
    if (parser.parseFloat(APFloat::IEEEsingle(), value))
      return failure();
    scalar = builder.getF32FloatAttr(value.convertToFloat());
  }
  if (failed(parser.parseOptionalKeyword("broadcast")))
    return success();
  SMLoc loc = parser.getCurrentLocation();
  StringRef name;
  if (parser.parseKeyword(&name))
    return failure();
  std::optional<BroadcastMode> mode = symbolizeBroadcastMode(name);
  if (!mode)
    return parser.emitError(loc, "expected a broadcast (none, row, col), "
                                 "got '")
           << name << "'";
  broadcast = BroadcastModeAttr::get(parser.getContext(), *mode);
  return success();
}

static void printBinaryOperand(OpAsmPrinter &printer, Operation *,
                               FlatSymbolRefAttr b, IntegerAttr bOffset,
                               BroadcastModeAttr broadcast, FloatAttr scalar) {
  if (b)
    maia::detail::printBufferRef(printer, b, bOffset ? bOffset.getUInt() : 0);
  else
    printer.printFloat(scalar.getValue());
  if (broadcast && broadcast.getValue() != BroadcastMode::none)
    printer << " broadcast " << stringifyBroadcastMode(broadcast.getValue());
}

//===----------------------------------------------------------------------===//
// Instruction interfaces
//===----------------------------------------------------------------------===//

std::optional<uint32_t> mixtile::maia::detail::getExecutingTile(Operation *op) {
  if (auto tile = dyn_cast_or_null<TileOp>(op->getParentOp()))
    return tile.getTile();
  return std::nullopt;
}

/// The assembly spelling of a semaphore, for diagnostics.
static std::string getSemName(SemAttr sem) {
  return ("t" + Twine(sem.getTile()) + ".s" + Twine(sem.getId())).str();
}

/// A wait by `tile`'s stream: on one of its own semaphores, for at least 1.
static LogicalResult verifyWait(Operation *op, SemAttr sem,
                                std::optional<uint32_t> tile) {
  if (sem.getCount() == 0)
    return op->emitOpError("a wait count must be at least 1");
  if (tile && sem.getTile() != *tile)
    return op->emitOpError("tile ")
           << *tile << " waits on semaphore " << getSemName(sem)
           << " of another tile; a tile only waits on its own";
  return success();
}

LogicalResult mixtile::maia::detail::verifyCommandSync(Operation *op) {
  auto command = cast<CommandOpInterface>(op);
  std::optional<uint32_t> tile = command.getExecutingTile();
  if (ArrayAttr waits = command.getWaitsAttr()) {
    SmallVector<SemAttr> seen;
    for (SemAttr sem : waits.getAsRange<SemAttr>()) {
      if (failed(verifyWait(op, sem, tile)))
        return failure();
      if (llvm::any_of(seen, [&](SemAttr other) {
            return other.getTile() == sem.getTile() &&
                   other.getId() == sem.getId();
          }))
        return op->emitOpError("semaphore ")
               << getSemName(sem) << " is waited on twice";
      seen.push_back(sem);
    }
  }
  if (SemAttr signal = command.getSignalAttr();
      signal && signal.getCount() != 1)
    return op->emitOpError("a completion signal adds 1 and takes no count, "
                           "got ")
           << getSemName(signal) << ":" << signal.getCount();
  return success();
}

//===----------------------------------------------------------------------===//
// Operand checks
//===----------------------------------------------------------------------===//

/// Every dimension of an instruction's shape is at least 1.
static LogicalResult verifyShape(Operation *op,
                                 std::initializer_list<uint32_t> dims) {
  if (llvm::is_contained(dims, 0u))
    return op->emitOpError("every dimension must be at least 1");
  return success();
}

namespace {

/// Checks the buffer operands of one instruction against the buffers they
/// name: what maia::verifyProgram checks of them that does not depend on
/// the chip (the MX block does; it is left to the target check).
class OperandChecker {
public:
  OperandChecker(Operation *op, SymbolTableCollection &symbols)
      : op(op), symbols(symbols),
        tile(cast<InstructionOpInterface>(op).getExecutingTile()) {}

  /// The buffer `name` refers to, or null after reporting that there is
  /// none.
  BufferOp lookup(const Twine &role, FlatSymbolRefAttr name) const {
    auto buffer = symbols.lookupNearestSymbolFrom<BufferOp>(op, name);
    if (!buffer)
      op->emitOpError() << role << " names " << name
                        << ", which is not a buffer of the program";
    return buffer;
  }

  /// `bytes` bytes at `offset` stay inside `buffer`.
  LogicalResult checkExtent(const Twine &role, BufferOp buffer, uint64_t offset,
                            uint64_t bytes) const {
    uint64_t size = buffer.getSize();
    if (offset > size || bytes > size - offset)
      return op->emitOpError()
             << role << " needs " << bytes << " bytes at offset " << offset
             << " of buffer @" << buffer.getSymName() << ", which has " << size;
    return success();
  }

  /// The operand's address in its memory is a multiple of `alignment`.
  LogicalResult checkAlignment(const Twine &role, BufferOp buffer,
                               uint64_t offset, uint64_t alignment) const {
    // The address wraps as in maia::verifyProgram; a wrapped buffer fails
    // the capacity check anyway.
    uint64_t address = buffer.getOffset() + offset;
    if (address % alignment != 0)
      return op->emitOpError()
             << role << " at address " << address << " is not aligned to "
             << alignment << " bytes";
    return success();
  }

  /// The operand is in the executing tile's TSRAM, in a buffer of `format`.
  LogicalResult checkLocal(const Twine &role, BufferOp buffer,
                           FloatFormat format) const {
    if (tile &&
        (buffer.getLevel() != Memory::tsram || buffer.getUnit() != *tile))
      return op->emitOpError() << role << " buffer @" << buffer.getSymName()
                               << " is not in the TSRAM of tile " << *tile;
    Type expected = getFormatType(op->getContext(), format);
    if (buffer.getFormat() != expected)
      return op->emitOpError()
             << role << " is " << expected << " but buffer @"
             << buffer.getSymName() << " holds " << buffer.getFormat();
    return success();
  }

  /// A local f32 operand of `elements` elements.
  LogicalResult checkF32(const Twine &role, FlatSymbolRefAttr name,
                         uint64_t offset, uint64_t elements) const {
    BufferOp buffer = lookup(role, name);
    if (!buffer)
      return failure();
    uint64_t bytes;
    if (__builtin_mul_overflow(elements, uint64_t(4), &bytes))
      return op->emitOpError() << role << " is too large";
    if (failed(checkLocal(role, buffer, FloatFormat::F32)) ||
        failed(checkExtent(role, buffer, offset, bytes)))
      return failure();
    return checkAlignment(role, buffer, offset, 4);
  }

  /// A local coded [rows, cols] operand with its scales.
  LogicalResult checkTensor(StringRef role, TensorAttr tensor, uint64_t rows,
                            uint64_t cols) const {
    FloatFormat format = *getFloatFormat(tensor.getFormat());
    if (failed(checkTensorFormat(role, tensor, format)))
      return failure();
    uint64_t rowBits = cols * numerics::getFormatInfo(format).bits;
    if (rowBits % 8 != 0)
      return op->emitOpError()
             << role << ": a row of " << cols << " " << tensor.getFormat()
             << " codes does not fill whole bytes";
    std::optional<uint64_t> bytes = getTensorBytes(format, rows, cols);
    if (!bytes)
      return op->emitOpError() << role << " is too large";
    BufferOp buffer = lookup(role, tensor.getBuffer());
    if (!buffer || failed(checkLocal(role, buffer, format)) ||
        failed(checkExtent(role, buffer, tensor.getOffset(), *bytes)) ||
        failed(checkAlignment(role, buffer, tensor.getOffset(),
                              getNaturalAlignment(format))))
      return failure();
    if (tensor.getScaling() == Scaling::none)
      return success();
    return checkScales(role + ".scale", tensor, rows, cols);
  }

private:
  /// The element format and the scaling agree, as the tensor unit needs.
  LogicalResult checkTensorFormat(StringRef role, TensorAttr tensor,
                                  FloatFormat format) const {
    Type type = tensor.getFormat();
    if (format == FloatFormat::F8E8M0FNU)
      return op->emitOpError()
             << role << ": f8E8M0FNU is a scale format, not an element format";
    bool narrow = numerics::getFormatInfo(format).bits <= 8;
    switch (tensor.getScaling()) {
    case Scaling::none:
      return success();
    case Scaling::tensor:
    case Scaling::rows:
      if (!narrow)
        return op->emitOpError() << role << ": f32 scales need elements of at "
                                 << "most 8 bits, not " << type;
      return success();
    case Scaling::mx:
      if (!narrow)
        return op->emitOpError()
               << role << ": MX needs FP8, FP6 or FP4 elements, not " << type;
      if (tensor.getBlock() == 0)
        return op->emitOpError()
               << role << ": MX scales need a block of at least 1 column";
      return success();
    case Scaling::nvfp4:
    case Scaling::nvfp4_rows: {
      if (format != FloatFormat::F4E2M1FN)
        return op->emitOpError()
               << role << ": NVFP4 needs f4E2M1FN elements, not " << type;
      unsigned block = numerics::parseQuantScheme("nvfp4")->blockSize;
      if (tensor.getBlock() != block)
        return op->emitOpError() << role << ": the NVFP4 block is " << block
                                 << ", not " << tensor.getBlock();
      return success();
    }
    }
    llvm_unreachable("unknown scaling");
  }

  LogicalResult checkScales(const Twine &role, TensorAttr tensor, uint64_t rows,
                            uint64_t cols) const {
    ScaleMode mode = toISA(tensor.getScaling());
    // With 32-bit dimensions and a nonzero block (checkTensorFormat), the
    // scales are at most rows * (cols + 4) bytes: no overflow.
    std::optional<uint64_t> bytes =
        getScaleBytes(mode, tensor.getBlock(), rows, cols);
    assert(bytes && "scale bytes overflow");
    BufferOp buffer = lookup(role, tensor.getScales());
    if (!buffer ||
        failed(checkLocal(role, buffer, getScaleBufferFormat(mode))) ||
        failed(checkExtent(role, buffer, tensor.getScalesOffset(),
                           bytes.value_or(UINT64_MAX))))
      return failure();
    // MX scales are bytes; the other scalings start with f32 scales.
    return checkAlignment(role, buffer, tensor.getScalesOffset(),
                          mode == ScaleMode::MX ? 1 : 4);
  }

  Operation *op;
  SymbolTableCollection &symbols;
  std::optional<uint32_t> tile;
};

} // namespace

//===----------------------------------------------------------------------===//
// Vector op families (used by the definitions ODS generates per op)
//===----------------------------------------------------------------------===//

template <typename OpT> static LogicalResult verifyVecBinaryOp(OpT op) {
  if (failed(verifyShape(op, {op.getRows(), op.getLen()})))
    return failure();
  bool hasBuffer = bool(op.getBAttr()), hasScalar = bool(op.getScalarAttr());
  if (hasBuffer && hasScalar)
    return op.emitOpError("b is a buffer or a scalar, not both");
  if (!hasBuffer && !hasScalar)
    return op.emitOpError("needs an operand b, a buffer or a scalar");
  if (hasScalar && op.getBOffsetAttr())
    return op.emitOpError("b_offset needs a b buffer");
  if (hasScalar && op.getBroadcast() != BroadcastMode::none)
    return op.emitOpError("a scalar b cannot be broadcast");
  return success();
}

template <typename OpT>
static LogicalResult verifyVecBinarySymbolUses(OpT op,
                                               SymbolTableCollection &symbols) {
  OperandChecker checker(op, symbols);
  uint64_t elements = uint64_t(op.getRows()) * op.getLen();
  if (failed(checker.checkF32("dst", op.getDstAttr(), op.getDstOffset(),
                              elements)) ||
      failed(checker.checkF32("a", op.getAAttr(), op.getAOffset(), elements)))
    return failure();
  if (!op.getBAttr())
    return success();
  uint64_t bElements = elements;
  if (op.getBroadcast() == BroadcastMode::row)
    bElements = op.getLen();
  else if (op.getBroadcast() == BroadcastMode::col)
    bElements = op.getRows();
  return checker.checkF32("b", op.getBAttr(), op.getBOffset().value_or(0),
                          bElements);
}

template <typename OpT> static LogicalResult verifyVecRowsLen(OpT op) {
  return verifyShape(op, {op.getRows(), op.getLen()});
}

template <typename OpT>
static LogicalResult verifyVecUnarySymbolUses(OpT op,
                                              SymbolTableCollection &symbols) {
  OperandChecker checker(op, symbols);
  uint64_t elements = uint64_t(op.getRows()) * op.getLen();
  return failure(
      failed(checker.checkF32("dst", op.getDstAttr(), op.getDstOffset(),
                              elements)) ||
      failed(checker.checkF32("a", op.getAAttr(), op.getAOffset(), elements)));
}

template <typename OpT>
static LogicalResult verifyVecReduceSymbolUses(OpT op,
                                               SymbolTableCollection &symbols) {
  OperandChecker checker(op, symbols);
  return failure(
      failed(checker.checkF32("dst", op.getDstAttr(), op.getDstOffset(),
                              op.getRows())) ||
      failed(checker.checkF32("a", op.getAAttr(), op.getAOffset(),
                              uint64_t(op.getRows()) * op.getLen())));
}

#define GET_OP_CLASSES
#include "mixtile/Dialect/Maia/IR/MaiaOps.cpp.inc"

//===----------------------------------------------------------------------===//
// ProgramOp
//===----------------------------------------------------------------------===//

/// The body holds buffers, then data segments, then tile streams, with at
/// most one stream per tile.
static LogicalResult verifyProgramLayout(ProgramOp program) {
  enum Section { Buffers, Data, Tiles };
  Section section = Buffers;
  llvm::DenseMap<uint32_t, TileOp> streams;
  for (Operation &op : *program.getBody()) {
    Section opSection;
    if (isa<BufferOp>(op)) {
      opSection = Buffers;
    } else if (isa<DataOp>(op)) {
      opSection = Data;
    } else if (auto tile = dyn_cast<TileOp>(op)) {
      opSection = Tiles;
      auto [it, inserted] = streams.try_emplace(tile.getTile(), tile);
      if (!inserted)
        return tile.emitOpError("is a second stream for tile ")
                   .append(tile.getTile())
                   .attachNote(it->second.getLoc())
               << "the first one";
    } else {
      return op.emitOpError("does not belong in a maia.program, which holds "
                            "maia.buffer, maia.data and maia.tile ops");
    }
    if (opSection < section)
      return op.emitOpError("must come before the ")
             << (section == Data ? "data segments" : "tile streams")
             << " of its program";
    section = opSection;
  }
  return success();
}

/// Looks up the instruction `index` of the stream of `tile`.
static Operation *findInstruction(ProgramOp program, uint32_t tile,
                                  size_t index) {
  for (auto stream : program.getBody()->getOps<TileOp>()) {
    if (stream.getTile() != tile)
      continue;
    Block::OpListType &ops = stream.getBody()->getOperations();
    if (index >= ops.size())
      return nullptr;
    return &*std::next(ops.begin(), index);
  }
  return nullptr;
}

/// Reports an error of maia::verifyProgram at the op it is about. Its
/// messages start with "tile <t>, instruction <i> (<mnemonic>): ",
/// "buffer '<name>': " or "stream for tile <t>"; anything else concerns the
/// whole program.
static LogicalResult reportTargetError(ProgramOp program, StringRef message) {
  StringRef rest = message;
  uint32_t tile;
  size_t index;
  if (rest.consume_front("tile ") && !rest.consumeInteger(10, tile) &&
      rest.consume_front(", instruction ") && !rest.consumeInteger(10, index)) {
    size_t end = rest.find("): ");
    if (Operation *op = findInstruction(program, tile, index);
        op && end != StringRef::npos)
      return op->emitOpError(rest.drop_front(end + 3));
  }
  rest = message;
  if (rest.consume_front("buffer '")) {
    auto [name, problem] = rest.split("': ");
    if (auto buffer = program.lookupSymbol<BufferOp>(name))
      return buffer.emitOpError(problem);
  }
  rest = message;
  if (rest.consume_front("stream for tile ") &&
      !rest.consumeInteger(10, tile)) {
    for (auto stream : program.getBody()->getOps<TileOp>())
      if (stream.getTile() == tile)
        return stream.emitOpError(message);
  }
  return program.emitOpError(message);
}

/// Checks the program against the chip of the enclosing module's
/// xfmr.target, if it has one.
static LogicalResult verifyAgainstTarget(ProgramOp program) {
  auto module = program->getParentOfType<ModuleOp>();
  if (!module || !module->hasAttr(kTargetAttrName))
    return success();
  llvm::Expected<TargetModel> target = getAttachedTarget(module);
  if (!target)
    return program.emitOpError("cannot check the program against the "
                               "module's target: ")
           << llvm::toString(target.takeError());
  ExportOptions options;
  options.includeData = false;
  llvm::Expected<Program> exported = exportProgram(program, options);
  if (!exported)
    return emitExportError(exported.takeError(), program);
  if (llvm::Error error = verifyProgram(*exported, *target))
    return reportTargetError(program, llvm::toString(std::move(error)));
  return success();
}

LogicalResult ProgramOp::verifyRegions() {
  if (failed(verifyProgramLayout(*this)))
    return failure();
  return verifyAgainstTarget(*this);
}

//===----------------------------------------------------------------------===//
// BufferOp
//===----------------------------------------------------------------------===//

LogicalResult BufferOp::verify() {
  if (!isValidBufferName(getSymName()))
    return emitOpError("invalid buffer name '")
           << getSymName() << "' (expected [A-Za-z_][A-Za-z0-9_.]*)";
  if (getLevel() == Memory::hbm && getUnit() != 0)
    return emitOpError("HBM buffers have unit 0, not ") << getUnit();
  if (getSize() == 0)
    return emitOpError("size must be at least 1 byte");
  return success();
}

//===----------------------------------------------------------------------===//
// DataOp
//===----------------------------------------------------------------------===//

LogicalResult DataOp::verify() {
  ElementsAttr bytes = getBytesAttr();
  bool fromFile = bool(getFileAttr());
  if (bytes && fromFile)
    return emitOpError("takes its bytes from the IR or from a file, not both");
  if (!bytes && !fromFile)
    return emitOpError("needs bytes, in the IR or from a file");
  if (bytes) {
    if (getFileOffsetAttr() || getFileSizeAttr())
      return emitOpError("file_offset and file_size need a file");
    auto type = dyn_cast<RankedTensorType>(bytes.getShapedType());
    if (!type || type.getRank() != 1 ||
        !type.getElementType().isSignlessInteger(8))
      return emitOpError("bytes must be a 1-D tensor of i8, got ")
             << bytes.getShapedType();
    if (!isa<DenseIntElementsAttr, DenseResourceElementsAttr>(bytes))
      return emitOpError("bytes must be dense<...> or dense_resource<...>");
    return success();
  }
  if (getFile()->empty())
    return emitOpError("file name must not be empty");
  if (!getFileOffsetAttr() || !getFileSizeAttr())
    return emitOpError("a file segment needs file_offset and file_size");
  return success();
}

uint64_t DataOp::getByteCount() {
  if (ElementsAttr bytes = getBytesAttr())
    return bytes.getShapedType().getNumElements();
  return getFileSize().value_or(0);
}

LogicalResult DataOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto buffer =
      symbols.lookupNearestSymbolFrom<BufferOp>(*this, getBufferAttr());
  if (!buffer)
    return emitOpError("names ")
           << getBufferAttr() << ", which is not a buffer of the program";
  uint64_t bytes = getByteCount(), offset = getOffset(),
           size = buffer.getSize();
  if (offset > size || bytes > size - offset)
    return emitOpError() << bytes << " bytes at offset " << offset
                         << " do not fit buffer @" << buffer.getSymName()
                         << " of " << size << " bytes";
  return success();
}

//===----------------------------------------------------------------------===//
// TileOp
//===----------------------------------------------------------------------===//

LogicalResult TileOp::verifyRegions() {
  for (Operation &op : *getBody())
    if (!isa<InstructionOpInterface>(op))
      return op.emitOpError("is not a maia instruction; a maia.tile holds "
                            "only instructions");
  return success();
}

//===----------------------------------------------------------------------===//
// Commands
//===----------------------------------------------------------------------===//

/// The extent elementBytes + sum((counts[d] - 1) * strides[d]) of a DMA, or
/// nothing on overflow.
static std::optional<uint64_t> getDmaSpan(uint64_t elementBytes,
                                          ArrayRef<int64_t> counts,
                                          ArrayRef<int64_t> strides) {
  uint64_t span = elementBytes;
  for (auto [count, stride] : llvm::zip_equal(counts, strides)) {
    uint64_t step;
    if (__builtin_mul_overflow(uint64_t(count) - 1, uint64_t(stride), &step) ||
        __builtin_add_overflow(span, step, &span))
      return std::nullopt;
  }
  return span;
}

LogicalResult DmaOp::verify() {
  if (getElementBytes() == 0)
    return emitOpError("elem must be at least 1 byte");
  uint64_t bytes = getElementBytes();
  for (int64_t count : getCounts()) {
    if (count == 0)
      return emitOpError("every dimension of the shape must be at least 1");
    if (__builtin_mul_overflow(bytes, uint64_t(count), &bytes))
      return emitOpError("the transfer is too large");
  }
  if (!getDmaSpan(getElementBytes(), getCounts(), getSrcStrides()) ||
      !getDmaSpan(getElementBytes(), getCounts(), getDstStrides()))
    return emitOpError("the strides overflow");
  return success();
}

LogicalResult DmaOp::verifySymbolUses(SymbolTableCollection &symbols) {
  OperandChecker checker(*this, symbols);
  BufferOp src = checker.lookup("src", getSrcAttr());
  BufferOp dst = checker.lookup("dst", getDstAttr());
  if (!src || !dst)
    return failure();
  if (failed(checker.checkExtent(
          "src", src, getSrcOffset(),
          *getDmaSpan(getElementBytes(), getCounts(), getSrcStrides()))) ||
      failed(checker.checkExtent(
          "dst", dst, getDstOffset(),
          *getDmaSpan(getElementBytes(), getCounts(), getDstStrides()))))
    return failure();
  if (src.getLevel() == Memory::hbm && dst.getLevel() == Memory::hbm)
    return emitOpError("HBM to HBM copies have no modeled path; stage them "
                       "through CSRAM");
  if (src.getLevel() == Memory::csram && dst.getLevel() == Memory::csram)
    return emitOpError("CSRAM to CSRAM copies have no modeled path; stage "
                       "them through TSRAM");
  if (getMulticast() != 0 && dst.getLevel() != Memory::tsram)
    return emitOpError("multicast needs a TSRAM destination");
  return success();
}

LogicalResult MmOp::verify() {
  return verifyShape(*this, {getM(), getN(), getK()});
}

LogicalResult MmOp::verifySymbolUses(SymbolTableCollection &symbols) {
  OperandChecker checker(*this, symbols);
  return failure(failed(checker.checkTensor("a", getA(), getM(), getK())) ||
                 failed(checker.checkTensor("b", getB(), getN(), getK())) ||
                 failed(checker.checkF32("c", getAccAttr(), getAccOffset(),
                                         uint64_t(getM()) * getN())));
}

LogicalResult VecQuantOp::verify() { return verifyVecRowsLen(*this); }

LogicalResult VecQuantOp::verifySymbolUses(SymbolTableCollection &symbols) {
  OperandChecker checker(*this, symbols);
  return failure(
      failed(checker.checkTensor("dst", getDst(), getRows(), getLen())) ||
      failed(checker.checkF32("src", getSrcAttr(), getSrcOffset(),
                              uint64_t(getRows()) * getLen())));
}

LogicalResult VecDequantOp::verify() { return verifyVecRowsLen(*this); }

LogicalResult VecDequantOp::verifySymbolUses(SymbolTableCollection &symbols) {
  OperandChecker checker(*this, symbols);
  return failure(
      failed(checker.checkF32("dst", getDstAttr(), getDstOffset(),
                              uint64_t(getRows()) * getLen())) ||
      failed(checker.checkTensor("src", getSrc(), getRows(), getLen())));
}

//===----------------------------------------------------------------------===//
// Synchronisation
//===----------------------------------------------------------------------===//

LogicalResult SemSignalOp::verify() {
  if (getSem().getCount() == 0)
    return emitOpError("a signal count must be at least 1");
  return success();
}

LogicalResult SemWaitOp::verify() {
  return verifyWait(*this, getSem(), getExecutingTile());
}

LogicalResult BarrierOp::verify() {
  ArrayRef<int32_t> tiles = getTiles();
  if (tiles.empty())
    return emitOpError("a barrier needs tiles");
  for (size_t i = 1; i < tiles.size(); ++i)
    if (uint32_t(tiles[i]) <= uint32_t(tiles[i - 1]))
      return emitOpError("barrier tiles must be ascending and distinct");
  std::optional<uint32_t> tile = getExecutingTile();
  if (tile && !llvm::is_contained(tiles, int32_t(*tile)))
    return emitOpError("the barrier does not include its own tile ") << *tile;
  return success();
}

LogicalResult HaltOp::verify() {
  if (&getOperation()->getBlock()->back() != getOperation())
    return emitOpError("must be the last instruction of its tile; "
                       "instructions after a halt would never run");
  return success();
}
