//===- RowProducts.cpp - single-row products that stream weights ---------===//

#include "RowProducts.h"
#include "Kernels.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>

using namespace mixtile;
using namespace mixtile::maia_lowering;
using llvm::Error;
using llvm::Expected;

namespace {

constexpr uint64_t kAlignment = 64;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
uint64_t alignTo(uint64_t a) {
  return (a + kAlignment - 1) / kAlignment * kAlignment;
}

/// HBM bytes of one row of `w`'s codes and scales.
int64_t rowCost(const HbmMatrix &w) { return storageOf(w).bytes(1, w.cols); }

/// The first of `rows` rows (each `cost` bytes, starting `prefix` bytes into
/// a stream of `total`) that stream `i` of `streams` computes: a multiple of
/// `align`.
int64_t firstRow(int64_t total, int64_t prefix, int64_t cost, int64_t rows,
                 unsigned streams, unsigned i, int64_t align = 1) {
  int64_t begin = total * int64_t(i) / int64_t(streams) - prefix;
  return begin <= 0
             ? 0
             : std::min(rows, ceilDiv(ceilDiv(begin, cost), align) * align);
}

/// The rows a segment of `p` starts at a multiple of: whole feature pairs of
/// its rotary embedding (adjacent when interleaved, half a head apart when
/// not).
int64_t rowAlignment(const RowProduct &p) {
  if (!p.rope)
    return 1;
  return p.rope->interleaved ? 2 : p.rope->headDim;
}

} // namespace

RowProductPlan maia_lowering::planRowProducts(const RowProductGroup &group,
                                              unsigned streams,
                                              uint64_t chunkBytes) {
  RowProductPlan plan(streams);
  auto chunkRows = [&](int64_t cost) {
    return std::max<int64_t>(1, int64_t(chunkBytes) / cost);
  };
  if (group.epilogue == RowEpilogue::SiluMul) {
    // A stream computes the same rows of gate and up, so that it can
    // combine them.
    int64_t gate = rowCost(group.products[0].w),
            up = rowCost(group.products[1].w);
    int64_t rows = group.products[0].w.rows, total = rows * (gate + up);
    for (unsigned i = 0; i < streams; ++i) {
      int64_t a = firstRow(total, 0, gate + up, rows, streams, i);
      int64_t b = firstRow(total, 0, gate + up, rows, streams, i + 1);
      if (b == a)
        continue;
      int64_t chunk = chunkRows(std::max(gate, up));
      plan[i].push_back({0, a, b - a, chunk});
      plan[i].push_back({1, a, b - a, chunk});
    }
    return plan;
  }
  // The products' rows one after another, cut into equal byte ranges.
  int64_t total = 0;
  for (const RowProduct &p : group.products)
    total += p.w.rows * rowCost(p.w);
  int64_t prefix = 0;
  for (auto [j, p] : llvm::enumerate(group.products)) {
    int64_t cost = rowCost(p.w), align = rowAlignment(p);
    for (unsigned i = 0; i < streams; ++i) {
      int64_t a = firstRow(total, prefix, cost, p.w.rows, streams, i, align);
      int64_t b =
          firstRow(total, prefix, cost, p.w.rows, streams, i + 1, align);
      if (b > a)
        plan[i].push_back({unsigned(j), a, b - a, chunkRows(cost)});
    }
    prefix += p.w.rows * cost;
  }
  return plan;
}

std::vector<WeightChunk>
maia_lowering::weightChunks(const RowProductGroup &group,
                            const RowProductPlan &plan, unsigned i) {
  std::vector<WeightChunk> chunks;
  for (const RowSegment &seg : plan[i])
    for (int64_t c0 = 0; c0 < seg.rows; c0 += seg.chunkRows)
      chunks.push_back({group.products[seg.product].w, seg.n0 + c0,
                        std::min(seg.chunkRows, seg.rows - c0)});
  return chunks;
}

uint64_t maia_lowering::slotBytes(const WeightChunk &chunk) {
  const HbmMatrix &w = chunk.w;
  return alignTo(chunk.rows * rowBytes(w.format, w.cols)) +
         alignTo(*maia::getScaleBytes(w.mode, w.block, chunk.rows, w.cols));
}

