//===- Kernels.cpp - the layers of a Maia program -------------------------===//

#include "Kernels.h"

#include "mixtile/Target/CostModel.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>

using namespace mixtile;
using namespace mixtile::maia_lowering;
using llvm::Error;
using llvm::Expected;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Bytes of the scales of a [rows, cols] part of `m`.
uint64_t scaleBytes(const HbmMatrix &m, int64_t rows, int64_t cols) {
  return *maia::getScaleBytes(m.mode, m.block, rows, cols);
}

/// Blocks per row of `m` (0 without block scales).
int64_t blocksPerRow(const HbmMatrix &m, int64_t cols) {
  return maia::hasBlockScales(m.mode) ? ceilDiv(cols, m.block) : 0;
}

} // namespace

Expected<StagedPart> maia_lowering::allocatePart(ProgramEmitter &e, unsigned i,
                                                 const HbmMatrix &m,
                                                 int64_t rows, int64_t cols) {
  StagedPart part;
  part.rows = rows;
  part.cols = cols;
  Expected<BufferRef> codes =
      e.allocateTsram(i, rows * rowBytes(m.format, cols), m.format);
  if (!codes)
    return codes.takeError();
  part.operand.data = *codes;
  part.operand.format = m.format;
  part.operand.scaleMode = m.mode;
  part.operand.block = m.block;
  if (m.mode != ScaleMode::None) {
    FloatFormat f = maia::getScaleBufferFormat(m.mode);
    // NVFP4 scale buffers start with f32 tensor scales: keep them aligned.
    if (m.mode == ScaleMode::NVFP4 || m.mode == ScaleMode::NVFP4Rows)
      f = FloatFormat::F32;
    Expected<BufferRef> scales =
        e.allocateTsram(i, scaleBytes(m, rows, cols), f);
    if (!scales)
      return scales.takeError();
    part.operand.scales = e.view(*scales, maia::getScaleBufferFormat(m.mode));
  }
  return part;
}

/// DMAs rows [r0, r0 + part.rows) and columns [k0, k0 + part.cols) of `m`
/// (codes and scales) into `part`; returns the completions.
llvm::SmallVector<Token, 4>
maia_lowering::loadPart(ProgramEmitter &e, TileStream &s, const HbmMatrix &m,
                        int64_t r0, int64_t k0, const StagedPart &part,
                        llvm::ArrayRef<Token> deps) {
  llvm::SmallVector<Token, 4> done;
  int64_t rows = part.rows, cols = part.cols;
  uint64_t fullRow = rowBytes(m.format, m.cols);
  done.push_back(e.copyRows(s, {m.codes, r0 * fullRow + rowBytes(m.format, k0)},
                            fullRow, part.operand.data,
                            rowBytes(m.format, cols), rows,
                            rowBytes(m.format, cols), deps));
  BufferRef scales = part.operand.scales;
  auto f32 = [&](uint64_t offset) {
    return e.view(scales, FloatFormat::F32, offset);
  };
  auto codes = [&](uint64_t offset) {
    return e.view(scales, maia::getScaleBufferFormat(m.mode), offset);
  };
  int64_t fullBlocks = blocksPerRow(m, m.cols), blocks = blocksPerRow(m, cols);
  auto loadBlockCodes = [&](uint64_t hbmBase, uint64_t tsramBase) {
    done.push_back(
        e.copyRows(s, {m.scales, hbmBase + r0 * fullBlocks + k0 / m.block},
                   fullBlocks, codes(tsramBase), blocks, rows, blocks, deps));
  };
  switch (m.mode) {
  case ScaleMode::None:
    break;
  case ScaleMode::Tensor:
    done.push_back(e.copyRows(s, {m.scales, 0}, 4, f32(0), 4, 1, 4, deps));
    break;
  case ScaleMode::Rows:
    done.push_back(e.copyRows(s, {m.scales, uint64_t(r0) * 4}, 4, f32(0), 4,
                              rows, 4, deps));
    break;
  case ScaleMode::MX:
    loadBlockCodes(0, 0);
    break;
  case ScaleMode::NVFP4:
    done.push_back(e.copyRows(s, {m.scales, 0}, 4, f32(0), 4, 1, 4, deps));
    loadBlockCodes(4, 4);
    break;
  case ScaleMode::NVFP4Rows:
    done.push_back(e.copyRows(s, {m.scales, uint64_t(r0) * 4}, 4, f32(0), 4,
                              rows, 4, deps));
    loadBlockCodes(uint64_t(m.rows) * 4, uint64_t(rows) * 4);
    break;
  }
  return done;
}

namespace {

/// Splits `rows` rows evenly over the tiles; calls fn(stream, r0, n) for
/// each tile's share (n > 0).
template <typename Fn>
Error forEachShare(ProgramEmitter &e, int64_t rows, Fn fn) {
  for (unsigned i = 0; i < e.numTiles(); ++i) {
    RowShare share = rowShare(rows, e.numTiles(), i);
    if (share.n > 0)
      if (Error err = fn(i, share.r0, share.n))
        return err;
  }
  return Error::success();
}

Error tooLarge(llvm::StringRef kernel, int64_t cols) {
  return llvm::createStringError(kernel + ": a row of " + llvm::Twine(cols) +
                                 " values does not fit in TSRAM");
}

} // namespace

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

OperandStorage maia_lowering::storageOf(const HbmMatrix &m) {
  OperandStorage s;
  s.elementBits = numerics::getFormatInfo(m.format).bits;
  if (maia::hasBlockScales(m.mode)) {
    s.block = m.block;
    s.scaleBits =
        numerics::getFormatInfo(maia::getScaleBufferFormat(m.mode)).bits;
  }
  switch (m.mode) {
  case ScaleMode::Tensor:
  case ScaleMode::NVFP4:
    s.wholeScale = OperandStorage::WholeScale::Tensor;
    break;
  case ScaleMode::Rows:
  case ScaleMode::NVFP4Rows:
    s.wholeScale = OperandStorage::WholeScale::Row;
    break;
  case ScaleMode::None:
  case ScaleMode::MX:
    break;
  }
  return s;
}

MatmulProblem maia_lowering::matmulProblem(const HbmMatrix &x,
                                           const HbmMatrix &w, bool bias,
                                           const HbmMatrix &y) {
  MatmulProblem p;
  p.m = x.rows;
  p.n = w.rows;
  p.k = x.cols;
  p.x = storageOf(x);
  p.w = storageOf(w);
  p.outputBits = numerics::getFormatInfo(y.format).bits;
  p.bias = bias;
  return p;
}

