//===- AsmPrinter.cpp - Maia programs as text -----------------------------===//
//
// Prints the assembly syntax of docs/MaiaISA.md: buffers, then data segments,
// then one section per tile stream. Every field that differs from its
// parser default is printed, and floats are printed with the fewest digits
// that read back to the same bits, so that printing a parsed program
// reproduces its text.
//
//===----------------------------------------------------------------------===//

#include "ISAInternal.h"

#include "llvm/Support/Format.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mixtile;
using namespace mixtile::maia;
using llvm::raw_ostream;

namespace {

class AsmPrinter {
public:
  AsmPrinter(const Program &program, raw_ostream &os)
      : program(program), os(os) {}

  void print() {
    os << "# Maia program (buffers: " << program.buffers.size()
       << ", data segments: " << program.data.size()
       << ", tile streams: " << program.tiles.size() << ")\n";
    for (const Buffer &buffer : program.buffers)
      printBuffer(buffer);
    for (const DataSegment &segment : program.data)
      printData(segment);
    for (const TileProgram &stream : program.tiles) {
      os << "\n.tile " << stream.tile << "\n";
      for (const Instruction &inst : stream.instructions) {
        os << "  " << getMnemonic(inst);
        std::visit([this](const auto &i) { printFields(i); }, inst);
        if (const Sync *sync = getSync(inst))
          printSync(*sync);
        os << "\n";
      }
    }
  }

private:
  void printBuffer(const Buffer &buffer) {
    os << ".buffer " << buffer.name << " " << getMemoryLevelName(buffer.level);
    if (buffer.level != MemoryLevel::HBM)
      os << "[" << buffer.unit << "]";
    os << " offset=" << buffer.offset << " size=" << buffer.size
       << " type=" << formatName(buffer.format) << "\n";
  }

  void printData(const DataSegment &segment) {
    os << ".data ";
    printRef(segment.at);
    os << " \"";
    for (uint8_t byte : segment.bytes)
      os << llvm::format_hex_no_prefix(byte, 2);
    os << "\"\n";
  }

  static llvm::StringRef formatName(FloatFormat format) {
    std::string_view name = numerics::getFormatInfo(format).name;
    return llvm::StringRef(name.data(), name.size());
  }

  void printRef(const BufferRef &ref) {
    if (ref.buffer < program.buffers.size())
      os << "%" << program.buffers[ref.buffer].name;
    else // Only for programs that fail verifyStructure.
      os << "%<invalid buffer #" << ref.buffer << ">";
    if (ref.offset != 0)
      os << "+" << ref.offset;
  }

  void printField(llvm::StringRef key, const BufferRef &ref) {
    os << " " << key << "=";
    printRef(ref);
  }

  void printField(llvm::StringRef key, uint64_t value) {
    os << " " << key << "=" << value;
  }

  void printTensor(llvm::StringRef key, const TensorOperand &t) {
    printField(key, t.data);
    os << ":" << formatName(t.format);
    if (t.scaleMode == ScaleMode::None)
      return;
    os << " " << key << ".scale=" << getScaleModeName(t.scaleMode);
    if (hasBlockScales(t.scaleMode))
      os << "/" << t.block;
    os << ":";
    printRef(t.scales);
  }

  void printSem(const SemRef &sem, uint32_t count) {
    os << "t" << sem.tile << ".s" << sem.id;
    if (count != 1)
      os << ":" << count;
  }

  void printSync(const Sync &sync) {
    if (!sync.waits.empty()) {
      os << " wait=[";
      for (size_t i = 0; i < sync.waits.size(); ++i) {
        if (i)
          os << ",";
        printSem(sync.waits[i].sem, sync.waits[i].count);
      }
      os << "]";
    }
    if (sync.signal) {
      os << " signal=";
      printSem(*sync.signal, 1);
    }
  }

  void printList(llvm::StringRef key, llvm::ArrayRef<uint64_t> values) {
    os << " " << key << "=[";
    for (size_t i = 0; i < values.size(); ++i)
      os << (i ? "," : "") << values[i];
    os << "]";
  }

  void printShape(uint32_t rows, uint32_t len) {
    printField("rows", rows);
    printField("len", len);
  }

  void printFields(const DmaInst &i) {
    os << " q=" << (i.queue.kind == DmaQueue::Kind::Tile ? "t" : "c")
       << i.queue.index;
    printField("src", i.src);
    printField("dst", i.dst);
    printField("elem", i.elementBytes);
    printList("shape", i.counts);
    printList("src.strides", i.srcStrides);
    printList("dst.strides", i.dstStrides);
    if (i.multicast != 0)
      os << " mcast=0x" << llvm::format_hex_no_prefix(i.multicast, 1);
  }

  void printFields(const MatmulInst &i) {
    printField("m", i.m);
    printField("n", i.n);
    printField("k", i.k);
    printTensor("a", i.a);
    printTensor("b", i.b);
    printField("c", i.acc);
    printField("acc", i.accumulate ? 1 : 0);
  }

  void printFields(const VecBinaryInst &i) {
    printShape(i.rows, i.len);
    printField("dst", i.dst);
    printField("a", i.a);
    if (i.broadcast == Broadcast::Scalar) {
      os << " b=" << formatFloat(i.scalar);
      return;
    }
    printField("b", i.b);
    if (i.broadcast == Broadcast::Row)
      os << " bcast=row";
    else if (i.broadcast == Broadcast::Column)
      os << " bcast=col";
  }

  void printFields(const VecUnaryInst &i) {
    printShape(i.rows, i.len);
    printField("dst", i.dst);
    printField("a", i.a);
  }

  void printFields(const VecReduceInst &i) {
    printShape(i.rows, i.len);
    printField("dst", i.dst);
    printField("a", i.a);
  }

  void printFields(const VecQuantizeInst &i) {
    printShape(i.rows, i.len);
    printTensor("dst", i.dst);
    printField("src", i.src);
  }

  void printFields(const VecDequantizeInst &i) {
    printShape(i.rows, i.len);
    printField("dst", i.dst);
    printTensor("src", i.src);
  }

  void printFields(const SemSignalInst &i) {
    os << " sem=";
    printSem(i.sem, i.count);
  }

  void printFields(const SemWaitInst &i) {
    os << " sem=";
    printSem(i.sem, i.count);
  }

  void printFields(const BarrierInst &i) {
    os << " tiles=[";
    for (size_t t = 0; t < i.tiles.size(); ++t)
      os << (t ? "," : "") << i.tiles[t];
    os << "]";
  }

  void printFields(const HaltInst &) {}

  /// The shortest decimal that strtof reads back to the same bits.
  static std::string formatFloat(float value) {
    if (std::isnan(value))
      return std::signbit(value) ? "-nan" : "nan";
    if (std::isinf(value))
      return value < 0 ? "-inf" : "inf";
    char text[32];
    for (int digits = 1; digits <= 9; ++digits) {
      std::snprintf(text, sizeof(text), "%.*g", digits, double(value));
      if (numerics::floatBits(std::strtof(text, nullptr)) ==
          numerics::floatBits(value))
        break;
    }
    return text;
  }

  const Program &program;
  raw_ostream &os;
};

} // namespace

void mixtile::maia::printAssembly(const Program &program, raw_ostream &os) {
  AsmPrinter(program, os).print();
}