//===----------------------------------------------------------------------===//
// WeightRing
//===----------------------------------------------------------------------===//

void WeightRing::append(llvm::ArrayRef<WeightChunk> chunks) {
  llvm::append_range(sequence, chunks);
}

void WeightRing::setSlots(BufferRef slotBase, unsigned count, uint64_t bytes,
                          bool carry, std::vector<maia::DmaQueue> ringQueues) {
  assert(count > 0 && issued == taken && "slots change only when empty");
  base = slotBase;
  slotSize = bytes;
  carried = carry;
  queues = {std::move(ringQueues), 0};
  slotUsers.assign(count, std::nullopt);
  staged.assign(count, {});
}

void WeightRing::fill(unsigned ahead) {
  while (issued < sequence.size() && issued <= taken + ahead &&
         issued < taken + numSlots())
    issue(issued++);
}

void WeightRing::issue(size_t chunk) {
  const WeightChunk &c = sequence[chunk];
  unsigned slot = chunk % numSlots();
  assert(slotBytes(c) <= slotSize && "every chunk fits a slot");
  BufferRef at{base.buffer, base.offset + slot * slotSize};
  StagedPart part;
  part.rows = c.rows;
  part.cols = c.w.cols;
  part.operand.data = e.view(at, c.w.format);
  part.operand.format = c.w.format;
  part.operand.scaleMode = c.w.mode;
  part.operand.block = c.w.block;
  if (c.w.mode != ScaleMode::None)
    part.operand.scales =
        e.view(at, maia::getScaleBufferFormat(c.w.mode),
               alignTo(c.rows * rowBytes(c.w.format, c.w.cols)));
  llvm::SmallVector<Token, 1> deps;
  if (slotUsers[slot])
    deps.push_back(*slotUsers[slot]);
  TileStream &s = e.stream(stream);
  TileStream::QueueRotation others = s.swapQueues(std::move(queues));
  llvm::SmallVector<Token, 4> loads = loadPart(e, s, c.w, c.n0, 0, part, deps);
  queues = s.swapQueues(std::move(others));
  if (carried)
    for (Token t : loads)
      s.markCarried(t);
  staged[slot] = {part.operand, c.rows, std::move(loads)};
}

WeightRing::Taken WeightRing::take() {
  if (issued == taken)
    fill(0);
  assert(issued > taken && "take() past the end of the weight sequence");
  return staged[taken++ % numSlots()];
}

void WeightRing::release(Token user) {
  slotUsers[(taken - 1) % numSlots()] = user;
}

/// Tile queues for everything but the weight ring: all but one of the
/// tile's own (the input row, the norm weight and the epilogue's inputs
/// issue back to back at a phase's start); the ring has that one and the
/// tile's share of the cluster's queues.
static int64_t activationTileQueues(const TargetModel &target) {
  return std::max<int64_t>(1, target.dmaQueuesPerTile - 1);
}

std::vector<maia::DmaQueue> maia_lowering::ringQueues(const TargetModel &target,
                                                      uint32_t tile) {
  std::vector<maia::DmaQueue> queues;
  int64_t share = target.dmaQueuesPerCluster / target.tilesPerCluster;
  int64_t slot = tile % target.tilesPerCluster;
  for (int64_t q = 0; q < share; ++q)
    queues.push_back(
        {maia::DmaQueue::Kind::Cluster, uint32_t(slot * share + q)});
  for (int64_t q = activationTileQueues(target); q < target.dmaQueuesPerTile;
       ++q)
    queues.push_back({maia::DmaQueue::Kind::Tile, uint32_t(q)});
  return queues;
}

std::vector<maia::DmaQueue>
maia_lowering::activationQueues(const TargetModel &target) {
  std::vector<maia::DmaQueue> queues;
  for (int64_t q = 0; q < activationTileQueues(target); ++q)
    queues.push_back({maia::DmaQueue::Kind::Tile, uint32_t(q)});
  return queues;
}

//===----------------------------------------------------------------------===//
// The group kernel
//===----------------------------------------------------------------------===//