Expected<MatmulPlan> maia_lowering::chooseMatmulPlan(
    const TargetModel &target, unsigned streams, const HbmMatrix &x,
    const HbmMatrix &w, bool bias, const HbmMatrix &y, MatmulKernel kernel,
    const ClusterMatmulLimits &limits) {
  return mixtile::chooseMatmulPlan(
      target, streams, matmulProblem(x, w, bias, y), kernel, limits);
}

namespace {

/// One C tile of a product.
struct CTile {
  int64_t m0, rows, n0, cols;
};

/// The products one tile computes, chunk by chunk over K, with loads of
/// the next chunk overlapping the current product.
class TileMatmul {
public:
  TileMatmul(ProgramEmitter &e, unsigned i, const HbmMatrix &x,
             const HbmMatrix &w, std::optional<uint32_t> bias,
             const HbmMatrix &y, const PerTileMatmulPlan &t)
      : e(e), i(i), s(e.stream(i)), x(x), w(w), bias(bias), y(y), t(t) {}

  Error run(llvm::ArrayRef<CTile> items) {
    if (Error err = allocate())
      return err;
    struct Chunk {
      size_t item;
      int64_t k0, kc;
    };
    std::vector<Chunk> chunks;
    for (size_t q = 0; q < items.size(); ++q)
      for (int64_t k0 = 0; k0 < x.cols; k0 += t.kb)
        chunks.push_back({q, k0, std::min(t.kb, x.cols - k0)});
    auto load = [&](size_t j) {
      const Chunk &c = chunks[j];
      const CTile &item = items[c.item];
      unsigned slot = j % 2;
      llvm::SmallVector<Token, 2> deps;
      if (slotUser[slot])
        deps.push_back(*slotUser[slot]);
      StagedPart a = slots[slot].first, b = slots[slot].second;
      a.rows = item.rows;
      a.cols = c.kc;
      b.rows = item.cols;
      b.cols = c.kc;
      slotLoads[slot] = loadPart(e, s, x, item.m0, c.k0, a, deps);
      llvm::append_range(slotLoads[slot],
                         loadPart(e, s, w, item.n0, c.k0, b, deps));
      slots[slot].first.operand = a.operand;
      slots[slot].second.operand = b.operand;
    };
    load(0);
    for (size_t j = 0; j < chunks.size(); ++j) {
      if (j + 1 < chunks.size())
        load(j + 1);
      const Chunk &c = chunks[j];
      const CTile &item = items[c.item];
      unsigned slot = j % 2, acc = c.item % accumulators.size();
      llvm::SmallVector<Token, 8> deps(slotLoads[slot]);
      if (c.k0 == 0 && accumulatorFree[acc])
        deps.push_back(*accumulatorFree[acc]);
      maia::MatmulInst mm;
      mm.m = item.rows;
      mm.n = item.cols;
      mm.k = c.kc;
      mm.a = slots[slot].first.operand;
      mm.b = slots[slot].second.operand;
      mm.acc = accumulators[acc];
      mm.accumulate = c.k0 > 0;
      Token product = s.issue(std::move(mm), deps);
      slotUser[slot] = product;
      if (c.k0 + c.kc == x.cols)
        accumulatorFree[acc] = finish(item, acc, product);
    }
    return Error::success();
  }

private:
  Error allocate() {
    for (unsigned a = 0; a < (t.doubleAccumulator ? 2u : 1u); ++a) {
      Expected<BufferRef> c =
          e.allocateTsram(i, uint64_t(t.mt) * t.nt * 4, FloatFormat::F32);
      if (!c)
        return c.takeError();
      accumulators.push_back(*c);
    }
    accumulatorFree.resize(accumulators.size());
    for (auto &slot : slots) {
      Expected<StagedPart> a = allocatePart(e, i, x, t.mt, t.kb);
      if (!a)
        return a.takeError();
      Expected<StagedPart> b = allocatePart(e, i, w, t.nt, t.kb);
      if (!b)
        return b.takeError();
      slot = {*a, *b};
    }
    if (bias) {
      Expected<BufferRef> row =
          e.allocateTsram(i, uint64_t(t.nt) * 4, FloatFormat::F32);
      if (!row)
        return row.takeError();
      biasRow = *row;
    }
    return Error::success();
  }

  /// Adds the bias and writes the C tile out; returns the completion after
  /// which the accumulator may be overwritten.
  Token finish(const CTile &item, unsigned acc, Token product) {
    Token last = product;
    if (bias) {
      llvm::SmallVector<Token, 2> deps;
      if (biasUser)
        deps.push_back(*biasUser);
      Token loaded = e.copyRows(s, {*bias, uint64_t(item.n0) * 4}, 4, biasRow,
                                4, item.cols, 4, deps);
      maia::VecBinaryInst add;
      add.op = maia::VecBinaryOp::Add;
      add.rows = item.rows;
      add.len = item.cols;
      add.dst = accumulators[acc];
      add.a = accumulators[acc];
      add.b = biasRow;
      add.broadcast = maia::Broadcast::Row;
      last = s.issue(std::move(add), {product, loaded});
      biasUser = last;
    }
    uint64_t elem = 4;
    BufferRef out = accumulators[acc];
    if (y.format == FloatFormat::BF16) {
      // In place: a command reads its input before it writes.
      elem = 2;
      out = e.view(out, FloatFormat::BF16);
      maia::VecQuantizeInst quant;
      quant.rows = item.rows;
      quant.len = item.cols;
      quant.dst.data = out;
      quant.dst.format = FloatFormat::BF16;
      quant.src = accumulators[acc];
      last = s.issue(std::move(quant), {last});
    }
    return e.copyRows(s, out, uint64_t(item.cols) * elem,
                      {y.codes, (uint64_t(item.m0) * y.cols + item.n0) * elem},
                      uint64_t(y.cols) * elem, item.rows,
                      uint64_t(item.cols) * elem, {last});
  }

