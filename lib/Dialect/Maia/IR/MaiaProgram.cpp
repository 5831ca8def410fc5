//===- MaiaProgram.cpp - maia dialect <-> maia::Program -------------------===//
//
// exportProgram walks a maia.program into the C++ structs of ISA.h and
// importProgram builds the ops back, field for field. Buffers are symbols in
// the IR and indices in the C++ program; everything else maps one to one.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Dialect/Maia/IR/MaiaProgram.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mixtile;
using namespace mixtile::maia;

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

char ExportError::ID = 0;

void ExportError::log(llvm::raw_ostream &os) const {
  os << "'" << op->getName() << "' op " << problem;
}

std::error_code ExportError::convertToErrorCode() const {
  return llvm::inconvertibleErrorCode();
}

LogicalResult mixtile::maia::emitExportError(llvm::Error error,
                                             Operation *fallback) {
  llvm::handleAllErrors(
      std::move(error),
      [](const ExportError &e) { e.getOp()->emitOpError(e.getProblem()); },
      [&](const llvm::ErrorInfoBase &e) { fallback->emitError(e.message()); });
  return failure();
}

//===----------------------------------------------------------------------===//
// Export
//===----------------------------------------------------------------------===//

namespace {

class ProgramExporter {
public:
  explicit ProgramExporter(const ExportOptions &options) : options(options) {}

  llvm::Expected<Program> run(ProgramOp op) {
    for (Operation &child : *op.getBody()) {
      llvm::TypeSwitch<Operation *>(&child)
          .Case([&](BufferOp buffer) { exportBuffer(buffer); })
          .Case([&](DataOp data) {
            if (options.includeData)
              exportData(data);
          })
          .Case([&](TileOp tile) { exportTile(tile); })
          .Default([&](Operation *other) {
            fail(other, "does not belong in a maia.program");
          });
      if (failedOp)
        return llvm::make_error<ExportError>(failedOp, problem);
    }
    return std::move(program);
  }

private:
  /// Records the first failure; the exporter stops at the end of the op.
  void fail(Operation *op, const Twine &message) {
    if (failedOp)
      return;
    failedOp = op;
    problem = message.str();
  }

  BufferRef getRef(Operation *op, FlatSymbolRefAttr buffer, uint64_t offset) {
    auto it = bufferIndex.find(buffer.getValue());
    if (it == bufferIndex.end()) {
      fail(op, "names @" + buffer.getValue() +
                   ", which is not a buffer of the program");
      return {};
    }
    return BufferRef{it->second, offset};
  }

  void exportBuffer(BufferOp op) {
    Buffer buffer;
    buffer.name = op.getSymName().str();
    buffer.level = toISA(op.getLevel());
    buffer.unit = op.getUnit();
    buffer.offset = op.getOffset();
    buffer.size = op.getSize();
    buffer.format = *getFloatFormat(op.getFormat());
    std::string name = buffer.name;
    bufferIndex[name] = program.addBuffer(std::move(buffer));
  }

  void exportData(DataOp op) {
    DataSegment segment;
    segment.at = getRef(op, op.getBufferAttr(), op.getOffset());
    if (ElementsAttr bytes = op.getBytesAttr())
      readInline(op, bytes, segment.bytes);
    else
      readFile(op, segment.bytes);
    program.data.push_back(std::move(segment));
  }