namespace {

/// How a stream gets the input row (and the norm's weight): loads it
/// itself, multicast to the other tiles of its cluster when `multicast` is
/// set (then it signals `receivers` once the rows are in place), or waits
/// for that signal on its semaphore `receiver`.
struct InputSharing {
  uint32_t multicast = 0;
  llvm::SmallVector<maia::SemRef, 3> receivers;
  std::optional<uint32_t> receiver;
};

/// One stream's part of a group.
class StreamRowProducts {
public:
  StreamRowProducts(ProgramEmitter &e, unsigned i, const RowProductGroup &g,
                    llvm::ArrayRef<RowSegment> segments, WeightRing &ring,
                    const WeightRingPolicy &policy, const InputSharing &share)
      : e(e), i(i), s(e.stream(i)), g(g), segments(segments), ring(ring),
        policy(policy), share(share) {}

  Error emit() {
    int64_t k = g.x.cols;
    // The input row and the norm's weight first, at the same offsets on
    // every tile, so that one tile of a cluster can load them for all.
    Expected<BufferRef> x = allocateF32(k);
    if (!x)
      return x.takeError();
    std::optional<BufferRef> w;
    if (g.normWeight) {
      Expected<BufferRef> ref = allocateF32(k);
      if (!ref)
        return ref.takeError();
      w = *ref;
    }
    llvm::SmallVector<Token, 2> inputsLoaded;
    if (!share.receiver) {
      auto load = [&](uint32_t from, BufferRef to) {
        maia::DmaInst dma =
            makeRowCopy(s.nextQueue(), {from, 0}, k * 4, to, k * 4, 1, k * 4);
        dma.multicast = share.multicast;
        inputsLoaded.push_back(s.issue(std::move(dma), {}));
      };
      load(g.x.codes, *x);
      if (w)
        load(*g.normWeight, *w);
    }
    // Weights for the slots left free at the end of the previous phase,
    // queued behind the input row so that HBM stays busy while it arrives.
    ring.fill(policy.headAhead);
    if (Error err = loadEpilogueInputs())
      return err;
    Token xLoaded = s.ready(), wLoaded = s.ready();
    if (share.receiver) {
      s.append(maia::SemWaitInst{{s.tile(), *share.receiver}, 1});
    } else if (!share.receivers.empty()) {
      // Relay: the rows arrived, to every other tile of the cluster.
      for (Token t : inputsLoaded)
        s.waitFor(t);
      for (maia::SemRef sem : share.receivers)
        s.append(maia::SemSignalInst{sem, 1});
    } else {
      xLoaded = inputsLoaded.front();
      wLoaded = inputsLoaded.back();
    }
    in = *x;
    inReady = xLoaded;
    if (w)
      if (Error err = normalize(*x, xLoaded, {*w, wLoaded}))
        return err;
    for (auto [index, seg] : llvm::enumerate(segments))
      if (Error err = multiply(index, seg))
        return err;
    return storeResults();
  }

private:
  struct SegmentState {
    BufferRef out, extra;
    std::optional<Token> extraLoaded;
    Token done;
    /// Rotary embedding: the segment's cos and sin values, the two halves
    /// of its pairs and two products.
    llvm::SmallVector<BufferRef, 6> rope;
    llvm::SmallVector<Token, 2> tablesLoaded;
  };

  Expected<BufferRef> allocateF32(int64_t floats) {
    return e.allocateTsram(i, uint64_t(floats) * 4, FloatFormat::F32);
  }

  /// Result rows, and the residual or bias rows the epilogue adds, loaded
  /// while the input row arrives.
  Error loadEpilogueInputs() {
    for (const RowSegment &seg : segments) {
      SegmentState st;
      Expected<BufferRef> out = allocateF32(seg.rows);
      if (!out)
        return out.takeError();
      st.out = *out;
      std::optional<uint32_t> source;
      if (g.epilogue == RowEpilogue::Residual)
        source = g.residual.codes;
      else if (g.products[seg.product].bias)
        source = *g.products[seg.product].bias;
      if (const std::optional<RowProduct::Rope> &rope =
              g.products[seg.product].rope)
        if (Error err = loadRopeTables(seg, *rope, st))
          return err;
      if (source) {
        Expected<BufferRef> extra = allocateF32(seg.rows);
        if (!extra)
          return extra.takeError();
        st.extra = *extra;
        uint64_t bytes = uint64_t(seg.rows) * 4;
        st.extraLoaded = e.copyRows(s, {*source, uint64_t(seg.n0) * 4}, bytes,
                                    *extra, bytes, 1, bytes, {});
      }
      state.push_back(st);
    }
    return Error::success();
  }

