//===- Binary.cpp - Maia programs as little-endian binaries ---------------===//
//
// The .mbin format of docs/MaiaISA.md ("Binary encoding"): a 24-byte header
// (magic, version, section count, file size, CRC-32 of everything after the
// header), a section table, and four sections: strings, buffers, data
// segments and code. Instructions are length-prefixed records with fixed
// payload layouts per opcode.
//
// The decoder trusts nothing: every read is bounds-checked, every count is
// compared with the bytes left before anything is allocated, every enum and
// reserved field is checked, and the result must pass verifyStructure.
//
//===----------------------------------------------------------------------===//

#include "ISAInternal.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/Endian.h"

#include <cstring>
#include <iterator>

using namespace mixtile;
using namespace mixtile::maia;
using llvm::ArrayRef;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

constexpr size_t kHeaderBytes = 24;
constexpr size_t kSectionEntryBytes = 24;
constexpr size_t kBufferRecordBytes = 32;
constexpr size_t kInstructionHeaderBytes = 8;

enum SectionKind : uint32_t {
  kStrings = 1,
  kBuffers = 2,
  kData = 3,
  kCode = 4,
};
constexpr uint32_t kNumSectionKinds = 4;

enum Opcode : uint8_t {
  kDma = 1,
  kMatmul = 2,
  kVecBinary = 3,
  kVecUnary = 4,
  kVecReduce = 5,
  kVecQuantize = 6,
  kVecDequantize = 7,
  kSemSignal = 8,
  kSemWait = 9,
  kBarrier = 10,
  kHalt = 11,
};

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

class Writer {
public:
  std::vector<uint8_t> bytes;

  void u8(uint8_t v) { bytes.push_back(v); }
  void u16(uint16_t v) { append(v); }
  void u32(uint32_t v) { append(v); }
  void u64(uint64_t v) { append(v); }
  void raw(ArrayRef<uint8_t> data) {
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  void patch32(size_t at, uint32_t v) {
    llvm::support::endian::write32le(bytes.data() + at, v);
  }
  void patch64(size_t at, uint64_t v) {
    llvm::support::endian::write64le(bytes.data() + at, v);
  }

  void ref(const BufferRef &r) {
    u32(r.buffer);
    u64(r.offset);
  }
  void sem(const SemRef &s) {
    u32(s.tile);
    u32(s.id);
  }
  void tensor(const TensorOperand &t) {
    ref(t.data);
    u8(uint8_t(t.format));
    u8(uint8_t(t.scaleMode));
    u16(0);
    u32(t.block);
    ref(t.scales);
  }
  void sync(const Sync &s) {
    u8(s.signal ? 1 : 0);
    u8(0);
    u16(0);
    u32(uint32_t(s.waits.size()));
    sem(s.signal.value_or(SemRef{}));
    for (const SemWait &w : s.waits) {
      sem(w.sem);
      u32(w.count);
    }
  }

private:
  template <typename T> void append(T v) {
    uint8_t buffer[sizeof(T)];
    llvm::support::endian::write<T, llvm::endianness::little>(buffer, v);
    bytes.insert(bytes.end(), buffer, buffer + sizeof(T));
  }
};

/// Writes instruction payloads; the record header is written around them.
struct PayloadWriter {
  Writer &w;