  void readInline(DataOp op, ElementsAttr attr, std::vector<uint8_t> &bytes) {
    size_t count = attr.getShapedType().getNumElements();
    if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
      // i8 elements are stored one per byte; a splat stores one.
      ArrayRef<char> raw = dense.getRawData();
      if (dense.isSplat())
        bytes.assign(count, uint8_t(raw.front()));
      else
        bytes.assign(raw.begin(), raw.end());
      return;
    }
    auto resource = cast<DenseResourceElementsAttr>(attr);
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob) {
      fail(op, "has no data for resource '" + resource.getRawHandle().getKey() +
                   "'");
      return;
    }
    ArrayRef<char> data = blob->getData();
    if (data.size() != count) {
      fail(op, "resource '" + resource.getRawHandle().getKey() + "' holds " +
                   Twine(data.size()) + " bytes, not " + Twine(count));
      return;
    }
    bytes.assign(data.begin(), data.end());
  }

  /// A relative name is looked up in the working directory, then in the base
  /// directory (as WeightStore does for model files).
  std::string resolve(StringRef file) const {
    if (llvm::sys::path::is_absolute(file) || options.baseDir.empty() ||
        llvm::sys::fs::exists(file))
      return file.str();
    llvm::SmallString<256> path(options.baseDir);
    llvm::sys::path::append(path, file);
    return std::string(path);
  }

  void readFile(DataOp op, std::vector<uint8_t> &bytes) {
    std::string path = resolve(*op.getFile());
    uint64_t offset = *op.getFileOffset(), size = *op.getFileSize();
    uint64_t fileSize;
    if (std::error_code ec = llvm::sys::fs::file_size(path, fileSize)) {
      fail(op, "cannot read '" + path + "': " + ec.message());
      return;
    }
    // MemoryBuffer zero-fills past the end of the file; a short file is an
    // error, not zeros.
    if (offset > fileSize || size > fileSize - offset) {
      fail(op, "reads bytes [" + Twine(offset) + ", " + Twine(offset + size) +
                   ") of '" + path + "', which has " + Twine(fileSize));
      return;
    }
    auto buffer = llvm::MemoryBuffer::getFileSlice(path, size, offset,
                                                   /*IsVolatile=*/false);
    if (!buffer) {
      fail(op, "cannot read '" + path + "': " + buffer.getError().message());
      return;
    }
    StringRef data = (*buffer)->getBuffer();
    bytes.assign(data.begin(), data.end());
  }

  void exportTile(TileOp op) {
    TileProgram stream;
    stream.tile = op.getTile();
    for (Operation &inst : *op.getBody()) {
      std::optional<Instruction> converted = exportInstruction(&inst);
      if (!converted)
        return fail(&inst, "is not a maia instruction");
      stream.instructions.push_back(std::move(*converted));
    }
    program.tiles.push_back(std::move(stream));
  }

  std::optional<Instruction> exportInstruction(Operation *op) {
    return llvm::TypeSwitch<Operation *, std::optional<Instruction>>(op)
        .Case([&](DmaOp dma) { return convert(dma); })
        .Case([&](MmOp mm) { return convert(mm); })
        .Case<VecAddOp, VecSubOp, VecMulOp, VecDivOp, VecMaxOp>(
            [&](auto vec) { return convertBinary(vec); })
        .Case<VecCopyOp, VecExpOp, VecRsqrtOp, VecSiluOp>(
            [&](auto vec) { return convertUnary(vec); })
        .Case<VecRmaxOp, VecRsumOp, VecRsumsqOp>(
            [&](auto vec) { return convertReduce(vec); })
        .Case([&](VecQuantOp quant) { return convert(quant); })
        .Case([&](VecDequantOp dequant) { return convert(dequant); })
        .Case([&](SemSignalOp signal) {
          return SemSignalInst{getSemRef(signal.getSem()),
                               signal.getSem().getCount()};
        })
        .Case([&](SemWaitOp wait) {
          return SemWaitInst{getSemRef(wait.getSem()),
                             wait.getSem().getCount()};
        })
        .Case([&](BarrierOp barrier) {
          BarrierInst inst;
          for (int32_t tile : barrier.getTiles())
            inst.tiles.push_back(uint32_t(tile));
          return inst;
        })
        .Case([&](HaltOp) { return HaltInst{}; })
        .Default([](Operation *) { return std::nullopt; });
  }

  static SemRef getSemRef(SemAttr sem) {
    return SemRef{sem.getTile(), sem.getId()};
  }

  static Sync getSync(CommandOpInterface op) {
    Sync sync;
    if (ArrayAttr waits = op.getWaitsAttr())
      for (SemAttr sem : waits.getAsRange<SemAttr>())
        sync.waits.push_back(SemWait{getSemRef(sem), sem.getCount()});
    if (SemAttr signal = op.getSignalAttr())
      sync.signal = getSemRef(signal);
    return sync;
  }

  TensorOperand getTensor(Operation *op, TensorAttr attr) {
    TensorOperand tensor;
    tensor.data = getRef(op, attr.getBuffer(), attr.getOffset());
    tensor.format = *getFloatFormat(attr.getFormat());
    tensor.scaleMode = toISA(attr.getScaling());
    tensor.block = attr.getBlock();
    if (attr.getScales())
      tensor.scales = getRef(op, attr.getScales(), attr.getScalesOffset());
    return tensor;
  }

  static std::array<uint64_t, 3> getDims(ArrayRef<int64_t> dims) {
    return {uint64_t(dims[0]), uint64_t(dims[1]), uint64_t(dims[2])};
  }

  DmaInst convert(DmaOp op) {
    DmaInst inst;
    inst.queue = DmaQueue{toISA(op.getQueueKind()), op.getQueue()};
    inst.src = getRef(op, op.getSrcAttr(), op.getSrcOffset());
    inst.dst = getRef(op, op.getDstAttr(), op.getDstOffset());
    inst.elementBytes = op.getElementBytes();
    inst.counts = getDims(op.getCounts());
    inst.srcStrides = getDims(op.getSrcStrides());
    inst.dstStrides = getDims(op.getDstStrides());
    inst.multicast = op.getMulticast();
    inst.sync = getSync(op);
    return inst;
  }

  MatmulInst convert(MmOp op) {
    MatmulInst inst;
    inst.m = op.getM();
    inst.n = op.getN();
    inst.k = op.getK();
    inst.a = getTensor(op, op.getA());
    inst.b = getTensor(op, op.getB());
    inst.acc = getRef(op, op.getAccAttr(), op.getAccOffset());
    inst.accumulate = op.getAccumulate();
    inst.sync = getSync(op);
    return inst;
  }

  template <typename OpT> VecBinaryInst convertBinary(OpT op) {
    VecBinaryInst inst;
    inst.op = OpT::getKind();
    inst.rows = op.getRows();
    inst.len = op.getLen();
    inst.dst = getRef(op, op.getDstAttr(), op.getDstOffset());
    inst.a = getRef(op, op.getAAttr(), op.getAOffset());
    if (FloatAttr scalar = op.getScalarAttr()) {
      inst.broadcast = Broadcast::Scalar;
      inst.scalar = scalar.getValue().convertToFloat();
    } else {
      inst.b = getRef(op, op.getBAttr(), op.getBOffset().value_or(0));
      inst.broadcast = op.getBroadcast() == BroadcastMode::row ? Broadcast::Row
                       : op.getBroadcast() == BroadcastMode::col
                           ? Broadcast::Column
                           : Broadcast::None;
    }
    inst.sync = getSync(op);
    return inst;
  }

  template <typename OpT> VecUnaryInst convertUnary(OpT op) {
    VecUnaryInst inst;
    inst.op = OpT::getKind();
    inst.rows = op.getRows();
    inst.len = op.getLen();
    inst.dst = getRef(op, op.getDstAttr(), op.getDstOffset());
    inst.a = getRef(op, op.getAAttr(), op.getAOffset());
    inst.sync = getSync(op);
    return inst;
  }

  template <typename OpT> VecReduceInst convertReduce(OpT op) {
    VecReduceInst inst;
    inst.op = OpT::getKind();
    inst.rows = op.getRows();
    inst.len = op.getLen();
    inst.dst = getRef(op, op.getDstAttr(), op.getDstOffset());
    inst.a = getRef(op, op.getAAttr(), op.getAOffset());
    inst.sync = getSync(op);
    return inst;
  }

  VecQuantizeInst convert(VecQuantOp op) {
    VecQuantizeInst inst;
    inst.rows = op.getRows();
    inst.len = op.getLen();
    inst.dst = getTensor(op, op.getDst());
    inst.src = getRef(op, op.getSrcAttr(), op.getSrcOffset());
    inst.sync = getSync(op);
    return inst;
  }

  VecDequantizeInst convert(VecDequantOp op) {
    VecDequantizeInst inst;
    inst.rows = op.getRows();
    inst.len = op.getLen();
    inst.dst = getRef(op, op.getDstAttr(), op.getDstOffset());
    inst.src = getTensor(op, op.getSrc());
    inst.sync = getSync(op);
    return inst;
  }

  const ExportOptions &options;
  Program program;
  llvm::StringMap<uint32_t> bufferIndex;
  Operation *failedOp = nullptr;
  std::string problem;
};

} // namespace