  ProgramEmitter &e;
  unsigned i;
  TileStream &s;
  const HbmMatrix &x, &w;
  std::optional<uint32_t> bias;
  const HbmMatrix &y;
  PerTileMatmulPlan t;
  std::vector<BufferRef> accumulators;
  std::vector<std::optional<Token>> accumulatorFree;
  std::array<std::pair<StagedPart, StagedPart>, 2> slots;
  std::array<llvm::SmallVector<Token, 8>, 2> slotLoads;
  std::array<std::optional<Token>, 2> slotUser;
  BufferRef biasRow;
  std::optional<Token> biasUser;
};

} // namespace

Error maia_lowering::emitPerTileMatmul(ProgramEmitter &e,
                                       const PerTileMatmulPlan &plan,
                                       const HbmMatrix &x, const HbmMatrix &w,
                                       std::optional<uint32_t> bias,
                                       const HbmMatrix &y) {
  std::vector<std::vector<CTile>> perTile(e.numTiles());
  size_t next = 0;
  for (int64_t m0 = 0; m0 < x.rows; m0 += plan.mt)
    for (int64_t n0 = 0; n0 < w.rows; n0 += plan.nt)
      perTile[next++ % perTile.size()].push_back(
          {m0, std::min(plan.mt, x.rows - m0), n0,
           std::min(plan.nt, w.rows - n0)});
  for (unsigned i = 0; i < perTile.size(); ++i)
    if (!perTile[i].empty())
      if (Error err = TileMatmul(e, i, x, w, bias, y, plan).run(perTile[i]))
        return err;
  return Error::success();
}