  /// The cos and sin values of the segment's pairs: the pairs of features
  /// [n0, n0 + rows) are pairs [n0 / 2, (n0 + rows) / 2) in either style.
  Error loadRopeTables(const RowSegment &seg, const RowProduct::Rope &rope,
                       SegmentState &st) {
    int64_t pairs = seg.rows / 2;
    // cos and sin side by side, loaded in one DMA.
    Expected<BufferRef> tables = allocateF32(2 * pairs);
    if (!tables)
      return tables.takeError();
    st.rope = {*tables, e.view(*tables, FloatFormat::F32, pairs * 4)};
    for (int b = 0; b < 4; ++b) {
      Expected<BufferRef> buffer = allocateF32(pairs);
      if (!buffer)
        return buffer.takeError();
      st.rope.push_back(*buffer);
    }
    st.tablesLoaded.push_back(
        e.copyF32(s, {rope.table, uint64_t(seg.n0 / 2) * 4}, *tables,
                  {2, 1, uint64_t(pairs)}, {rope.sinOffset, 0, 4},
                  {uint64_t(pairs) * 4, 0, 4}, {}));
    return Error::success();
  }

  /// Rotates the pairs of the segment's results in place, with emitRope's
  /// operations; returns the completions of the results.
  llvm::SmallVector<Token, 2> rotate(const RowSegment &seg,
                                     const RowProduct::Rope &rope,
                                     const SegmentState &st) {
    using maia::Broadcast;
    using maia::VecBinaryOp;
    int64_t pairs = seg.rows / 2, hd = rope.headDim;
    // Element (group, i) of the pairs' halves a and b in the results, and
    // packed.
    std::array<uint64_t, 3> counts, spread, packed;
    uint64_t bOffset;
    if (rope.interleaved) {
      counts = {1, 1, uint64_t(pairs)};
      spread = {0, 0, 8};
      packed = {0, 0, 4};
      bOffset = 4;
    } else {
      counts = {1, uint64_t(seg.rows / hd), uint64_t(hd / 2)};
      spread = {0, uint64_t(hd) * 4, 4};
      packed = {0, uint64_t(hd / 2) * 4, 4};
      bOffset = uint64_t(hd / 2) * 4;
    }
    BufferRef outB = e.view(st.out, FloatFormat::F32, bOffset);
    BufferRef cs = st.rope[0], sn = st.rope[1], a = st.rope[2], b = st.rope[3],
              t1 = st.rope[4], t2 = st.rope[5];
    Token la = e.copyF32(s, st.out, a, counts, spread, packed, {st.done});
    Token lb = e.copyF32(s, outB, b, counts, spread, packed, {st.done});
    // a' = a cos - b sin; b' = a sin + b cos.
    Token p1 = vecBinary(s, VecBinaryOp::Mul, 1, pairs, t1, a, cs,
                         Broadcast::None, 0, {la, st.tablesLoaded[0]});
    Token p2 = vecBinary(s, VecBinaryOp::Mul, 1, pairs, t2, b, sn,
                         Broadcast::None, 0, {lb});
    Token p3 = vecBinary(s, VecBinaryOp::Sub, 1, pairs, t1, t1, t2,
                         Broadcast::None, 0, {p1, p2});
    Token p4 = vecBinary(s, VecBinaryOp::Mul, 1, pairs, t2, a, sn,
                         Broadcast::None, 0, {p3});
    Token p5 = vecBinary(s, VecBinaryOp::Mul, 1, pairs, a, b, cs,
                         Broadcast::None, 0, {p4});
    Token p6 = vecBinary(s, VecBinaryOp::Add, 1, pairs, b, t2, a,
                         Broadcast::None, 0, {p5});
    return {e.copyF32(s, t1, st.out, counts, packed, spread, {p3}),
            e.copyF32(s, b, outB, counts, packed, spread, {p6})};
  }