  uint8_t operator()(const DmaInst &i) {
    w.u8(uint8_t(i.queue.kind));
    w.u8(0);
    w.u16(0);
    w.u32(i.queue.index);
    w.ref(i.src);
    w.ref(i.dst);
    w.u32(i.elementBytes);
    w.u32(i.multicast);
    for (const auto *dims : {&i.counts, &i.srcStrides, &i.dstStrides})
      for (uint64_t v : *dims)
        w.u64(v);
    w.sync(i.sync);
    return 0;
  }
  uint8_t operator()(const MatmulInst &i) {
    w.u32(i.m);
    w.u32(i.n);
    w.u32(i.k);
    w.u8(i.accumulate ? 1 : 0);
    w.u8(0);
    w.u16(0);
    w.tensor(i.a);
    w.tensor(i.b);
    w.ref(i.acc);
    w.sync(i.sync);
    return 0;
  }
  uint8_t operator()(const VecBinaryInst &i) {
    w.u32(i.rows);
    w.u32(i.len);
    w.u8(uint8_t(i.broadcast));
    w.u8(0);
    w.u16(0);
    w.u32(numerics::floatBits(i.scalar));
    w.ref(i.dst);
    w.ref(i.a);
    w.ref(i.b);
    w.sync(i.sync);
    return uint8_t(i.op);
  }
  uint8_t operator()(const VecUnaryInst &i) {
    w.u32(i.rows);
    w.u32(i.len);
    w.ref(i.dst);
    w.ref(i.a);
    w.sync(i.sync);
    return uint8_t(i.op);
  }
  uint8_t operator()(const VecReduceInst &i) {
    w.u32(i.rows);
    w.u32(i.len);
    w.ref(i.dst);
    w.ref(i.a);
    w.sync(i.sync);
    return uint8_t(i.op);
  }
  uint8_t operator()(const VecQuantizeInst &i) {
    w.u32(i.rows);
    w.u32(i.len);
    w.tensor(i.dst);
    w.ref(i.src);
    w.sync(i.sync);
    return 0;
  }
  uint8_t operator()(const VecDequantizeInst &i) {
    w.u32(i.rows);
    w.u32(i.len);
    w.ref(i.dst);
    w.tensor(i.src);
    w.sync(i.sync);
    return 0;
  }
  uint8_t operator()(const SemSignalInst &i) {
    w.sem(i.sem);
    w.u32(i.count);
    return 0;
  }
  uint8_t operator()(const SemWaitInst &i) {
    w.sem(i.sem);
    w.u32(i.count);
    return 0;
  }
  uint8_t operator()(const BarrierInst &i) {
    w.u32(uint32_t(i.tiles.size()));
    for (uint32_t t : i.tiles)
      w.u32(t);
    return 0;
  }
  uint8_t operator()(const HaltInst &) { return 0; }
};

/// Opcodes in the order of the Instruction variant's alternatives.
constexpr Opcode kOpcodeOfAlternative[] = {
    kDma,           kMatmul,    kVecBinary, kVecUnary, kVecReduce, kVecQuantize,
    kVecDequantize, kSemSignal, kSemWait,   kBarrier,  kHalt};
static_assert(std::size(kOpcodeOfAlternative) ==
                  std::variant_size_v<Instruction>,
              "one opcode per instruction kind");

void writeInstruction(Writer &w, const Instruction &inst) {
  size_t header = w.bytes.size();
  w.u8(kOpcodeOfAlternative[inst.index()]);
  w.u8(0); // The sub-opcode, patched below.
  w.u16(0);
  w.u32(0); // The payload length, patched below.
  uint8_t subOpcode = std::visit(PayloadWriter{w}, inst);
  w.bytes[header + 1] = subOpcode;
  w.patch32(header + 4,
            uint32_t(w.bytes.size() - header - kInstructionHeaderBytes));
}

} // namespace