llvm::Expected<Program>
mixtile::maia::exportProgram(ProgramOp program, const ExportOptions &options) {
  return ProgramExporter(options).run(program);
}

//===----------------------------------------------------------------------===//
// Import
//===----------------------------------------------------------------------===//

namespace {

class ProgramImporter {
public:
  ProgramImporter(OpBuilder &builder, Location loc, const Program &program)
      : b(builder), loc(loc), program(program) {}

  ProgramOp run() {
    auto op = ProgramOp::create(b, loc);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(op.getBody());
    for (const Buffer &buffer : program.buffers)
      importBuffer(buffer);
    for (const DataSegment &segment : program.data)
      importData(segment);
    for (const TileProgram &stream : program.tiles) {
      auto tile = TileOp::create(b, loc, stream.tile);
      OpBuilder::InsertionGuard tileGuard(b);
      b.setInsertionPointToEnd(tile.getBody());
      for (const Instruction &inst : stream.instructions)
        std::visit([&](const auto &i) { build(i); }, inst);
    }
    return op;
  }

private:
  /// The name of buffer `index`; an index outside the table gets a name no
  /// buffer can have, which the verifier reports as a missing buffer.
  std::string getName(uint32_t index) const {
    if (index < program.buffers.size())
      return program.buffers[index].name;
    return "#" + std::to_string(index);
  }

