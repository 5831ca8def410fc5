//===- Functional.cpp - data semantics of Maia commands -------------------===//
//
// Every format conversion and block scaling goes through the Numerics
// library, so that the simulator and the reference evaluator agree bit for
// bit. This file is compiled with -ffp-contract=off: the only fused
// multiply-adds are the std::fma calls written below, in the documented
// order.
//
//===----------------------------------------------------------------------===//

#include "Functional.h"

#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Numerics/Elementary.h"
#include "mixtile/Numerics/Packing.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"

#include <algorithm>
#include <cmath>

using namespace mixtile;
using namespace mixtile::maia;
using llvm::Error;
using llvm::Expected;

namespace {

/// Memory access on behalf of one command of one tile.
class Executor {
public:
  Executor(const Program &program, const TargetModel &target,
           MachineMemory &memory)
      : program(program), target(target), memory(memory) {}

  Error execute(const DmaInst &i);
  Error execute(const MatmulInst &i);
  Error execute(const VecBinaryInst &i);
  Error execute(const VecUnaryInst &i);
  Error execute(const VecReduceInst &i);
  Error execute(const VecQuantizeInst &i);
  Error execute(const VecDequantizeInst &i);

private:
  const Buffer &bufferOf(const BufferRef &ref) const {
    return program.buffers[ref.buffer];
  }
  uint64_t addressOf(const BufferRef &ref) const {
    return bufferOf(ref).offset + ref.offset;
  }
  SparseMemory &memoryOf(const BufferRef &ref) {
    const Buffer &b = bufferOf(ref);
    return memory.get(b.level, b.unit);
  }

  Expected<std::vector<uint8_t>> readBytes(const BufferRef &ref,
                                           uint64_t size) {
    std::vector<uint8_t> bytes(size);
    if (Error error = memoryOf(ref).read(addressOf(ref), bytes))
      return std::move(error);
    return bytes;
  }

  Error writeBytes(const BufferRef &ref, llvm::ArrayRef<uint8_t> bytes) {
    return memoryOf(ref).write(addressOf(ref), bytes);
  }

  Expected<std::vector<float>> readF32(const BufferRef &ref, uint64_t count) {
    Expected<std::vector<uint8_t>> bytes = readBytes(ref, 4 * count);
    if (!bytes)
      return bytes.takeError();
    std::vector<float> values(count);
    for (uint64_t i = 0; i < count; ++i)
      values[i] = numerics::floatFromBits(
          llvm::support::endian::read32le(bytes->data() + 4 * i));
    return values;
  }

  Error writeF32(const BufferRef &ref, llvm::ArrayRef<float> values) {
    std::vector<uint8_t> bytes(4 * values.size());
    for (size_t i = 0; i < values.size(); ++i)
      llvm::support::endian::write32le(bytes.data() + 4 * i,
                                       numerics::floatBits(values[i]));
    return writeBytes(ref, bytes);
  }

  Expected<std::vector<float>> decodeTensor(const TensorOperand &t,
                                            uint64_t rows, uint64_t cols);
  Error encodeTensor(const TensorOperand &t, uint64_t rows, uint64_t cols,
                     llvm::ArrayRef<float> values);