Error maia_lowering::emitLinear(ProgramEmitter &e, const HbmMatrix &x,
                                const HbmMatrix &w,
                                std::optional<uint32_t> bias,
                                const HbmMatrix &y, MatmulKernel kernel,
                                const ClusterMatmulLimits &limits) {
  Expected<MatmulPlan> plan = chooseMatmulPlan(
      e.getTarget(), e.numTiles(), x, w, bias.has_value(), y, kernel, limits);
  if (!plan)
    return plan.takeError();
  Error err = plan->kernel == MatmulKernel::Cluster
                  ? emitClusterMatmul(e, plan->cluster, x, w, bias, y)
                  : emitPerTileMatmul(e, plan->perTile, x, w, bias, y);
  if (err)
    return err;
  e.endPhase();
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Row-wise kernels
//===----------------------------------------------------------------------===//

Expected<HbmMatrix>
maia_lowering::emitQuantizeRows(ProgramEmitter &e, const HbmMatrix &x,
                                FloatFormat format, ScaleMode mode,
                                uint32_t block, llvm::StringRef name) {
  HbmMatrix q;
  q.format = format;
  q.mode = mode;
  q.block = block;
  q.rows = x.rows;
  q.cols = x.cols;
  Expected<uint32_t> codes = e.allocateHbm(
      (name + ".codes").str(), x.rows * rowBytes(format, x.cols), format);
  if (!codes)
    return codes.takeError();
  q.codes = *codes;
  if (mode != ScaleMode::None) {
    Expected<uint32_t> scales =
        e.allocateHbm((name + ".scales").str(), scaleBytes(q, x.rows, x.cols),
                      maia::getScaleBufferFormat(mode));
    if (!scales)
      return scales.takeError();
    q.scales = *scales;
  }
  int64_t chunkRows = quantizeChunkRows(e.getTarget(), x.cols, storageOf(q));
  if (chunkRows == 0)
    return tooLarge("quantize", x.cols);
  Error err =
      forEachShare(e, x.rows, [&](unsigned i, int64_t r0, int64_t n) -> Error {
        TileStream &s = e.stream(i);
        int64_t chunk = std::min(chunkRows, n);
        Expected<BufferRef> in =
            e.allocateTsram(i, chunk * x.cols * 4, FloatFormat::F32);
        if (!in)
          return in.takeError();
        Expected<StagedPart> out = allocatePart(e, i, q, chunk, x.cols);
        if (!out)
          return out.takeError();
        // The next chunk reuses both buffers: it waits for every store.
        llvm::SmallVector<Token, 3> stores;
        for (int64_t c0 = r0; c0 < r0 + n; c0 += chunk) {
          int64_t rows = std::min(chunk, r0 + n - c0);
          llvm::SmallVector<Token, 3> deps = std::move(stores);
          stores.clear();
          uint64_t rowF32 = uint64_t(x.cols) * 4;
          Token loaded = e.copyRows(s, {x.codes, c0 * rowF32}, rowF32, *in,
                                    rowF32, rows, rowF32, deps);
          maia::VecQuantizeInst quant;
          quant.rows = rows;
          quant.len = x.cols;
          quant.dst = out->operand;
          quant.src = *in;
          Token quantized = s.issue(std::move(quant), {loaded});
          // Codes, then the scales in the matrix's layout (per-row parts of
          // NVFP4 scales come before the block codes).
          uint64_t codeRow = rowBytes(format, x.cols);
          stores.push_back(e.copyRows(s, out->operand.data, codeRow,
                                      {q.codes, c0 * codeRow}, codeRow, rows,
                                      codeRow, {quantized}));
          int64_t blocks = blocksPerRow(q, x.cols);
          BufferRef sc = out->operand.scales;
          auto f32 = [&](uint64_t off) {
            return e.view(sc, FloatFormat::F32, off);
          };
          switch (mode) {
          case ScaleMode::None:
            break;
          case ScaleMode::Rows:
            stores.push_back(e.copyRows(s, f32(0), 4, {q.scales, c0 * 4ull}, 4,
                                        rows, 4, {quantized}));
            break;
          case ScaleMode::MX:
            stores.push_back(e.copyRows(s, sc, blocks,
                                        {q.scales, uint64_t(c0) * blocks},
                                        blocks, rows, blocks, {quantized}));
            break;
          case ScaleMode::NVFP4Rows:
            stores.push_back(e.copyRows(s, f32(0), 4, {q.scales, c0 * 4ull}, 4,
                                        rows, 4, {quantized}));
            stores.push_back(e.copyRows(
                s, e.view(sc, maia::getScaleBufferFormat(mode), rows * 4ull),
                blocks, {q.scales, x.rows * 4ull + uint64_t(c0) * blocks},
                blocks, rows, blocks, {quantized}));
            break;
          case ScaleMode::Tensor:
          case ScaleMode::NVFP4:
            llvm_unreachable("activations are scaled row by row");
          }
        }
        return Error::success();
      });
  if (err)
    return std::move(err);
  e.endPhase();
  return q;
}

namespace {

/// The chunks of one tile's share of rows: buffers sized for `chunk` rows
/// are reused, so each chunk's loads wait for the previous chunk's stores.
template <typename Body>
Error forEachChunk(int64_t r0, int64_t n, int64_t chunk, Body body) {
  llvm::SmallVector<Token, 4> previous;
  for (int64_t c0 = r0; c0 < r0 + n; c0 += chunk) {
    int64_t rows = std::min(chunk, r0 + n - c0);
    Expected<llvm::SmallVector<Token, 4>> stores = body(c0, rows, previous);
    if (!stores)
      return stores.takeError();
    previous = std::move(*stores);
  }
  return Error::success();
}

} // namespace

Token maia_lowering::vecBinary(TileStream &s, maia::VecBinaryOp op,
                               int64_t rows, int64_t len, BufferRef dst,
                               BufferRef a, BufferRef b,
                               maia::Broadcast broadcast, float scalar,
                               llvm::ArrayRef<Token> deps) {
  maia::VecBinaryInst inst;
  inst.op = op;
  inst.rows = rows;
  inst.len = len;
  inst.dst = dst;
  inst.a = a;
  // A scalar operand has no buffer.
  inst.b = broadcast == maia::Broadcast::Scalar ? BufferRef() : b;
  inst.broadcast = broadcast;
  inst.scalar = scalar;
  return s.issue(std::move(inst), deps);
}

namespace {

/// A vector op of one input and one output over [rows, len]: the unary
/// element-wise ops and the row reductions have the same fields.
template <typename Inst, typename Op>
Token vecRowOp(TileStream &s, Op op, int64_t rows, int64_t len, BufferRef dst,
               BufferRef a, llvm::ArrayRef<Token> deps) {
  Inst inst;
  inst.op = op;
  inst.rows = rows;
  inst.len = len;
  inst.dst = dst;
  inst.a = a;
  return s.issue(std::move(inst), deps);
}

} // namespace

Token maia_lowering::vecUnary(TileStream &s, maia::VecUnaryOp op, int64_t rows,
                              int64_t len, BufferRef dst, BufferRef a,
                              llvm::ArrayRef<Token> deps) {
  return vecRowOp<maia::VecUnaryInst>(s, op, rows, len, dst, a, deps);
}

Token maia_lowering::vecReduce(TileStream &s, maia::VecReduceOp op,
                               int64_t rows, int64_t len, BufferRef dst,
                               BufferRef a, llvm::ArrayRef<Token> deps) {
  return vecRowOp<maia::VecReduceInst>(s, op, rows, len, dst, a, deps);
}

Token maia_lowering::emitRMSNormRows(TileStream &s, int64_t rows, int64_t n,
                                     BufferRef in, BufferRef out, BufferRef r,
                                     BufferRef weight, float epsilon,
                                     Token loaded, Token weightLoaded) {
  using maia::Broadcast;
  using maia::VecBinaryOp;
  // r = 1 / sqrt(sum(x^2) / n + eps), then w * (x * r).
  Token t =
      vecReduce(s, maia::VecReduceOp::SumSquares, rows, n, r, in, {loaded});
  t = vecBinary(s, VecBinaryOp::Div, rows, 1, r, r, r, Broadcast::Scalar,
                float(n), {t});
  t = vecBinary(s, VecBinaryOp::Add, rows, 1, r, r, r, Broadcast::Scalar,
                epsilon, {t});
  t = vecUnary(s, maia::VecUnaryOp::Rsqrt, rows, 1, r, r, {t});
  t = vecBinary(s, VecBinaryOp::Mul, rows, n, out, in, r, Broadcast::Column, 0,
                {t});
  return vecBinary(s, VecBinaryOp::Mul, rows, n, out, out, weight,
                   Broadcast::Row, 0, {t, weightLoaded});
}

namespace {

/// Loads rows [c0, c0 + rows) of the f32 matrix m into `dst`.
Token loadRowsF32(ProgramEmitter &e, TileStream &s, const HbmMatrix &m,
                  int64_t c0, int64_t rows, BufferRef dst,
                  llvm::ArrayRef<Token> deps) {
  uint64_t row = uint64_t(m.cols) * 4;
  return e.copyRows(s, {m.codes, c0 * row}, row, dst, row, rows, row, deps);
}

Token storeRowsF32(ProgramEmitter &e, TileStream &s, BufferRef src,
                   const HbmMatrix &m, int64_t c0, int64_t rows,
                   llvm::ArrayRef<Token> deps) {
  uint64_t row = uint64_t(m.cols) * 4;
  return e.copyRows(s, src, row, {m.codes, c0 * row}, row, rows, row, deps);
}

/// TSRAM buffers of one chunk.
Expected<llvm::SmallVector<BufferRef, 6>>
allocateF32Buffers(ProgramEmitter &e, unsigned i,
                   llvm::ArrayRef<uint64_t> floats) {
  llvm::SmallVector<BufferRef, 6> buffers;
  for (uint64_t n : floats) {
    Expected<BufferRef> b = e.allocateTsram(i, n * 4, FloatFormat::F32);
    if (!b)
      return b.takeError();
    buffers.push_back(*b);
  }
  return buffers;
}

} // namespace

Error maia_lowering::emitRMSNorm(ProgramEmitter &e, const HbmMatrix &x,
                                 uint32_t weight, float epsilon,
                                 const HbmMatrix &y) {
  int64_t n = x.cols;
  int64_t chunk = rmsNormChunkRows(e.getTarget(), n);
  if (chunk == 0)
    return tooLarge("rms_norm", n);
  Error err =
      forEachShare(e, x.rows, [&](unsigned i, int64_t r0, int64_t m) -> Error {
        TileStream &s = e.stream(i);
        int64_t c = std::min(chunk, m);
        Expected<llvm::SmallVector<BufferRef, 6>> b = allocateF32Buffers(
            e, i, {uint64_t(c * n), uint64_t(c * n), uint64_t(c), uint64_t(n)});
        if (!b)
          return b.takeError();
        BufferRef in = (*b)[0], out = (*b)[1], r = (*b)[2], w = (*b)[3];
        Token wLoaded =
            e.copyRows(s, {weight, 0}, n * 4, w, n * 4, 1, n * 4, {});
        return forEachChunk(
            r0, m, c,
            [&](int64_t c0, int64_t rows, llvm::ArrayRef<Token> previous)
                -> Expected<llvm::SmallVector<Token, 4>> {
              Token t = loadRowsF32(e, s, x, c0, rows, in, previous);
              t = emitRMSNormRows(s, rows, n, in, out, r, w, epsilon, t,
                                  wLoaded);
              return llvm::SmallVector<Token, 4>{
                  storeRowsF32(e, s, out, y, c0, rows, {t})};
            });
      });
  if (err)
    return err;
  e.endPhase();
  return Error::success();
}

Error maia_lowering::emitElementwise(ProgramEmitter &e, Elementwise kind,
                                     const HbmMatrix &a, const HbmMatrix *b,
                                     const HbmMatrix &y) {
  int64_t n = a.cols;
  int64_t chunk = elementwiseChunkRows(e.getTarget(), n);
  if (chunk == 0)
    return tooLarge("elementwise", n);
  Error err =
      forEachShare(e, a.rows, [&](unsigned i, int64_t r0, int64_t m) -> Error {
        TileStream &s = e.stream(i);
        int64_t c = std::min(chunk, m);
        Expected<llvm::SmallVector<BufferRef, 6>> bufs =
            allocateF32Buffers(e, i, {uint64_t(c * n), uint64_t(c * n)});
        if (!bufs)
          return bufs.takeError();
        BufferRef x = (*bufs)[0], z = (*bufs)[1];
        return forEachChunk(
            r0, m, c,
            [&](int64_t c0, int64_t rows, llvm::ArrayRef<Token> previous)
                -> Expected<llvm::SmallVector<Token, 4>> {
              Token t0 = loadRowsF32(e, s, a, c0, rows, x, previous);
              Token t;
              if (kind == Elementwise::Silu) {
                t = vecUnary(s, maia::VecUnaryOp::Silu, rows, n, x, x, {t0});
              } else {
                Token t1 = loadRowsF32(e, s, *b, c0, rows, z, previous);
                t = vecBinary(s,
                              kind == Elementwise::Add ? maia::VecBinaryOp::Add
                                                       : maia::VecBinaryOp::Mul,
                              rows, n, x, x, z, maia::Broadcast::None, 0,
                              {t0, t1});
              }
              return llvm::SmallVector<Token, 4>{
                  storeRowsF32(e, s, x, y, c0, rows, {t})};
            });
      });
  if (err)
    return err;
  e.endPhase();
  return Error::success();
}

Error maia_lowering::emitRope(ProgramEmitter &e, const HbmMatrix &x,
                              BufferRef cos, BufferRef sin, int64_t headDim,
                              bool interleaved, const HbmMatrix &y) {
  int64_t f = x.cols, half = f / 2, heads = f / headDim;
  int64_t chunk = ropeChunkRows(e.getTarget(), f);
  if (chunk == 0)
    return tooLarge("rope", f);
  // Element (row, head, i) of a and b, as 3-D strides in bytes.
  uint64_t rowStride = f * 4, headStride = headDim * 4;
  uint64_t pairStride = interleaved ? 8 : 4;
  uint64_t bOffset = interleaved ? 4 : (headDim / 2) * 4;
  Error err =
      forEachShare(e, x.rows, [&](unsigned i, int64_t r0, int64_t m) -> Error {
        TileStream &s = e.stream(i);
        int64_t c = std::min(chunk, m);
        uint64_t part = c * half;
        Expected<llvm::SmallVector<BufferRef, 6>> bufs =
            allocateF32Buffers(e, i, {part, part, part, part, part, part});
        if (!bufs)
          return bufs.takeError();
        BufferRef a = (*bufs)[0], b = (*bufs)[1], cs = (*bufs)[2],
                  sn = (*bufs)[3], t1 = (*bufs)[4], t2 = (*bufs)[5];
        return forEachChunk(
            r0, m, c,
            [&](int64_t c0, int64_t rows, llvm::ArrayRef<Token> previous)
                -> Expected<llvm::SmallVector<Token, 4>> {
              using maia::Broadcast;
              using maia::VecBinaryOp;
              std::array<uint64_t, 3> counts = {uint64_t(rows), uint64_t(heads),
                                                uint64_t(headDim / 2)};
              std::array<uint64_t, 3> hbm = {rowStride, headStride, pairStride};
              std::array<uint64_t, 3> packed = {uint64_t(half) * 4,
                                                uint64_t(headDim / 2) * 4, 4};
              uint64_t base = c0 * rowStride;
              Token la = e.copyF32(s, {x.codes, base}, a, counts, hbm, packed,
                                   previous);
              Token lb = e.copyF32(s, {x.codes, base + bOffset}, b, counts, hbm,
                                   packed, previous);
              uint64_t table = uint64_t(half) * 4;
              Token lc = e.copyRows(s, {cos.buffer, cos.offset + c0 * table},
                                    table, cs, table, rows, table, previous);
              Token ls = e.copyRows(s, {sin.buffer, sin.offset + c0 * table},
                                    table, sn, table, rows, table, previous);
              int64_t len = half;
              // a' = a cos - b sin; b' = a sin + b cos.
              Token p1 = vecBinary(s, VecBinaryOp::Mul, rows, len, t1, a, cs,
                                   Broadcast::None, 0, {la, lc});
              Token p2 = vecBinary(s, VecBinaryOp::Mul, rows, len, t2, b, sn,
                                   Broadcast::None, 0, {lb, ls});
              Token p3 = vecBinary(s, VecBinaryOp::Sub, rows, len, t1, t1, t2,
                                   Broadcast::None, 0, {p1, p2});
              // a and b are read for the second pair after the first is done.
              Token p4 = vecBinary(s, VecBinaryOp::Mul, rows, len, t2, a, sn,
                                   Broadcast::None, 0, {p3});
              Token p5 = vecBinary(s, VecBinaryOp::Mul, rows, len, a, b, cs,
                                   Broadcast::None, 0, {p4});
              Token p6 = vecBinary(s, VecBinaryOp::Add, rows, len, b, t2, a,
                                   Broadcast::None, 0, {p5});
              Token sa =
                  e.copyF32(s, t1, {y.codes, base}, counts, packed, hbm, {p3});
              Token sb = e.copyF32(s, b, {y.codes, base + bOffset}, counts,
                                   packed, hbm, {p6});
              return llvm::SmallVector<Token, 4>{sa, sb};
            });
      });
  if (err)
    return err;
  e.endPhase();
  return Error::success();
}

Error maia_lowering::emitGatherRows(ProgramEmitter &e, const HbmMatrix &table,
                                    llvm::ArrayRef<int64_t> rows,
                                    const HbmMatrix &y) {
  int64_t n = table.cols;
  uint64_t row = uint64_t(n) * 4;
  Error err = forEachShare(
      e, int64_t(rows.size()), [&](unsigned i, int64_t r0, int64_t m) -> Error {
        TileStream &s = e.stream(i);
        Expected<BufferRef> buf = e.allocateTsram(i, m * row, FloatFormat::F32);
        if (!buf)
          return buf.takeError();
        llvm::SmallVector<Token, 8> loads;
        for (int64_t r = 0; r < m; ++r)
          loads.push_back(e.copyRows(s, {table.codes, rows[r0 + r] * row}, row,
                                     e.view(*buf, FloatFormat::F32, r * row),
                                     row, 1, row, {}));
        storeRowsF32(e, s, *buf, y, r0, m, loads);
        return Error::success();
      });
  if (err)
    return err;
  e.endPhase();
  return Error::success();
}

Error maia_lowering::emitStoreRows(ProgramEmitter &e, const HbmMatrix &src,
                                   const HbmMatrix &dst, int64_t dstRow) {
  uint64_t row = uint64_t(src.cols) * 4;
  int64_t chunk = storeRowsChunkRows(e.getTarget(), src.cols);
  Error err = forEachShare(
      e, src.rows, [&](unsigned i, int64_t r0, int64_t m) -> Error {
        TileStream &s = e.stream(i);
        int64_t c = std::min(chunk, m);
        Expected<BufferRef> buf = e.allocateTsram(i, c * row, FloatFormat::F32);
        if (!buf)
          return buf.takeError();
        return forEachChunk(
            r0, m, c,
            [&](int64_t c0, int64_t rows, llvm::ArrayRef<Token> previous)
                -> Expected<llvm::SmallVector<Token, 4>> {
              Token t = loadRowsF32(e, s, src, c0, rows, *buf, previous);
              return llvm::SmallVector<Token, 4>{
                  storeRowsF32(e, s, *buf, dst, dstRow + c0, rows, {t})};
            });
      });
  if (err)
    return err;
  e.endPhase();
  return Error::success();
}

namespace {

/// The TSRAM buffers of an attention task.
struct AttentionBuffers {
  BufferRef kh, vt, qh, scores, maskRows, stat;
};

/// Scores, softmax and the weighted values of `rows` query rows in qh
/// against the keys in kh and values in vt, in the evaluator's order; the
/// outputs replace qh. `kArrived` and `vArrived` are waits of the two
/// products on semaphores another tile signals when K and V are in place;
/// `vReady` the completion of a load of V by this tile.
Token attendRows(TileStream &s, const AttentionBuffers &b, int64_t rows,
                 int64_t keys, int64_t hd, float scale, bool masked,
                 llvm::ArrayRef<Token> ready,
                 llvm::ArrayRef<maia::SemWait> kArrived,
                 std::optional<Token> vReady = std::nullopt,
                 llvm::ArrayRef<maia::SemWait> vArrived = {},
                 llvm::function_ref<void()> beforeValues = nullptr) {
  using maia::Broadcast;
  using maia::VecBinaryOp;
  maia::MatmulInst qk;
  qk.m = rows;
  qk.n = keys;
  qk.k = hd;
  qk.a.data = b.qh;
  qk.b.data = b.kh;
  qk.acc = b.scores;
  llvm::append_range(qk.sync.waits, kArrived);
  Token t = s.issue(std::move(qk), ready);
  t = vecBinary(s, VecBinaryOp::Mul, rows, keys, b.scores, b.scores, b.scores,
                Broadcast::Scalar, scale, {t});
  if (masked)
    t = vecBinary(s, VecBinaryOp::Add, rows, keys, b.scores, b.scores,
                  b.maskRows, Broadcast::None, 0, {t});
  // softmax: subtract the row max, exp, divide by the sum.
  t = vecReduce(s, maia::VecReduceOp::Max, rows, keys, b.stat, b.scores, {t});
  t = vecBinary(s, VecBinaryOp::Sub, rows, keys, b.scores, b.scores, b.stat,
                Broadcast::Column, 0, {t});
  t = vecUnary(s, maia::VecUnaryOp::Exp, rows, keys, b.scores, b.scores, {t});
  t = vecReduce(s, maia::VecReduceOp::Sum, rows, keys, b.stat, b.scores, {t});
  t = vecBinary(s, VecBinaryOp::Div, rows, keys, b.scores, b.scores, b.stat,
                Broadcast::Column, 0, {t});
  maia::MatmulInst pv;
  pv.m = rows;
  pv.n = hd;
  pv.k = keys;
  pv.a.data = b.scores;
  pv.b.data = b.vt;
  pv.acc = b.qh;
  if (beforeValues)
    beforeValues();
  llvm::append_range(pv.sync.waits, vArrived);
  llvm::SmallVector<Token, 2> deps = {t};
  if (vReady)
    deps.push_back(*vReady);
  return s.issue(std::move(pv), deps);
}

/// One cluster's part of single-row attention: its KV groups in turn, each
/// group's K_h and V_h^T read from HBM once and multicast to the tiles
/// that compute its heads.
class ClusterAttention {
public:
  struct Group {
    int64_t kvHead;
    /// (stream, head) of each head of the group.
    std::vector<std::pair<unsigned, int64_t>> heads;
  };

  ClusterAttention(ProgramEmitter &e, const HbmMatrix &q, const HbmMatrix &k,
                   const HbmMatrix &v, int64_t keys, int64_t hd, float scale,
                   const HbmMatrix &out, std::vector<Group> groups)
      : e(e), q(q), k(k), v(v), keys(keys), hd(hd), scale(scale), out(out),
        groups(std::move(groups)) {}

  Error emit() {
    if (Error err = allocate())
      return err;
    for (size_t gi = 0; gi < groups.size(); ++gi)
      emitGroup(gi);
    for (auto &[stream, sems] : semaphores)
      for (uint32_t sem : sems)
        e.stream(stream).releaseSemaphore(sem);
    return Error::success();
  }

private:
  std::vector<unsigned> participants(const Group &g) const {
    std::vector<unsigned> streams;
    for (auto [stream, head] : g.heads)
      if (!llvm::is_contained(streams, stream))
        streams.push_back(stream);
    return streams;
  }

  /// The same buffers at the same offsets on every tile of the cluster
  /// (multicast writes one address in each TSRAM); two semaphores per
  /// tile: "K and V arrived" (signalled by the issuer) and "K and V are
  /// free again" (signalled to the issuer).
  Error allocate() {
    std::vector<unsigned> streams;
    for (const Group &g : groups)
      for (unsigned st : participants(g))
        if (!llvm::is_contained(streams, st))
          streams.push_back(st);
    std::optional<uint64_t> offset;
    for (unsigned st : streams) {
      llvm::SmallVector<BufferRef, 6> b;
      for (uint64_t floats : {uint64_t(keys * hd), uint64_t(keys * hd),
                              uint64_t(hd), uint64_t(keys), uint64_t(1)}) {
        Expected<BufferRef> ref =
            e.allocateTsram(st, floats * 4, FloatFormat::F32);
        if (!ref)
          return ref.takeError();
        b.push_back(*ref);
      }
      assert((!offset || *offset == b[0].offset) &&
             "multicast needs one layout on every tile of the set");
      offset = b[0].offset;
      (void)offset;
      buffers[st] = {b[0], b[1], b[2], b[3], BufferRef(), b[4]};
      TileStream &s = e.stream(st);
      semaphores[st] = {s.reserveSemaphore(), s.reserveSemaphore(),
                        s.reserveSemaphore()};
    }
    return Error::success();
  }

  uint32_t maskOf(llvm::ArrayRef<unsigned> streams) const {
    uint32_t mask = 0;
    int64_t perCluster = e.getTarget().tilesPerCluster;
    for (unsigned st : streams)
      mask |= 1u << (e.stream(st).tile() % perCluster);
    return mask;
  }

  void emitGroup(size_t gi) {
    const Group &g = groups[gi];
    std::vector<unsigned> streams = participants(g);
    unsigned issuer = streams.front();
    TileStream &s = e.stream(issuer);
    const AttentionBuffers &ib = buffers[issuer];
    uint64_t kvRow = k.cols * 4ull, hdBytes = hd * 4ull;
    // The previous group's receivers are done with K and V.
    llvm::SmallVector<maia::SemWait, 1> free;
    if (gi > 0 && freeCount > 0)
      free.push_back({{s.tile(), semaphores[issuer][2]}, freeCount});
    // Query rows first: they are small and on the critical path, and K and
    // V hold their queues until they arrive.
    std::map<unsigned, std::vector<int64_t>> headsOf;
    for (auto [stream, head] : g.heads)
      headsOf[stream].push_back(head);
    std::map<unsigned, Token> firstQuery;
    for (unsigned st : streams)
      firstQuery[st] = loadQuery(st, headsOf[st].front(), lastUse[st]);
    llvm::SmallVector<Token, 1> deps = lastUse[issuer];
    maia::DmaInst kLoad =
        makeRowCopy(s.nextQueue(), {k.codes, g.kvHead * hdBytes}, kvRow, ib.kh,
                    hdBytes, keys, hdBytes);
    kLoad.multicast = streams.size() > 1 ? maskOf(streams) : 0;
    kLoad.sync.waits.assign(free.begin(), free.end());
    Token kDone = s.issue(std::move(kLoad), deps);
    maia::DmaInst vLoad;
    vLoad.queue = s.nextQueue();
    vLoad.src = {v.codes, g.kvHead * hdBytes};
    vLoad.dst = ib.vt;
    vLoad.elementBytes = 4;
    vLoad.counts = {uint64_t(hd), uint64_t(keys), 1};
    vLoad.srcStrides = {4, kvRow, 0};
    vLoad.dstStrides = {uint64_t(keys) * 4, 4, 0};
    vLoad.multicast = kLoad.multicast;
    Token vDone = s.issue(std::move(vLoad), deps);
    for (unsigned st : streams)
      e.idle(st);
    // The issuer relays the arrivals to the other receivers: K before its
    // own scores, V before its own weighted values, so that everyone's
    // scores run while V is on its way.
    auto relay = [&](Token done, int which) {
      if (streams.size() == 1)
        return;
      s.waitFor(done);
      for (unsigned st : llvm::drop_begin(streams))
        s.append(maia::SemSignalInst{
            {e.stream(st).tile(), semaphores[st][which]}, 1});
    };
    relay(kDone, 0);
    bool vRelayed = false;
    freeCount = 0;
    bool more = gi + 1 < groups.size();
    for (unsigned st : streams) {
      TileStream &ts = e.stream(st);
      llvm::SmallVector<maia::SemWait, 1> kArrived, vArrived;
      llvm::SmallVector<Token, 3> ready = {firstQuery[st]};
      std::optional<Token> vReady;
      if (st == issuer) {
        ready.push_back(kDone);
        vReady = vDone;
      } else {
        kArrived.push_back({{ts.tile(), semaphores[st][0]}, 1});
        vArrived.push_back({{ts.tile(), semaphores[st][1]}, 1});
      }
      std::optional<Token> stored;
      for (auto [n, head] : llvm::enumerate(headsOf[st])) {
        if (n > 0)
          ready = {loadQuery(st, head, {*stored})};
        auto relayValues = [&] {
          if (st == issuer && !vRelayed) {
            relay(vDone, 1);
            vRelayed = true;
          }
        };
        Token t = attendRows(ts, buffers[st], 1, keys, hd, scale,
                             /*masked=*/false, ready, kArrived, vReady,
                             vArrived, relayValues);
        kArrived.clear();
        vArrived.clear();
        vReady.reset();
        stored = e.copyRows(ts, buffers[st].qh, hdBytes,
                            {out.codes, uint64_t(head) * hdBytes}, hdBytes, 1,
                            hdBytes, {t});
      }
      lastUse[st] = {*stored};
      e.idle(st);
      if (more && st != issuer) {
        // K and V may be overwritten once the last product read them.
        ts.waitFor(*stored);
        ts.append(maia::SemSignalInst{{s.tile(), semaphores[issuer][2]}, 1});
        ++freeCount;
      }
    }
  }

  Token loadQuery(unsigned st, int64_t head, llvm::ArrayRef<Token> deps) {
    uint64_t hdBytes = hd * 4ull;
    return e.copyRows(e.stream(st), {q.codes, uint64_t(head) * hdBytes},
                      hdBytes, buffers[st].qh, hdBytes, 1, hdBytes, deps);
  }

  ProgramEmitter &e;
  const HbmMatrix &q, &k, &v;
  int64_t keys, hd;
  float scale;
  const HbmMatrix &out;
  std::vector<Group> groups;
  std::map<unsigned, AttentionBuffers> buffers;
  /// Per tile: K arrived, V arrived, K and V free (on the issuer).
  std::map<unsigned, std::array<uint32_t, 3>> semaphores;
  std::map<unsigned, llvm::SmallVector<Token, 1>> lastUse;
  uint32_t freeCount = 0;
};

/// Attention of one query row: the heads of a KV group on a set of tiles of
/// one cluster, sharing one read of the group's cache rows
/// (planSharedKvAttention).
Error emitSharedKvAttention(ProgramEmitter &e, const HbmMatrix &q,
                            const HbmMatrix &k, const HbmMatrix &v,
                            int64_t keys, int64_t heads, int64_t kvHeads,
                            int64_t hd, float scale, const HbmMatrix &out) {
  SharedKvAttentionPlan plan =
      planSharedKvAttention(e.getTarget(), e.numTiles(), heads, kvHeads);
  int64_t group = heads / kvHeads;
  std::vector<bool> busy(e.numTiles(), false);
  for (const SharedKvAttentionPlan::Set &set : plan.sets) {
    std::vector<ClusterAttention::Group> groups;
    for (int64_t g : set.kvHeads) {
      ClusterAttention::Group kv{g, {}};
      for (int64_t j = 0; j < group; ++j)
        kv.heads.push_back(
            {set.streams[j % set.streams.size()], g * group + j});
      groups.push_back(std::move(kv));
    }
    for (unsigned st : set.streams)
      busy[st] = true;
    if (Error err = ClusterAttention(e, q, k, v, keys, hd, scale, out,
                                     std::move(groups))
                        .emit())
      return err;
  }
  for (unsigned i = 0; i < e.numTiles(); ++i)
    if (!busy[i])
      e.idle(i);
  return Error::success();
}

} // namespace

Error maia_lowering::emitAttention(ProgramEmitter &e, const HbmMatrix &q,
                                   const HbmMatrix &k, const HbmMatrix &v,
                                   int64_t keys, int64_t start, int64_t heads,
                                   int64_t kvHeads, int64_t headDim,
                                   float scale, bool causal,
                                   const HbmMatrix &out, uint32_t mask) {
  int64_t seq = q.rows, hd = headDim, group = heads / kvHeads;
  if (seq == 1) {
    if (attentionTsramBytes(keys, hd, 1) >
        uint64_t(e.getTarget().tsramBytesPerTile))
      return llvm::createStringError("attention over " + llvm::Twine(keys) +
                                     " keys does not fit in TSRAM");
    if (Error err = emitSharedKvAttention(e, q, k, v, keys, heads, kvHeads, hd,
                                          scale, out))
      return err;
    e.endPhase();
    return Error::success();
  }
  uint64_t qRow = q.cols * 4ull, kvRow = k.cols * 4ull, hdBytes = hd * 4ull;
  // Per task (a head and a block of query rows): K_h [keys, hd], V_h^T
  // [hd, keys], and per query row its q, scores and mask rows.
  int64_t block = attentionBlockRows(e.getTarget(), keys, hd);
  if (block == 0)
    return llvm::createStringError("attention over " + llvm::Twine(keys) +
                                   " keys does not fit in TSRAM");
  bool masked = causal && seq > 1;
  struct Task {
    int64_t head, s0, rows;
  };
  std::vector<Task> tasks;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t s0 = 0; s0 < seq; s0 += block)
      tasks.push_back({h, s0, std::min(block, seq - s0)});
  std::vector<std::vector<Task>> perTile(e.numTiles());
  for (size_t t = 0; t < tasks.size(); ++t)
    perTile[t % perTile.size()].push_back(tasks[t]);
  for (unsigned i = 0; i < perTile.size(); ++i) {
    if (perTile[i].empty())
      continue;
    TileStream &s = e.stream(i);
    int64_t rowsMax = std::min(block, seq);
    Expected<llvm::SmallVector<BufferRef, 6>> bufs =
        allocateF32Buffers(e, i,
                           {uint64_t(keys * hd), uint64_t(keys * hd),
                            uint64_t(rowsMax * hd), uint64_t(rowsMax * keys),
                            uint64_t(rowsMax * keys), uint64_t(rowsMax)});
    if (!bufs)
      return bufs.takeError();
    BufferRef kh = (*bufs)[0], vt = (*bufs)[1], qh = (*bufs)[2],
              scores = (*bufs)[3], maskRows = (*bufs)[4], stat = (*bufs)[5];
    llvm::SmallVector<Token, 4> previous;
    int64_t loadedKv = -1;
    for (const Task &task : perTile[i]) {
      using maia::Broadcast;
      using maia::VecBinaryOp;
      int64_t g = task.head / group, rows = task.rows;
      llvm::SmallVector<Token, 4> ready;
      if (g != loadedKv) {
        // K_h rows [keys, hd]; V_h transposed to [hd, keys].
        ready.push_back(e.copyRows(s, {k.codes, g * hdBytes}, kvRow, kh,
                                   hdBytes, keys, hdBytes, previous));
        ready.push_back(e.copyF32(
            s, {v.codes, g * hdBytes}, vt, {uint64_t(hd), uint64_t(keys), 1},
            {4, kvRow, 0}, {uint64_t(keys) * 4, 4, 0}, previous));
        loadedKv = g;
      }
      ready.push_back(
          e.copyRows(s, {q.codes, task.s0 * qRow + task.head * hdBytes}, qRow,
                     qh, hdBytes, rows, hdBytes, previous));
      if (masked)
        ready.push_back(e.copyRows(s, {mask, uint64_t(task.s0) * keys * 4},
                                   keys * 4ull, maskRows, keys * 4ull, rows,
                                   keys * 4ull, previous));
      AttentionBuffers b{kh, vt, qh, scores, maskRows, stat};
      Token t = attendRows(s, b, rows, keys, hd, scale, masked, ready, {});
      previous = {e.copyRows(s, qh, hdBytes,
                             {out.codes, task.s0 * qRow + task.head * hdBytes},
                             qRow, rows, hdBytes, {t})};
    }
  }
  e.endPhase();
  return Error::success();
}