std::vector<uint8_t> mixtile::maia::encodeBinary(const Program &program) {
  // Sections first, then the file around them.
  Writer strings, buffers, data, code;
  buffers.u32(uint32_t(program.buffers.size()));
  buffers.u32(0);
  for (const Buffer &b : program.buffers) {
    buffers.u32(uint32_t(strings.bytes.size()));
    buffers.u32(uint32_t(b.name.size()));
    strings.raw(ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(b.name.data()), b.name.size()));
    buffers.u8(uint8_t(b.level));
    buffers.u8(uint8_t(b.format));
    buffers.u16(0);
    buffers.u32(b.unit);
    buffers.u64(b.offset);
    buffers.u64(b.size);
  }
  data.u32(uint32_t(program.data.size()));
  data.u32(0);
  for (const DataSegment &segment : program.data) {
    data.ref(segment.at);
    data.u32(0);
    data.u64(segment.bytes.size());
    data.raw(segment.bytes);
  }
  code.u32(uint32_t(program.tiles.size()));
  code.u32(0);
  for (const TileProgram &stream : program.tiles) {
    code.u32(stream.tile);
    code.u32(uint32_t(stream.instructions.size()));
    for (const Instruction &inst : stream.instructions)
      writeInstruction(code, inst);
  }

  const Writer *sections[] = {&strings, &buffers, &data, &code};
  Writer file;
  file.raw(ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(kBinaryMagic),
                             sizeof(kBinaryMagic)));
  file.u16(kBinaryVersion);
  file.u16(kNumSectionKinds);
  file.u64(0); // File size, patched below.
  file.u32(0); // CRC-32, patched below.
  file.u32(0);
  uint64_t offset = kHeaderBytes + kNumSectionKinds * kSectionEntryBytes;
  for (uint32_t kind = 1; kind <= kNumSectionKinds; ++kind) {
    uint64_t size = sections[kind - 1]->bytes.size();
    file.u32(kind);
    file.u32(0);
    file.u64(offset);
    file.u64(size);
    offset += size;
  }
  for (const Writer *section : sections)
    file.raw(section->bytes);
  file.patch64(8, file.bytes.size());
  file.patch32(
      16, llvm::crc32(ArrayRef<uint8_t>(file.bytes).drop_front(kHeaderBytes)));
  return std::move(file.bytes);
}