  /// in = rms_norm(x) * weight, as emitRMSNorm computes it.
  Error normalize(BufferRef x, Token xLoaded,
                  std::pair<BufferRef, Token> weight) {
    int64_t k = g.x.cols;
    Expected<BufferRef> r = allocateF32(1), normed = allocateF32(k);
    if (!r || !normed)
      return llvm::joinErrors(r.takeError(), normed.takeError());
    inReady = emitRMSNormRows(s, 1, k, x, *normed, *r, weight.first, g.epsilon,
                              xLoaded, weight.second);
    in = *normed;
    return Error::success();
  }

  /// The input row in `f`, quantized once per format.
  Expected<std::pair<maia::TensorOperand, Token>>
  inputIn(const InputFormat &f) {
    for (auto &[format, operand] : inputs)
      if (format == f)
        return operand;
    maia::TensorOperand a;
    a.data = in;
    Token ready = inReady;
    if (f.format != FloatFormat::F32 || f.mode != ScaleMode::None) {
      HbmMatrix q;
      q.format = f.format;
      q.mode = f.mode;
      q.block = f.block;
      q.rows = 1;
      q.cols = g.x.cols;
      Expected<StagedPart> part = allocatePart(e, i, q, 1, g.x.cols);
      if (!part)
        return part.takeError();
      maia::VecQuantizeInst quant;
      quant.rows = 1;
      quant.len = g.x.cols;
      quant.dst = part->operand;
      quant.src = in;
      a = part->operand;
      ready = s.issue(std::move(quant), {inReady});
    }
    inputs.push_back({f, {a, ready}});
    return inputs.back().second;
  }

  /// The chunks of one segment, each one mm over all of K into its rows of
  /// the segment's results; then the bias.
  Error multiply(size_t index, const RowSegment &seg) {
    const RowProduct &p = g.products[seg.product];
    Expected<std::pair<maia::TensorOperand, Token>> a = inputIn(p.input);
    if (!a)
      return a.takeError();
    SegmentState &st = state[index];
    std::optional<Token> last;
    for (int64_t c0 = 0; c0 < seg.rows; c0 += seg.chunkRows) {
      ring.fill(policy.lookahead);
      WeightRing::Taken chunk = ring.take();
      maia::MatmulInst mm;
      mm.m = 1;
      mm.n = chunk.rows;
      mm.k = g.x.cols;
      mm.a = a->first;
      mm.b = chunk.operand;
      mm.acc = e.view(st.out, FloatFormat::F32, uint64_t(c0) * 4);
      llvm::SmallVector<Token, 6> deps(chunk.loads.begin(), chunk.loads.end());
      deps.push_back(a->second);
      last = s.issue(std::move(mm), deps);
      ring.release(*last);
    }
    // The tensor unit runs one product at a time: the last one done means
    // all are.
    st.done = *last;
    if (p.bias)
      st.done = vecBinary(s, maia::VecBinaryOp::Add, 1, seg.rows, st.out,
                          st.out, st.extra, maia::Broadcast::None, 0,
                          {st.done, *st.extraLoaded});
    return Error::success();
  }

  /// Writes a segment's results to columns [n0, n0 + rows) of `row` of
  /// `to`.
  void store(BufferRef from, const HbmMatrix &to, int64_t row,
             const RowSegment &seg, llvm::ArrayRef<Token> ready) {
    uint64_t bytes = uint64_t(seg.rows) * 4;
    e.copyRows(s, from, bytes, {to.codes, uint64_t(row * to.cols + seg.n0) * 4},
               bytes, 1, bytes, ready);
  }