  const Program &program;
  const TargetModel &target;
  MachineMemory &memory;
};

//===----------------------------------------------------------------------===//
// DMA
//===----------------------------------------------------------------------===//

/// Visits the byte runs of one side of a DMA in (i0, i1, i2) order: `visit`
/// gets the address of each run and its index. Innermost elements that are
/// contiguous on both sides form one run.
template <typename Visit>
Error forEachRun(const DmaInst &i, uint64_t base,
                 const std::array<uint64_t, 3> &strides, uint64_t runCount,
                 Visit visit) {
  uint64_t index = 0;
  for (uint64_t i0 = 0; i0 < i.counts[0]; ++i0)
    for (uint64_t i1 = 0; i1 < i.counts[1]; ++i1)
      for (uint64_t i2 = 0; i2 < runCount; ++i2, ++index)
        if (Error error = visit(base + i0 * strides[0] + i1 * strides[1] +
                                    i2 * strides[2],
                                index))
          return error;
  return Error::success();
}

Error Executor::execute(const DmaInst &i) {
  // Innermost elements that are back to back on both sides move as one run.
  bool contiguous =
      i.srcStrides[2] == i.elementBytes && i.dstStrides[2] == i.elementBytes;
  uint64_t runBytes =
      contiguous ? i.elementBytes * i.counts[2] : i.elementBytes;
  uint64_t runCount = contiguous ? 1 : i.counts[2];
  SparseMemory &src = memoryOf(i.src);
  const Buffer &dst = bufferOf(i.dst);
  llvm::SmallVector<SparseMemory *, 4> outs;
  for (uint32_t tile : getDmaDestinationTiles(i, dst, target))
    outs.push_back(&memory.get(dst.level, tile));
  if (!llvm::is_contained(outs, &src)) {
    // The source cannot change under the copy: move one run at a time.
    std::vector<uint8_t> run(runBytes);
    return forEachRun(i, addressOf(i.src), i.srcStrides, runCount,
                      [&](uint64_t address, uint64_t index) -> Error {
                        if (Error error = src.read(address, run))
                          return error;
                        uint64_t i2 = index % runCount, rest = index / runCount;
                        uint64_t i1 = rest % i.counts[1],
                                 i0 = rest / i.counts[1];
                        uint64_t to = addressOf(i.dst) + i0 * i.dstStrides[0] +
                                      i1 * i.dstStrides[1] +
                                      i2 * i.dstStrides[2];
                        for (SparseMemory *out : outs)
                          if (Error error = out->write(to, run))
                            return error;
                        return Error::success();
                      });
  }
  // Within one memory, read everything first, then write: overlapping
  // source and destination behave as if the source were copied out before
  // any byte lands (the verifier bounds such copies by the memory's size).
  std::vector<uint8_t> staged(*getDmaBytes(i));
  if (Error error = forEachRun(
          i, addressOf(i.src), i.srcStrides, runCount,
          [&](uint64_t address, uint64_t index) {
            return src.read(address,
                            llvm::MutableArrayRef<uint8_t>(
                                staged.data() + index * runBytes, runBytes));
          }))
    return error;
  for (SparseMemory *out : outs)
    if (Error error = forEachRun(
            i, addressOf(i.dst), i.dstStrides, runCount,
            [&](uint64_t address, uint64_t index) {
              return out->write(
                  address, llvm::ArrayRef<uint8_t>(
                               staged.data() + index * runBytes, runBytes));
            }))
      return error;
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Coded tensors
//===----------------------------------------------------------------------===//

/// Element codes as numerics::QuantizedMatrix holds them: one byte per code
/// for formats of at most 8 bits (unpacked), little-endian words otherwise.
std::vector<uint8_t> unpackElementCodes(std::vector<uint8_t> stored,
                                        FloatFormat format, uint64_t count) {
  unsigned bits = numerics::getFormatInfo(format).bits;
  if (bits >= 8)
    return stored;
  return numerics::unpackCodes(stored, count, bits);
}

/// The inverse of unpackElementCodes.
std::vector<uint8_t> packElementCodes(std::vector<uint8_t> codes,
                                      FloatFormat format) {
  unsigned bits = numerics::getFormatInfo(format).bits;
  if (bits >= 8)
    return codes;
  return numerics::packCodes(codes, bits);
}

float readF32At(llvm::ArrayRef<uint8_t> bytes, uint64_t index) {
  return numerics::floatFromBits(
      llvm::support::endian::read32le(bytes.data() + 4 * index));
}

/// Rows of a matrix quantized one row at a time share nothing; everything
/// else is one matrix.
bool scalesEachRow(ScaleMode mode) {
  return mode == ScaleMode::Rows || mode == ScaleMode::NVFP4Rows;
}

Expected<std::vector<float>>
Executor::decodeTensor(const TensorOperand &t, uint64_t rows, uint64_t cols) {
  uint64_t count = rows * cols;
  Expected<std::vector<uint8_t>> stored =
      readBytes(t.data, *getTensorBytes(t.format, rows, cols));
  if (!stored)
    return stored.takeError();
  std::vector<uint8_t> codes =
      unpackElementCodes(std::move(*stored), t.format, count);
  std::vector<float> values(count);
  if (t.scaleMode == ScaleMode::None) {
    numerics::decode(codes.data(), values.data(), count, t.format);
    return values;
  }
  Expected<std::vector<uint8_t>> scales =
      readBytes(t.scales, *getScaleBytes(t.scaleMode, t.block, rows, cols));
  if (!scales)
    return scales.takeError();
  numerics::QuantScheme scheme = getQuantScheme(t.format, t.scaleMode, t.block);
  // Scale buffer: f32 tensor scales (one, or one per row), then block codes.
  uint64_t tensorScales = scalesEachRow(t.scaleMode)     ? rows
                          : t.scaleMode == ScaleMode::MX ? 0
                                                         : 1;
  uint64_t blocksPerRow = numerics::getBlocksPerRow(scheme, cols);
  uint64_t codeBytes = numerics::getCodeBytes(t.format);
  // One matrix, or one per row when each row has its own tensor scale.
  uint64_t parts = scalesEachRow(t.scaleMode) ? rows : 1;
  uint64_t partRows = rows / parts;
  for (uint64_t p = 0; p < parts; ++p) {
    numerics::QuantizedMatrix q;
    q.scheme = scheme;
    q.rows = partRows;
    q.cols = cols;
    auto codesBegin = codes.begin() + p * partRows * cols * codeBytes;
    q.codes.assign(codesBegin, codesBegin + partRows * cols * codeBytes);
    auto blocksBegin =
        scales->begin() + 4 * tensorScales + p * partRows * blocksPerRow;
    q.blockScales.assign(blocksBegin, blocksBegin + partRows * blocksPerRow);
    q.tensorScale = tensorScales ? readF32At(*scales, p) : 1.0f;
    numerics::dequantize(q, values.data() + p * partRows * cols);
  }
  return values;
}

Error Executor::encodeTensor(const TensorOperand &t, uint64_t rows,
                             uint64_t cols, llvm::ArrayRef<float> values) {
  numerics::QuantScheme scheme = getQuantScheme(t.format, t.scaleMode, t.block);
  uint64_t parts = scalesEachRow(t.scaleMode) ? rows : 1;
  uint64_t partRows = rows / parts;
  std::vector<uint8_t> codes, tensorScales, blockScales;
  for (uint64_t p = 0; p < parts; ++p) {
    numerics::QuantizedMatrix q = numerics::quantize(
        values.data() + p * partRows * cols, partRows, cols, scheme);
    codes.insert(codes.end(), q.codes.begin(), q.codes.end());
    blockScales.insert(blockScales.end(), q.blockScales.begin(),
                       q.blockScales.end());
    uint8_t word[4];
    llvm::support::endian::write32le(word, numerics::floatBits(q.tensorScale));
    tensorScales.insert(tensorScales.end(), word, word + 4);
  }
  if (Error error =
          writeBytes(t.data, packElementCodes(std::move(codes), t.format)))
    return error;
  if (t.scaleMode == ScaleMode::None)
    return Error::success();
  std::vector<uint8_t> scales;
  if (t.scaleMode != ScaleMode::MX)
    scales = std::move(tensorScales);
  scales.insert(scales.end(), blockScales.begin(), blockScales.end());
  return writeBytes(t.scales, scales);
}

//===----------------------------------------------------------------------===//
// Tensor unit
//===----------------------------------------------------------------------===//

/// C[m][n] continues one FMA chain over k ascending: from 0, or from C's
/// value when accumulating, so K split over several accumulating mm's in k
/// order gives exactly the single chain.
void multiplyAccumulate(const float *a, const float *b, float *c, uint64_t m,
                        uint64_t n, uint64_t k) {
  for (uint64_t row = 0; row < m; ++row)
    for (uint64_t col = 0; col < n; ++col) {
      const float *x = a + row * k, *w = b + col * k;
      float sum = c[row * n + col];
      for (uint64_t kk = 0; kk < k; ++kk)
        sum = std::fma(x[kk], w[kk], sum);
      c[row * n + col] = sum;
    }
}

Error Executor::execute(const MatmulInst &i) {
  Expected<std::vector<float>> a = decodeTensor(i.a, i.m, i.k);
  if (!a)
    return a.takeError();
  Expected<std::vector<float>> b = decodeTensor(i.b, i.n, i.k);
  if (!b)
    return b.takeError();
  uint64_t outputs = uint64_t(i.m) * i.n;
  std::vector<float> c(outputs, 0.0f);
  if (i.accumulate) {
    Expected<std::vector<float>> old = readF32(i.acc, outputs);
    if (!old)
      return old.takeError();
    c = std::move(*old);
  }
  multiplyAccumulate(a->data(), b->data(), c.data(), i.m, i.n, i.k);
  return writeF32(i.acc, c);
}

//===----------------------------------------------------------------------===//
// Vector unit
//===----------------------------------------------------------------------===//

float applyBinary(VecBinaryOp op, float a, float b) {
  switch (op) {
  case VecBinaryOp::Add:
    return a + b;
  case VecBinaryOp::Sub:
    return a - b;
  case VecBinaryOp::Mul:
    return a * b;
  case VecBinaryOp::Div:
    return a / b;
  case VecBinaryOp::Max:
    return std::max(a, b);
  }
  return 0;
}

/// The evaluator's expressions (lib/Evaluator), so that results match.
float applyUnary(VecUnaryOp op, float x) {
  switch (op) {
  case VecUnaryOp::Copy:
    return x;
  case VecUnaryOp::Exp:
    return numerics::exp(x);
  case VecUnaryOp::Rsqrt:
    return 1.0f / std::sqrt(x);
  case VecUnaryOp::Silu:
    return x * (1.0f / (1.0f + numerics::exp(-x)));
  }
  return 0;
}

/// Row reductions in index order: max from the first element, sums from 0.
float reduceRow(VecReduceOp op, const float *x, uint64_t len) {
  switch (op) {
  case VecReduceOp::Max: {
    float max = x[0];
    for (uint64_t j = 1; j < len; ++j)
      max = std::max(max, x[j]);
    return max;
  }
  case VecReduceOp::Sum: {
    float sum = 0.0f;
    for (uint64_t j = 0; j < len; ++j)
      sum += x[j];
    return sum;
  }
  case VecReduceOp::SumSquares: {
    float sum = 0.0f;
    for (uint64_t j = 0; j < len; ++j)
      sum = std::fma(x[j], x[j], sum);
    return sum;
  }
  }
  return 0;
}

Error Executor::execute(const VecBinaryInst &i) {
  uint64_t elements = uint64_t(i.rows) * i.len;
  Expected<std::vector<float>> a = readF32(i.a, elements);
  if (!a)
    return a.takeError();
  uint64_t bCount = i.broadcast == Broadcast::None     ? elements
                    : i.broadcast == Broadcast::Row    ? i.len
                    : i.broadcast == Broadcast::Column ? i.rows
                                                       : 0;
  Expected<std::vector<float>> b = readF32(i.b, bCount);
  if (!b)
    return b.takeError();
  std::vector<float> out(elements);
  for (uint64_t r = 0; r < i.rows; ++r)
    for (uint64_t j = 0; j < i.len; ++j) {
      float y = i.broadcast == Broadcast::None     ? (*b)[r * i.len + j]
                : i.broadcast == Broadcast::Row    ? (*b)[j]
                : i.broadcast == Broadcast::Column ? (*b)[r]
                                                   : i.scalar;
      out[r * i.len + j] = applyBinary(i.op, (*a)[r * i.len + j], y);
    }
  return writeF32(i.dst, out);
}

Error Executor::execute(const VecUnaryInst &i) {
  Expected<std::vector<float>> a = readF32(i.a, uint64_t(i.rows) * i.len);
  if (!a)
    return a.takeError();
  for (float &x : *a)
    x = applyUnary(i.op, x);
  return writeF32(i.dst, *a);
}

Error Executor::execute(const VecReduceInst &i) {
  Expected<std::vector<float>> a = readF32(i.a, uint64_t(i.rows) * i.len);
  if (!a)
    return a.takeError();
  std::vector<float> out(i.rows);
  for (uint64_t r = 0; r < i.rows; ++r)
    out[r] = reduceRow(i.op, a->data() + r * i.len, i.len);
  return writeF32(i.dst, out);
}

Error Executor::execute(const VecQuantizeInst &i) {
  Expected<std::vector<float>> src = readF32(i.src, uint64_t(i.rows) * i.len);
  if (!src)
    return src.takeError();
  return encodeTensor(i.dst, i.rows, i.len, *src);
}

Error Executor::execute(const VecDequantizeInst &i) {
  Expected<std::vector<float>> values = decodeTensor(i.src, i.rows, i.len);
  if (!values)
    return values.takeError();
  return writeF32(i.dst, *values);
}

} // namespace

llvm::SmallVector<uint32_t, 4>
mixtile::maia::getDmaDestinationTiles(const DmaInst &dma, const Buffer &dst,
                                      const TargetModel &target) {
  llvm::SmallVector<uint32_t, 4> tiles;
  if (dma.multicast == 0) {
    tiles.push_back(dst.unit);
    return tiles;
  }
  uint32_t perCluster = uint32_t(target.tilesPerCluster);
  uint32_t first = dst.unit / perCluster * perCluster;
  for (uint32_t t = 0; t < perCluster; ++t)
    if (dma.multicast >> t & 1)
      tiles.push_back(first + t);
  return tiles;
}

Error mixtile::maia::executeCommand(const Instruction &inst,
                                    const Program &program,
                                    const TargetModel &target,
                                    MachineMemory &memory) {
  Executor executor(program, target, memory);
  return std::visit(
      [&](const auto &i) -> Error {
        using T = std::decay_t<decltype(i)>;
        if constexpr (std::is_same_v<T, SemSignalInst> ||
                      std::is_same_v<T, SemWaitInst> ||
                      std::is_same_v<T, BarrierInst> ||
                      std::is_same_v<T, HaltInst>)
          return llvm::createStringError("not a command");
        else
          return executor.execute(i);
      },
      inst);
}