bool mixtile::maia::isBinary(ArrayRef<uint8_t> bytes) {
  return bytes.size() >= sizeof(kBinaryMagic) &&
         std::memcmp(bytes.data(), kBinaryMagic, sizeof(kBinaryMagic)) == 0;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// A bounds-checked cursor over one section. After the first failure every
/// read returns 0 and `failed()` stays true; the first message is kept.
class Reader {
public:
  Reader(ArrayRef<uint8_t> bytes, uint64_t base, std::string &error,
         uint64_t &errorOffset)
      : bytes(bytes), base(base), error(error), errorOffset(errorOffset) {}

  bool failed() const { return !error.empty(); }
  uint64_t remaining() const { return bytes.size() - pos; }
  uint64_t offset() const { return base + pos; }

  void fail(const Twine &message) { failAt(offset(), message); }
  void failAt(uint64_t at, const Twine &message) {
    if (error.empty()) {
      error = message.str();
      errorOffset = at;
    }
  }

  uint8_t u8() { return read<uint8_t>(); }
  uint16_t u16() { return read<uint16_t>(); }
  uint32_t u32() { return read<uint32_t>(); }
  uint64_t u64() { return read<uint64_t>(); }

  ArrayRef<uint8_t> raw(uint64_t n) {
    if (failed())
      return {};
    if (n > remaining()) {
      fail("truncated: " + Twine(n) + " bytes needed, " + Twine(remaining()) +
           " left");
      return {};
    }
    ArrayRef<uint8_t> result = bytes.slice(pos, n);
    pos += n;
    return result;
  }

  /// Reads a reserved field, which must be zero.
  template <typename T> void reserved() {
    uint64_t at = offset();
    if (read<T>() != 0)
      failAt(at, "reserved field is not zero");
  }

  /// Reads an enum stored in one byte, which must be at most `max`.
  template <typename E> E enumeration(uint8_t max, StringRef what) {
    uint64_t at = offset();
    uint8_t v = u8();
    if (v > max)
      failAt(at, "bad " + what + " " + Twine(unsigned(v)));
    return failed() ? E(0) : E(v);
  }

  bool flag(StringRef what) {
    uint64_t at = offset();
    uint8_t v = u8();
    if (v > 1)
      failAt(at, "bad " + what + " " + Twine(unsigned(v)) + " (0 or 1)");
    return v == 1;
  }

  /// Checks that `count` records of at least `minBytes` each can fit in what
  /// is left, before anything is allocated for them.
  bool checkCount(uint64_t count, uint64_t minBytes, StringRef what) {
    if (failed())
      return false;
    if (minBytes != 0 && count > remaining() / minBytes) {
      fail("truncated: " + Twine(count) + " " + what + " cannot fit in " +
           Twine(remaining()) + " bytes");
      return false;
    }
    return true;
  }

  BufferRef ref() {
    BufferRef r;
    r.buffer = u32();
    r.offset = u64();
    return r;
  }
  SemRef sem() {
    SemRef s;
    s.tile = u32();
    s.id = u32();
    return s;
  }
  TensorOperand tensor() {
    TensorOperand t;
    t.data = ref();
    t.format = enumeration<FloatFormat>(
        uint8_t(std::size(numerics::kAllFloatFormats) - 1), "element format");
    t.scaleMode =
        enumeration<ScaleMode>(uint8_t(ScaleMode::NVFP4Rows), "scale mode");
    reserved<uint16_t>();
    t.block = u32();
    t.scales = ref();
    return t;
  }
  Sync sync() {
    Sync s;
    bool hasSignal = flag("signal flag");
    reserved<uint8_t>();
    reserved<uint16_t>();
    uint32_t waits = u32();
    SemRef signal = sem();
    if (hasSignal)
      s.signal = signal;
    else if (signal.tile != 0 || signal.id != 0)
      fail("an absent signal must be zero");
    if (!checkCount(waits, 12, "waits"))
      return s;
    for (uint32_t i = 0; i < waits && !failed(); ++i) {
      SemWait w;
      w.sem = sem();
      w.count = u32();
      s.waits.push_back(w);
    }
    return s;
  }

private:
  template <typename T> T read() {
    if (failed())
      return 0;
    if (sizeof(T) > remaining()) {
      fail("truncated: " + Twine(sizeof(T)) + " bytes needed, " +
           Twine(remaining()) + " left");
      return 0;
    }
    T v = llvm::support::endian::read<T, llvm::endianness::little>(
        bytes.data() + pos);
    pos += sizeof(T);
    return v;
  }

  ArrayRef<uint8_t> bytes;
  uint64_t base;
  uint64_t pos = 0;
  std::string &error;
  uint64_t &errorOffset;
};

/// Reads instruction payloads.
class InstructionReader {
public:
  explicit InstructionReader(Reader &r) : r(r) {}

  std::optional<Instruction> read(uint8_t opcode, uint8_t subOpcode,
                                  uint64_t opcodeAt) {
    if (opcode < kDma || opcode > kHalt) {
      r.failAt(opcodeAt, "bad opcode " + Twine(unsigned(opcode)));
      return std::nullopt;
    }
    if (opcode != kVecBinary && opcode != kVecUnary && opcode != kVecReduce &&
        subOpcode != 0) {
      r.failAt(opcodeAt + 1, "reserved field is not zero");
      return std::nullopt;
    }
    switch (opcode) {
    case kDma:
      return Instruction(dma());
    case kMatmul:
      return Instruction(matmul());
    case kVecBinary:
      if (subOpcode > uint8_t(VecBinaryOp::Max))
        break;
      return Instruction(binary(VecBinaryOp(subOpcode)));
    case kVecUnary:
      if (subOpcode > uint8_t(VecUnaryOp::Silu))
        break;
      return Instruction(unary(VecUnaryOp(subOpcode)));
    case kVecReduce:
      if (subOpcode > uint8_t(VecReduceOp::SumSquares))
        break;
      return Instruction(reduce(VecReduceOp(subOpcode)));
    case kVecQuantize:
      return Instruction(quantize());
    case kVecDequantize:
      return Instruction(dequantize());
    case kSemSignal: {
      SemSignalInst i;
      i.sem = r.sem();
      i.count = r.u32();
      return Instruction(i);
    }
    case kSemWait: {
      SemWaitInst i;
      i.sem = r.sem();
      i.count = r.u32();
      return Instruction(i);
    }
    case kBarrier:
      return Instruction(barrier());
    case kHalt:
      return Instruction(HaltInst());
    default:
      break;
    }
    r.failAt(opcodeAt + 1, "bad vector operation " +
                               Twine(unsigned(subOpcode)) + " for opcode " +
                               Twine(unsigned(opcode)));
    return std::nullopt;
  }

private:
  DmaInst dma() {
    DmaInst i;
    i.queue.kind = r.enumeration<DmaQueue::Kind>(
        uint8_t(DmaQueue::Kind::Cluster), "queue kind");
    r.reserved<uint8_t>();
    r.reserved<uint16_t>();
    i.queue.index = r.u32();
    i.src = r.ref();
    i.dst = r.ref();
    i.elementBytes = r.u32();
    i.multicast = r.u32();
    for (auto *dims : {&i.counts, &i.srcStrides, &i.dstStrides})
      for (uint64_t &v : *dims)
        v = r.u64();
    i.sync = r.sync();
    return i;
  }

  MatmulInst matmul() {
    MatmulInst i;
    i.m = r.u32();
    i.n = r.u32();
    i.k = r.u32();
    i.accumulate = r.flag("accumulate flag");
    r.reserved<uint8_t>();
    r.reserved<uint16_t>();
    i.a = r.tensor();
    i.b = r.tensor();
    i.acc = r.ref();
    i.sync = r.sync();
    return i;
  }

  VecBinaryInst binary(VecBinaryOp op) {
    VecBinaryInst i;
    i.op = op;
    i.rows = r.u32();
    i.len = r.u32();
    i.broadcast =
        r.enumeration<Broadcast>(uint8_t(Broadcast::Scalar), "broadcast");
    r.reserved<uint8_t>();
    r.reserved<uint16_t>();
    i.scalar = numerics::floatFromBits(r.u32());
    i.dst = r.ref();
    i.a = r.ref();
    i.b = r.ref();
    i.sync = r.sync();
    return i;
  }

  VecUnaryInst unary(VecUnaryOp op) {
    VecUnaryInst i;
    i.op = op;
    i.rows = r.u32();
    i.len = r.u32();
    i.dst = r.ref();
    i.a = r.ref();
    i.sync = r.sync();
    return i;
  }

  VecReduceInst reduce(VecReduceOp op) {
    VecReduceInst i;
    i.op = op;
    i.rows = r.u32();
    i.len = r.u32();
    i.dst = r.ref();
    i.a = r.ref();
    i.sync = r.sync();
    return i;
  }

  VecQuantizeInst quantize() {
    VecQuantizeInst i;
    i.rows = r.u32();
    i.len = r.u32();
    i.dst = r.tensor();
    i.src = r.ref();
    i.sync = r.sync();
    return i;
  }

  VecDequantizeInst dequantize() {
    VecDequantizeInst i;
    i.rows = r.u32();
    i.len = r.u32();
    i.dst = r.ref();
    i.src = r.tensor();
    i.sync = r.sync();
    return i;
  }

  BarrierInst barrier() {
    BarrierInst i;
    uint32_t count = r.u32();
    if (!r.checkCount(count, 4, "barrier tiles"))
      return i;
    for (uint32_t t = 0; t < count && !r.failed(); ++t)
      i.tiles.push_back(r.u32());
    return i;
  }

  Reader &r;
};

class Decoder {
public:
  Decoder(ArrayRef<uint8_t> bytes, StringRef sourceName)
      : bytes(bytes), sourceName(sourceName) {}

  Expected<Program> decode() {
    if (!decodeFile())
      return makeError();
    if (llvm::Error error = verifyStructure(program))
      return llvm::createStringError(sourceName + ": invalid program: " +
                                     llvm::toString(std::move(error)));
    return std::move(program);
  }

private:
  llvm::Error makeError() const {
    return llvm::createStringError(sourceName + ": " + error + " (at byte " +
                                   Twine(errorOffset) + ")");
  }

  bool fail(uint64_t at, const Twine &message) {
    if (error.empty()) {
      error = message.str();
      errorOffset = at;
    }
    return false;
  }

  bool decodeFile();
  bool readSectionTable(Reader &header, uint16_t count);
  bool decodeBuffers(Reader &r);
  bool decodeData(Reader &r);
  bool decodeCode(Reader &r);

  Reader section(uint32_t kind) {
    auto [offset, size] = sections[kind - 1];
    return Reader(bytes.slice(offset, size), offset, error, errorOffset);
  }

  ArrayRef<uint8_t> bytes;
  StringRef sourceName;
  std::string error;
  uint64_t errorOffset = 0;
  /// Offset and size of each section, by kind - 1.
  std::pair<uint64_t, uint64_t> sections[kNumSectionKinds] = {};
  ArrayRef<uint8_t> strings;
  Program program;
};

bool Decoder::decodeFile() {
  if (bytes.size() < kHeaderBytes)
    return fail(bytes.size(), "truncated: " + Twine(bytes.size()) +
                                  " bytes, less than the " +
                                  Twine(kHeaderBytes) + "-byte header");
  if (!isBinary(bytes))
    return fail(0, "bad magic: not a Maia binary (expected \"MAIA\")");
  Reader header(bytes.take_front(kHeaderBytes), 0, error, errorOffset);
  (void)header.raw(4); // The magic, checked above.
  uint16_t version = header.u16();
  if (version != kBinaryVersion)
    return fail(4, "unsupported version " + Twine(version) + " (expected " +
                       Twine(kBinaryVersion) + ")");
  uint16_t sectionCount = header.u16();
  uint64_t fileSize = header.u64();
  if (fileSize != bytes.size())
    return fail(8, (fileSize > bytes.size() ? "truncated: " : "") +
                       Twine("the header says ") + Twine(fileSize) +
                       " bytes but the input has " + Twine(bytes.size()));
  uint32_t crc = header.u32();
  uint32_t actual = llvm::crc32(bytes.drop_front(kHeaderBytes));
  if (crc != actual)
    return fail(16, "checksum mismatch: the header says 0x" +
                        llvm::utohexstr(crc, /*LowerCase=*/false, 8) +
                        ", the contents give 0x" +
                        llvm::utohexstr(actual, /*LowerCase=*/false, 8) +
                        " (corrupted file)");
  header.reserved<uint32_t>();
  Reader table(bytes.drop_front(kHeaderBytes), kHeaderBytes, error,
               errorOffset);
  if (header.failed() || !readSectionTable(table, sectionCount))
    return false;
  Reader strs = section(kStrings);
  strings = strs.raw(strs.remaining());
  Reader bufs = section(kBuffers), data = section(kData), code = section(kCode);
  return decodeBuffers(bufs) && decodeData(data) && decodeCode(code);
}

bool Decoder::readSectionTable(Reader &table, uint16_t count) {
  if (count != kNumSectionKinds)
    return fail(6, "expected " + Twine(kNumSectionKinds) + " sections, got " +
                       Twine(count));
  // Sections follow the table in kind order, back to back, and end with the
  // file: every program has exactly one encoding.
  uint64_t expected = kHeaderBytes + count * kSectionEntryBytes;
  for (uint16_t i = 0; i < count; ++i) {
    uint64_t at = table.offset();
    uint32_t kind = table.u32();
    table.reserved<uint32_t>();
    uint64_t offset = table.u64(), size = table.u64();
    if (table.failed())
      return false;
    if (kind != uint32_t(i) + 1)
      return fail(at, "section " + Twine(i) + " has kind " + Twine(kind) +
                          ", expected " + Twine(i + 1));
    if (offset != expected)
      return fail(at + 8, "section " + Twine(kind) + " starts at byte " +
                              Twine(offset) + ", expected " + Twine(expected));
    if (size > bytes.size() - offset)
      return fail(at + 16, "section " + Twine(kind) + " of " + Twine(size) +
                               " bytes runs past the end of the file");
    sections[i] = {offset, size};
    expected = offset + size;
  }
  if (expected != bytes.size())
    return fail(expected, Twine(bytes.size() - expected) +
                              " stray bytes after the last section");
  return true;
}

bool Decoder::decodeBuffers(Reader &r) {
  uint32_t count = r.u32();
  r.reserved<uint32_t>();
  if (!r.checkCount(count, kBufferRecordBytes, "buffers"))
    return false;
  uint64_t namesEnd = 0;
  for (uint32_t i = 0; i < count && !r.failed(); ++i) {
    uint64_t at = r.offset();
    uint32_t nameOffset = r.u32(), nameSize = r.u32();
    Buffer b;
    b.level =
        r.enumeration<MemoryLevel>(uint8_t(MemoryLevel::TSRAM), "memory level");
    b.format = r.enumeration<FloatFormat>(
        uint8_t(std::size(numerics::kAllFloatFormats) - 1), "element format");
    r.reserved<uint16_t>();
    b.unit = r.u32();
    b.offset = r.u64();
    b.size = r.u64();
    if (r.failed())
      return false;
    // Names are stored back to back in buffer order.
    if (nameOffset != namesEnd)
      return fail(at, "buffer name starts at string " + Twine(nameOffset) +
                          ", expected " + Twine(namesEnd));
    if (nameSize > strings.size() - nameOffset)
      return fail(at + 4, "buffer name of " + Twine(nameSize) +
                              " bytes runs past the string section");
    namesEnd += nameSize;
    b.name.assign(reinterpret_cast<const char *>(strings.data()) + nameOffset,
                  nameSize);
    program.buffers.push_back(std::move(b));
  }
  if (!r.failed() && r.remaining() != 0)
    r.fail(Twine(r.remaining()) + " stray bytes after the buffers");
  if (!r.failed() && namesEnd != strings.size())
    return fail(sections[kStrings - 1].first + namesEnd,
                Twine(strings.size() - namesEnd) +
                    " stray bytes after the buffer names");
  return !r.failed();
}

bool Decoder::decodeData(Reader &r) {
  uint32_t count = r.u32();
  r.reserved<uint32_t>();
  if (!r.checkCount(count, 24, "data segments"))
    return false;
  for (uint32_t i = 0; i < count && !r.failed(); ++i) {
    DataSegment segment;
    segment.at = r.ref();
    r.reserved<uint32_t>();
    uint64_t size = r.u64();
    ArrayRef<uint8_t> payload = r.raw(size);
    segment.bytes.assign(payload.begin(), payload.end());
    program.data.push_back(std::move(segment));
  }
  if (!r.failed() && r.remaining() != 0)
    r.fail(Twine(r.remaining()) + " stray bytes after the data segments");
  return !r.failed();
}

bool Decoder::decodeCode(Reader &r) {
  uint32_t streams = r.u32();
  r.reserved<uint32_t>();
  if (!r.checkCount(streams, 8, "tile streams"))
    return false;
  for (uint32_t s = 0; s < streams && !r.failed(); ++s) {
    TileProgram stream;
    stream.tile = r.u32();
    uint32_t count = r.u32();
    if (!r.checkCount(count, kInstructionHeaderBytes, "instructions"))
      return false;
    for (uint32_t n = 0; n < count && !r.failed(); ++n) {
      uint64_t at = r.offset();
      uint8_t opcode = r.u8(), subOpcode = r.u8();
      r.reserved<uint16_t>();
      uint32_t length = r.u32();
      Reader payload(r.raw(length), at + kInstructionHeaderBytes, error,
                     errorOffset);
      if (r.failed())
        return false;
      std::optional<Instruction> inst =
          InstructionReader(payload).read(opcode, subOpcode, at);
      if (!payload.failed() && payload.remaining() != 0)
        payload.fail("instruction record of opcode " + Twine(unsigned(opcode)) +
                     " has " + Twine(payload.remaining()) + " stray bytes");
      if (payload.failed() || !inst)
        return false;
      stream.instructions.push_back(std::move(*inst));
    }
    program.tiles.push_back(std::move(stream));
  }
  if (!r.failed() && r.remaining() != 0)
    r.fail(Twine(r.remaining()) + " stray bytes after the code");
  return !r.failed();
}

} // namespace

Expected<Program> mixtile::maia::decodeBinary(ArrayRef<uint8_t> bytes,
                                              StringRef sourceName) {
  return Decoder(bytes, sourceName).decode();
}