  Error storeResults() {
    using maia::VecBinaryOp;
    switch (g.epilogue) {
    case RowEpilogue::Store:
      for (auto [seg, st] : llvm::zip_equal(segments, state)) {
        const RowProduct &p = g.products[seg.product];
        llvm::SmallVector<Token, 2> ready = {st.done};
        if (p.rope)
          ready = rotate(seg, *p.rope, st);
        store(st.out, p.y, p.yRow, seg, ready);
      }
      break;
    case RowEpilogue::Residual:
      for (auto [seg, st] : llvm::zip_equal(segments, state)) {
        BufferRef lhs = g.residualFirst ? st.extra : st.out;
        BufferRef rhs = g.residualFirst ? st.out : st.extra;
        Token sum =
            vecBinary(s, VecBinaryOp::Add, 1, seg.rows, st.out, lhs, rhs,
                      maia::Broadcast::None, 0, {st.done, *st.extraLoaded});
        store(st.out, g.out, 0, seg, {sum});
      }
      break;
    case RowEpilogue::SiluMul:
      for (size_t j = 0; j + 1 < segments.size(); j += 2) {
        SegmentState &gate = state[j], &up = state[j + 1];
        Token act = vecUnary(s, maia::VecUnaryOp::Silu, 1, segments[j].rows,
                             gate.out, gate.out, {gate.done});
        BufferRef lhs = g.siluFirst ? gate.out : up.out;
        BufferRef rhs = g.siluFirst ? up.out : gate.out;
        Token product =
            vecBinary(s, VecBinaryOp::Mul, 1, segments[j].rows, gate.out, lhs,
                      rhs, maia::Broadcast::None, 0, {act, up.done});
        store(gate.out, g.out, 0, segments[j], {product});
      }
      break;
    }
    return Error::success();
  }

  ProgramEmitter &e;
  unsigned i;
  TileStream &s;
  const RowProductGroup &g;
  llvm::ArrayRef<RowSegment> segments;
  WeightRing &ring;
  const WeightRingPolicy &policy;
  const InputSharing &share;
  std::vector<SegmentState> state;
  BufferRef in;
  Token inReady;
  llvm::SmallVector<
      std::pair<InputFormat, std::pair<maia::TensorOperand, Token>>, 2>
      inputs;
};

} // namespace

Error maia_lowering::emitRowProducts(ProgramEmitter &e,
                                     const RowProductGroup &group,
                                     const RowProductPlan &plan,
                                     std::vector<WeightRing> &rings,
                                     const WeightRingPolicy &policy) {
  // The tiles of a cluster share one read of the input row.
  const TargetModel &target = e.getTarget();
  std::vector<InputSharing> sharing(e.numTiles());
  std::map<uint32_t, std::vector<unsigned>> byCluster;
  for (unsigned i = 0; i < e.numTiles(); ++i)
    if (!plan[i].empty())
      byCluster[e.stream(i).tile() / target.tilesPerCluster].push_back(i);
  std::vector<std::pair<unsigned, uint32_t>> reserved;
  for (auto &[cluster, streams] : byCluster) {
    if (streams.size() < 2)
      continue;
    InputSharing &issuer = sharing[streams.front()];
    for (unsigned i : streams) {
      issuer.multicast |= 1u << (e.stream(i).tile() % target.tilesPerCluster);
      if (i == streams.front())
        continue;
      uint32_t sem = e.stream(i).reserveSemaphore();
      reserved.push_back({i, sem});
      sharing[i].receiver = sem;
      issuer.receivers.push_back({e.stream(i).tile(), sem});
    }
  }
  for (unsigned i = 0; i < e.numTiles(); ++i) {
    TileStream &s = e.stream(i);
    TileStream::QueueRotation others =
        s.swapQueues({activationQueues(e.getTarget()), 0});
    if (!plan[i].empty())
      if (Error err = StreamRowProducts(e, i, group, plan[i], rings[i], policy,
                                        sharing[i])
                          .emit())
        return err;
    // The next group's first weights, behind this one's results.
    rings[i].fill(plan[i].empty() ? rings[i].numSlots() : policy.tailAhead);
    s.swapQueues(std::move(others));
  }
  // Every signal was taken: the semaphores are 0 again.
  for (auto [i, sem] : reserved)
    e.stream(i).releaseSemaphore(sem);
  e.endPhase();
  return Error::success();
}