  FlatSymbolRefAttr getSymbol(const BufferRef &ref) const {
    return FlatSymbolRefAttr::get(b.getContext(), getName(ref.buffer));
  }

  IntegerAttr getU64(uint64_t value) const {
    return b.getIntegerAttr(b.getIntegerType(64, /*isSigned=*/false),
                            APInt(64, value));
  }

  SemAttr getSem(const SemRef &sem, uint32_t count = 1) const {
    return SemAttr::get(b.getContext(), sem.tile, sem.id, count);
  }

  ArrayAttr getWaits(const Sync &sync) const {
    if (sync.waits.empty())
      return nullptr;
    SmallVector<Attribute> waits;
    for (const SemWait &wait : sync.waits)
      waits.push_back(getSem(wait.sem, wait.count));
    return b.getArrayAttr(waits);
  }

  SemAttr getSignal(const Sync &sync) const {
    return sync.signal ? getSem(*sync.signal) : SemAttr();
  }

  TensorAttr getTensor(const TensorOperand &tensor) const {
    bool scaled = tensor.scaleMode != ScaleMode::None;
    return TensorAttr::get(
        b.getContext(), getSymbol(tensor.data), tensor.data.offset,
        getFormatType(b.getContext(), tensor.format), fromISA(tensor.scaleMode),
        hasBlockScales(tensor.scaleMode) ? tensor.block : 0,
        scaled ? getSymbol(tensor.scales) : nullptr,
        scaled ? tensor.scales.offset : 0);
  }

  static SmallVector<int64_t> getDims(const std::array<uint64_t, 3> &dims) {
    return {int64_t(dims[0]), int64_t(dims[1]), int64_t(dims[2])};
  }

  void importBuffer(const Buffer &buffer) {
    BufferOp::create(b, loc, buffer.name, fromISA(buffer.level), buffer.unit,
                     buffer.offset, buffer.size,
                     getFormatType(b.getContext(), buffer.format));
  }

  void importData(const DataSegment &segment) {
    auto type = RankedTensorType::get({int64_t(segment.bytes.size())},
                                      b.getIntegerType(8));
    ArrayRef<int8_t> values(
        reinterpret_cast<const int8_t *>(segment.bytes.data()),
        segment.bytes.size());
    DataOp::create(b, loc, getSymbol(segment.at), getU64(segment.at.offset),
                   DenseElementsAttr::get(type, values), StringAttr(),
                   IntegerAttr(), IntegerAttr());
  }

  void build(const DmaInst &i) {
    DmaOp::create(b, loc, fromISA(i.queue.kind), i.queue.index,
                  getName(i.src.buffer), i.src.offset, getName(i.dst.buffer),
                  i.dst.offset, i.elementBytes, getDims(i.counts),
                  getDims(i.srcStrides), getDims(i.dstStrides), i.multicast,
                  getWaits(i.sync), getSignal(i.sync));
  }

  void build(const MatmulInst &i) {
    MmOp::create(b, loc, i.m, i.n, i.k, getTensor(i.a), getTensor(i.b),
                 getName(i.acc.buffer), i.acc.offset, i.accumulate,
                 getWaits(i.sync), getSignal(i.sync));
  }

  template <typename OpT> void buildBinary(const VecBinaryInst &i) {
    bool scalar = i.broadcast == Broadcast::Scalar;
    BroadcastMode broadcast = i.broadcast == Broadcast::Row ? BroadcastMode::row
                              : i.broadcast == Broadcast::Column
                                  ? BroadcastMode::col
                                  : BroadcastMode::none;
    OpT::create(b, loc, i.rows, i.len, getName(i.dst.buffer), i.dst.offset,
                getName(i.a.buffer), i.a.offset,
                scalar ? FlatSymbolRefAttr() : getSymbol(i.b),
                scalar ? IntegerAttr() : getU64(i.b.offset), broadcast,
                scalar ? b.getF32FloatAttr(i.scalar) : FloatAttr(),
                getWaits(i.sync), getSignal(i.sync));
  }

  void build(const VecBinaryInst &i) {
    switch (i.op) {
    case VecBinaryOp::Add:
      return buildBinary<VecAddOp>(i);
    case VecBinaryOp::Sub:
      return buildBinary<VecSubOp>(i);
    case VecBinaryOp::Mul:
      return buildBinary<VecMulOp>(i);
    case VecBinaryOp::Div:
      return buildBinary<VecDivOp>(i);
    case VecBinaryOp::Max:
      return buildBinary<VecMaxOp>(i);
    }
  }

  /// Unary ops and reductions share their fields.
  template <typename OpT, typename InstT> void buildRowOp(const InstT &i) {
    OpT::create(b, loc, i.rows, i.len, getName(i.dst.buffer), i.dst.offset,
                getName(i.a.buffer), i.a.offset, getWaits(i.sync),
                getSignal(i.sync));
  }

  void build(const VecUnaryInst &i) {
    switch (i.op) {
    case VecUnaryOp::Copy:
      return buildRowOp<VecCopyOp>(i);
    case VecUnaryOp::Exp:
      return buildRowOp<VecExpOp>(i);
    case VecUnaryOp::Rsqrt:
      return buildRowOp<VecRsqrtOp>(i);
    case VecUnaryOp::Silu:
      return buildRowOp<VecSiluOp>(i);
    }
  }

  void build(const VecReduceInst &i) {
    switch (i.op) {
    case VecReduceOp::Max:
      return buildRowOp<VecRmaxOp>(i);
    case VecReduceOp::Sum:
      return buildRowOp<VecRsumOp>(i);
    case VecReduceOp::SumSquares:
      return buildRowOp<VecRsumsqOp>(i);
    }
  }

  void build(const VecQuantizeInst &i) {
    VecQuantOp::create(b, loc, i.rows, i.len, getTensor(i.dst),
                       getName(i.src.buffer), i.src.offset, getWaits(i.sync),
                       getSignal(i.sync));
  }

  void build(const VecDequantizeInst &i) {
    VecDequantOp::create(b, loc, i.rows, i.len, getName(i.dst.buffer),
                         i.dst.offset, getTensor(i.src), getWaits(i.sync),
                         getSignal(i.sync));
  }

  void build(const SemSignalInst &i) {
    SemSignalOp::create(b, loc, getSem(i.sem, i.count));
  }

  void build(const SemWaitInst &i) {
    SemWaitOp::create(b, loc, getSem(i.sem, i.count));
  }

  void build(const BarrierInst &i) {
    SmallVector<int32_t> tiles;
    for (uint32_t tile : i.tiles)
      tiles.push_back(int32_t(tile));
    BarrierOp::create(b, loc, tiles);
  }

  void build(const HaltInst &) { HaltOp::create(b, loc); }

  OpBuilder &b;
  Location loc;
  const Program &program;
};

} // namespace

ProgramOp mixtile::maia::importProgram(OpBuilder &builder, Location loc,
                                       const Program &program) {
  // Translations get a context where the dialect is registered, not loaded.
  builder.getContext()->getOrLoadDialect<MaiaDialect>();
  return ProgramImporter(builder, loc, program).run();
}
