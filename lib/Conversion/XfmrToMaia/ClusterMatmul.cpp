//===- ClusterMatmul.cpp - the cluster-cooperative matrix product ---------===//
//
// The tiles of a cluster compute a C block together, as a grid of
// sub-blocks (docs/MaiaKernels.md). A K chunk of an A row group is DMAed
// once and multicast to the tiles of its grid row, a chunk of a B column
// group to the tiles of its grid column, so a cluster reads each operand
// byte from HBM once per block instead of once per tile; with a resident A
// the row panel stays in CSRAM and later blocks of the panel copy it from
// there. Staging slots keep slots - 1 chunks in flight.
//
// Synchronisation is pairwise: the tile that issues a multicast tells each
// other receiver that the chunk arrived (a semaphore on the receiver, one
// per sender), and each receiver tells the issuer when its product of a
// chunk is done, which frees the slot for the next chunk (a semaphore on
// the issuer, one per receiver). Every stream issues in order, so a command
// is only placed where its waits are (nearly) satisfied: products right
// after the previous product's issue, block outputs one step later.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "llvm/ADT/STLExtras.h"

#include <deque>
#include <map>

using namespace mixtile;
using namespace mixtile::maia_lowering;
using llvm::Error;
using llvm::Expected;

namespace {

/// A tile of the cluster's grid.
struct GridPos {
  int64_t i = 0, j = 0;
  bool operator==(const GridPos &o) const { return i == o.i && j == o.j; }
  bool operator!=(const GridPos &o) const { return !(*this == o); }
  bool operator<(const GridPos &o) const {
    return i < o.i || (i == o.i && j < o.j);
  }
};

/// One K chunk of one block.
struct Step {
  size_t block = 0;
  int64_t k0 = 0, kc = 0, chunk = 0;
  bool first = false, last = false;
};

/// Rows [begin, end) of a range of `size` split into `parts` (part `i`).
std::pair<int64_t, int64_t> splitRange(int64_t size, int64_t parts, int64_t i) {
  return {size * i / parts, size * (i + 1) / parts};
}

/// Block scales per row of `cols` columns of `m` (0 without block scales).
int64_t blocksPerRow(const HbmMatrix &m, int64_t cols) {
  return maia::hasBlockScales(m.mode) ? (cols + m.block - 1) / m.block : 0;
}

/// The constant scale parts (one f32 per tensor, one per row) present in a
/// staging region, so that each is loaded once rather than per chunk.
struct WholeScalesLoaded {
  bool tensor = false;
  int64_t rowStart = -1, rows = 0;
};

/// The shared facts of one cluster's part of the product.
struct ClusterContext {
  ClusterContext(ProgramEmitter &e, const ClusterMatmulPlan &plan,
                 const ClusterMatmulLayout &layout,
                 const MatmulProblem &problem, const HbmMatrix &x,
                 const HbmMatrix &w, std::optional<uint32_t> bias,
                 const HbmMatrix &y, const ClusterMatmulPlan::Cluster &cluster,
                 std::vector<Step> steps)
      : e(e), plan(plan), layout(layout), problem(problem), x(x), w(w),
        bias(bias), y(y), cluster(cluster), steps(std::move(steps)) {}

  ProgramEmitter &e;
  const ClusterMatmulPlan &plan;
  const ClusterMatmulLayout &layout;
  const MatmulProblem &problem;
  const HbmMatrix &x, &w;
  std::optional<uint32_t> bias;
  const HbmMatrix &y;
  const ClusterMatmulPlan::Cluster &cluster;
  std::vector<Step> steps;
  /// The arena base, the same on every tile of the cluster.
  uint64_t tsramBase = 0;
  /// The resident A rows of each grid row, in CSRAM.
  std::vector<BufferRef> csramGroups;
  /// rSem[receiver][sender]: "the sender's chunk arrived" on the receiver;
  /// fSem[issuer][receiver]: "the receiver is done with a slot" on the
  /// issuer.
  std::map<GridPos, std::map<GridPos, uint32_t>> rSem, fSem;

  int64_t gridM() const { return plan.gridM; }
  int64_t gridN() const { return plan.gridN; }
  unsigned streamAt(GridPos p) const {
    return cluster.streams[p.i * plan.gridN + p.j];
  }
  uint32_t tileAt(GridPos p) { return e.stream(streamAt(p)).tile(); }
  /// Who multicasts the chunks of A row group i and of B column group j.
  GridPos issuerA(int64_t i) const {
    auto [gi, gj] = plan.issuerA(i);
    return {gi, gj};
  }
  GridPos issuerB(int64_t j) const {
    auto [gi, gj] = plan.issuerB(j);
    return {gi, gj};
  }
  std::vector<GridPos> receiversA(int64_t i) const {
    std::vector<GridPos> r;
    for (int64_t j = 0; j < plan.gridN; ++j)
      r.push_back({i, j});
    return r;
  }
  std::vector<GridPos> receiversB(int64_t j) const {
    std::vector<GridPos> r;
    for (int64_t i = 0; i < plan.gridM; ++i)
      r.push_back({i, j});
    return r;
  }
  /// The tiles other than `p` that multicast into it.
  std::vector<GridPos> sendersOf(GridPos p) const {
    std::vector<GridPos> s;
    for (GridPos q : {issuerA(p.i), issuerB(p.j)})
      if (q != p && !llvm::is_contained(s, q))
        s.push_back(q);
    return s;
  }
  /// The tiles other than `p` that receive its multicasts.
  std::vector<GridPos> partnersOf(GridPos p) const {
    std::vector<GridPos> r;
    auto add = [&](const std::vector<GridPos> &receivers) {
      for (GridPos q : receivers)
        if (q != p && !llvm::is_contained(r, q))
          r.push_back(q);
    };
    if (issuerA(p.i) == p)
      add(receiversA(p.i));
    if (issuerB(p.j) == p)
      add(receiversB(p.j));
    return r;
  }
  /// The multicast mask of a part (0 when only the issuer receives it).
  uint32_t maskOf(const std::vector<GridPos> &receivers) {
    if (receivers.size() < 2)
      return 0;
    uint32_t mask = 0;
    for (GridPos q : receivers)
      mask |= 1u << (tileAt(q) % e.getTarget().tilesPerCluster);
    return mask;
  }
  bool firstOfPanel(size_t block) const {
    return block == 0 ||
           cluster.blocks[block].m0 != cluster.blocks[block - 1].m0;
  }
};

/// The C rows of one tile in one block, written out piece by piece.
struct BlockOutput {
  size_t block = 0;
  /// The step from which the block's last product is known to be done
  /// (the next product has issued).
  size_t readyStep = 0;
  unsigned accumulator = 0;
  Token product;
  int64_t rows = 0, cols = 0, row0 = 0, col0 = 0;
  int64_t pieces = 0, nextOps = 0, nextStore = 0;
  /// Per piece: what its store waits for (its last vector op, or the
  /// product).
  std::vector<Token> ops;
};

/// Emits the stream of one tile of the grid.
class GridTile {
public:
  GridTile(ClusterContext &c, GridPos pos)
      : c(c), e(c.e), pos(pos), stream(c.streamAt(pos)), s(e.stream(stream)),
        x(c.x), w(c.w), senders(c.sendersOf(pos)), partners(c.partnersOf(pos)) {
    size_t n = c.steps.size(), slots = c.plan.slots;
    partTokens.resize(n);
    products.resize(n);
    slotCopyOut.resize(slots);
    slotScalesA.resize(slots);
    slotScalesB.resize(slots);
    csramChunk.resize(c.plan.chunks(c.problem.k));
    csramPanel.assign(c.plan.chunks(c.problem.k), -1);
  }

  Error emit();

private:
  //===--- Addresses -----------------------------------------------------===//

  BufferRef tsram(uint64_t offset, FloatFormat format) {
    return e.view(base, format, offset);
  }
  uint64_t slotA(size_t step) const {
    return c.layout.slotA0 + (step % c.plan.slots) * c.layout.slotStride;
  }
  uint64_t slotB(size_t step) const {
    return c.layout.slotB0 + (step % c.plan.slots) * c.layout.slotStride;
  }
  std::pair<int64_t, int64_t> subRows(const ClusterBlock &b) const {
    return splitRange(b.rows, c.gridM(), pos.i);
  }
  std::pair<int64_t, int64_t> subCols(const ClusterBlock &b) const {
    return splitRange(b.cols, c.gridN(), pos.j);
  }

  //===--- Commands ------------------------------------------------------===//

  /// A DMA of `rows` rows of `bytes` bytes, multicast by `mask`; `waits`
  /// (semaphores of other tiles' signals) go on it and are cleared.
  Token copy(BufferRef src, uint64_t srcStride, BufferRef dst,
             uint64_t dstStride, uint64_t rows, uint64_t bytes, uint32_t mask,
             std::vector<maia::SemWait> &waits, llvm::ArrayRef<Token> deps);
  /// DMAs rows [r0, r0 + rows) and columns [k0, k0 + kc) of `m` from HBM
  /// into the region at `region` (codes at 0, scales at `scalesOffset`).
  void loadFromHbm(const HbmMatrix &m, int64_t r0, int64_t rows, int64_t k0,
                   int64_t kc, uint64_t region, uint64_t scalesOffset,
                   WholeScalesLoaded &loaded, uint32_t mask,
                   std::vector<maia::SemWait> &waits,
                   llvm::ArrayRef<Token> deps, std::vector<Token> &out);
  maia::TensorOperand operand(const HbmMatrix &m, uint64_t region,
                              uint64_t scalesOffset);

  //===--- The steps -----------------------------------------------------===//

  void issueParts(size_t step, bool waitForSlot);
  void arrivals(size_t step);
  void product(size_t step);
  void release(size_t step);
  void startOutput(size_t step);
  void progressOutputs(size_t step, bool flushAll);
  void flushOutputsOf(size_t block);
  void outputOps(BlockOutput &out, int64_t piece);
  void outputStore(BlockOutput &out, int64_t piece);
  void loadBias(size_t block);
  /// True if results pass the vector unit (bias, bf16) on their way out.
  bool needsOutputOps() const {
    return c.bias || c.y.format == FloatFormat::BF16;
  }

  ClusterContext &c;
  ProgramEmitter &e;
  GridPos pos;
  unsigned stream;
  TileStream &s;
  const HbmMatrix &x, &w;
  std::vector<GridPos> senders, partners;
  BufferRef base;

  std::vector<std::vector<Token>> partTokens;
  std::vector<std::optional<Token>> products;
  /// A TSRAM -> CSRAM copy that still reads a slot's A region.
  std::vector<std::optional<Token>> slotCopyOut;
  std::vector<WholeScalesLoaded> slotScalesA, slotScalesB;
  /// The last command touching each resident A chunk of this tile's group,
  /// and the panel (first row) whose chunk it holds.
  std::vector<std::optional<Token>> csramChunk;
  std::vector<int64_t> csramPanel;
  /// Per accumulator: the stores its next block must wait for.
  std::vector<Token> accumulatorStores[2];
  std::deque<BlockOutput> outputs;
  /// Per bias buffer: its load and its last reader.
  std::optional<Token> biasLoaded[2], biasReader[2];
};

Token GridTile::copy(BufferRef src, uint64_t srcStride, BufferRef dst,
                     uint64_t dstStride, uint64_t rows, uint64_t bytes,
                     uint32_t mask, std::vector<maia::SemWait> &waits,
                     llvm::ArrayRef<Token> deps) {
  maia::DmaInst dma =
      makeRowCopy(s.nextQueue(), src, srcStride, dst, dstStride, rows, bytes);
  dma.multicast = mask;
  dma.sync.waits = std::move(waits);
  waits.clear();
  return s.issue(std::move(dma), deps);
}

void GridTile::loadFromHbm(const HbmMatrix &m, int64_t r0, int64_t rows,
                           int64_t k0, int64_t kc, uint64_t region,
                           uint64_t scalesOffset, WholeScalesLoaded &loaded,
                           uint32_t mask, std::vector<maia::SemWait> &waits,
                           llvm::ArrayRef<Token> deps,
                           std::vector<Token> &out) {
  uint64_t fullRow = rowBytes(m.format, m.cols), row = rowBytes(m.format, kc);
  out.push_back(copy({m.codes, r0 * fullRow + rowBytes(m.format, k0)}, fullRow,
                     tsram(region, m.format), row, rows, row, mask, waits,
                     deps));
  uint64_t scales = region + scalesOffset;
  int64_t fullBlocks = blocksPerRow(m, m.cols), blocks = blocksPerRow(m, kc);
  FloatFormat codes = maia::getScaleBufferFormat(m.mode);
  auto blockCodes = [&](uint64_t hbmBase, uint64_t tsramOffset) {
    out.push_back(copy({m.scales, hbmBase + r0 * fullBlocks + k0 / m.block},
                       fullBlocks, tsram(scales + tsramOffset, codes), blocks,
                       rows, blocks, mask, waits, deps));
  };
  auto tensorScale = [&] {
    if (loaded.tensor)
      return;
    out.push_back(copy({m.scales, 0}, 4, tsram(scales, FloatFormat::F32), 4, 1,
                       4, mask, waits, deps));
    loaded.tensor = true;
  };
  auto rowScales = [&] {
    if (loaded.rowStart == r0 && loaded.rows == rows)
      return;
    out.push_back(copy({m.scales, uint64_t(r0) * 4}, 4,
                       tsram(scales, FloatFormat::F32), 4, rows, 4, mask, waits,
                       deps));
    loaded.rowStart = r0;
    loaded.rows = rows;
  };
  switch (m.mode) {
  case ScaleMode::None:
    break;
  case ScaleMode::Tensor:
    tensorScale();
    break;
  case ScaleMode::Rows:
    rowScales();
    break;
  case ScaleMode::MX:
    blockCodes(0, 0);
    break;
  case ScaleMode::NVFP4:
    tensorScale();
    blockCodes(4, 4);
    break;
  case ScaleMode::NVFP4Rows:
    rowScales();
    blockCodes(uint64_t(m.rows) * 4, uint64_t(rows) * 4);
    break;
  }
}

maia::TensorOperand GridTile::operand(const HbmMatrix &m, uint64_t region,
                                      uint64_t scalesOffset) {
  maia::TensorOperand t;
  t.data = tsram(region, m.format);
  t.format = m.format;
  t.scaleMode = m.mode;
  t.block = m.block;
  if (m.mode != ScaleMode::None)
    t.scales = tsram(region + scalesOffset, maia::getScaleBufferFormat(m.mode));
  return t;
}

void GridTile::issueParts(size_t step, bool waitForSlot) {
  const Step &st = c.steps[step];
  const ClusterBlock &block = c.cluster.blocks[st.block];
  size_t slot = step % c.plan.slots;
  std::vector<maia::SemWait> waits;
  if (waitForSlot)
    for (GridPos p : partners)
      waits.push_back({{c.tileAt(pos), c.fSem[pos][p]}, 1});
  llvm::SmallVector<Token, 2> deps;
  if (slotCopyOut[slot])
    deps.push_back(*slotCopyOut[slot]);
  std::vector<Token> &out = partTokens[step];
  if (c.issuerA(pos.i) == pos) {
    auto [r0, r1] = splitRange(block.rows, c.gridM(), pos.i);
    uint32_t mask = c.maskOf(c.receiversA(pos.i));
    if (c.plan.residentA && !c.firstOfPanel(st.block) &&
        csramPanel[st.chunk] == block.m0) {
      // The chunk is in CSRAM since the panel's first block. (With fewer
      // chunks than slots, the first block's copy may come later in the
      // stream than this load: then A comes from HBM again.)
      uint64_t bytes =
          c.layout.aScalesOffset + c.problem.x.scaleBytes(r1 - r0, st.kc);
      BufferRef src = c.csramGroups[pos.i];
      src.offset += st.chunk * c.layout.aRegionBytes;
      llvm::SmallVector<Token, 3> d(deps.begin(), deps.end());
      if (csramChunk[st.chunk])
        d.push_back(*csramChunk[st.chunk]);
      Token t = copy(src, bytes, tsram(slotA(step), FloatFormat::F32), bytes, 1,
                     bytes, mask, waits, d);
      csramChunk[st.chunk] = t;
      out.push_back(t);
    } else {
      loadFromHbm(x, block.m0 + r0, r1 - r0, st.k0, st.kc, slotA(step),
                  c.layout.aScalesOffset, slotScalesA[slot], mask, waits, deps,
                  out);
    }
  }
  if (c.issuerB(pos.j) == pos) {
    auto [c0, c1] = splitRange(block.cols, c.gridN(), pos.j);
    loadFromHbm(w, block.n0 + c0, c1 - c0, st.k0, st.kc, slotB(step),
                c.layout.bScalesOffset, slotScalesB[slot],
                c.maskOf(c.receiversB(pos.j)), waits, deps, out);
  }
  assert(waits.empty() && "a tile that is waited for issues a part");
}

void GridTile::arrivals(size_t step) {
  for (Token t : partTokens[step])
    s.waitFor(t);
  for (GridPos p : partners)
    s.append(maia::SemSignalInst{{c.tileAt(p), c.rSem[p][pos]}, 1});
  const Step &st = c.steps[step];
  // The first block of a panel leaves its A chunk in CSRAM for the later
  // blocks (from TSRAM: the HBM bytes cross the chip once).
  if (!c.plan.residentA || c.issuerA(pos.i) != pos || !c.firstOfPanel(st.block))
    return;
  const ClusterBlock &block = c.cluster.blocks[st.block];
  auto [r0, r1] = splitRange(block.rows, c.gridM(), pos.i);
  uint64_t bytes =
      c.layout.aScalesOffset + c.problem.x.scaleBytes(r1 - r0, st.kc);
  BufferRef dst = c.csramGroups[pos.i];
  dst.offset += st.chunk * c.layout.aRegionBytes;
  std::vector<maia::SemWait> none;
  llvm::SmallVector<Token, 1> deps;
  if (csramChunk[st.chunk])
    deps.push_back(*csramChunk[st.chunk]);
  Token t = copy(tsram(slotA(step), FloatFormat::F32), bytes, dst, bytes, 1,
                 bytes, 0, none, deps);
  csramChunk[st.chunk] = t;
  csramPanel[st.chunk] = block.m0;
  slotCopyOut[step % c.plan.slots] = t;
}

void GridTile::product(size_t step) {
  const Step &st = c.steps[step];
  const ClusterBlock &block = c.cluster.blocks[st.block];
  unsigned acc = st.block % 2;
  if (st.first) {
    // The accumulator's previous block must be out.
    if (st.block >= 2)
      flushOutputsOf(st.block - 2);
    loadBias(st.block);
  }
  auto [r0, r1] = subRows(block);
  auto [c0, c1] = subCols(block);
  maia::MatmulInst mm;
  mm.m = r1 - r0;
  mm.n = c1 - c0;
  mm.k = st.kc;
  mm.a = operand(x, slotA(step), c.layout.aScalesOffset);
  mm.b = operand(w, slotB(step), c.layout.bScalesOffset);
  mm.acc = tsram(c.layout.accumulator[acc], FloatFormat::F32);
  mm.accumulate = !st.first;
  for (GridPos p : senders)
    mm.sync.waits.push_back({{c.tileAt(pos), c.rSem[pos][p]}, 1});
  std::vector<Token> deps;
  if (st.first)
    deps = std::move(accumulatorStores[acc]);
  products[step] = s.issue(std::move(mm), deps);
  if (st.last)
    startOutput(step);
}

void GridTile::release(size_t step) {
  if (step == 0)
    return;
  s.waitFor(*products[step - 1]);
  // The senders' next chunk for this slot is step - 1 + slots.
  if (step - 1 + c.plan.slots >= c.steps.size())
    return;
  for (GridPos p : senders)
    s.append(maia::SemSignalInst{{c.tileAt(p), c.fSem[p][pos]}, 1});
}

void GridTile::loadBias(size_t block) {
  if (!c.bias)
    return;
  const ClusterBlock &b = c.cluster.blocks[block];
  auto [c0, c1] = subCols(b);
  unsigned buffer = block % 2;
  std::vector<maia::SemWait> none;
  llvm::SmallVector<Token, 1> deps;
  if (biasReader[buffer])
    deps.push_back(*biasReader[buffer]);
  biasLoaded[buffer] = copy({*c.bias, uint64_t(b.n0 + c0) * 4}, 4,
                            tsram(c.layout.bias[buffer], FloatFormat::F32), 4,
                            c1 - c0, 4, 0, none, deps);
}

void GridTile::startOutput(size_t step) {
  const Step &st = c.steps[step];
  const ClusterBlock &block = c.cluster.blocks[st.block];
  BlockOutput out;
  out.block = st.block;
  out.readyStep = step + 1;
  out.accumulator = st.block % 2;
  out.product = *products[step];
  auto [r0, r1] = subRows(block);
  auto [c0, c1] = subCols(block);
  out.rows = r1 - r0;
  out.cols = c1 - c0;
  out.row0 = block.m0 + r0;
  out.col0 = block.n0 + c0;
  int64_t nextSteps = 0;
  for (size_t t = step + 1;
       t < c.steps.size() && c.steps[t].block == st.block + 1; ++t)
    ++nextSteps;
  out.pieces = ClusterMatmulPlan::outputPieces(out.rows, nextSteps);
  outputs.push_back(std::move(out));
}

void GridTile::outputOps(BlockOutput &out, int64_t piece) {
  auto [p0, p1] = splitRange(out.rows, out.pieces, piece);
  uint64_t offset =
      c.layout.accumulator[out.accumulator] + uint64_t(p0) * out.cols * 4;
  Token last = out.product;
  if (!needsOutputOps()) {
    out.ops.push_back(last);
    return;
  }
  if (c.bias) {
    unsigned buffer = out.block % 2;
    maia::VecBinaryInst add;
    add.op = maia::VecBinaryOp::Add;
    add.rows = p1 - p0;
    add.len = out.cols;
    add.dst = tsram(offset, FloatFormat::F32);
    add.a = add.dst;
    add.b = tsram(c.layout.bias[buffer], FloatFormat::F32);
    add.broadcast = maia::Broadcast::Row;
    last = s.issue(std::move(add), {last, *biasLoaded[buffer]});
    biasReader[buffer] = last;
  }
  if (c.y.format == FloatFormat::BF16) {
    // In place: the bf16 codes of a row take the first half of its bytes,
    // and a command reads its input before it writes.
    maia::VecQuantizeInst quant;
    quant.rows = p1 - p0;
    quant.len = out.cols;
    quant.dst.data = tsram(offset, FloatFormat::BF16);
    quant.dst.format = FloatFormat::BF16;
    quant.src = tsram(offset, FloatFormat::F32);
    last = s.issue(std::move(quant), {last});
  }
  out.ops.push_back(last);
}

void GridTile::outputStore(BlockOutput &out, int64_t piece) {
  auto [p0, p1] = splitRange(out.rows, out.pieces, piece);
  uint64_t elem = c.y.format == FloatFormat::BF16 ? 2 : 4;
  uint64_t offset =
      c.layout.accumulator[out.accumulator] + uint64_t(p0) * out.cols * 4;
  uint64_t row = out.cols * elem, yRow = uint64_t(c.y.cols) * elem;
  std::vector<maia::SemWait> none;
  Token t =
      copy(tsram(offset, c.y.format), row,
           {c.y.codes, (uint64_t(out.row0 + p0) * c.y.cols + out.col0) * elem},
           yRow, p1 - p0, row, 0, none, {out.ops[piece]});
  accumulatorStores[out.accumulator].push_back(t);
}

void GridTile::progressOutputs(size_t step, bool flushAll) {
  while (!outputs.empty()) {
    BlockOutput &out = outputs.front();
    if (!flushAll && step < out.readyStep)
      return;
    // A piece's store comes a step after its vector ops, so that the
    // stream does not stall on them; without vector ops it comes at once.
    if (out.nextStore < out.nextOps)
      outputStore(out, out.nextStore++);
    if (out.nextOps < out.pieces) {
      outputOps(out, out.nextOps++);
      if (!needsOutputOps())
        outputStore(out, out.nextStore++);
    }
    if (out.nextStore == out.pieces)
      outputs.pop_front();
    if (!flushAll)
      return;
  }
}

void GridTile::flushOutputsOf(size_t block) {
  while (!outputs.empty() && outputs.front().block <= block) {
    BlockOutput &out = outputs.front();
    while (out.nextOps < out.pieces)
      outputOps(out, out.nextOps++);
    while (out.nextStore < out.pieces)
      outputStore(out, out.nextStore++);
    outputs.pop_front();
  }
}

Error GridTile::emit() {
  Expected<BufferRef> arena =
      e.allocateTsram(stream, c.layout.tsramBytes, FloatFormat::F32);
  if (!arena)
    return arena.takeError();
  if (arena->offset != c.tsramBase)
    return llvm::createStringError(
        "cluster matmul: the staging of tile " + llvm::Twine(s.tile()) +
        " is not at the address its cluster multicasts to");
  base = *arena;
  size_t n = c.steps.size(), slots = c.plan.slots;
  for (size_t t = 0; t < std::min(slots - 1, n); ++t)
    issueParts(t, /*waitForSlot=*/false);
  for (size_t t = 0; t < n; ++t) {
    arrivals(t);
    product(t);
    release(t);
    if (t + slots - 1 < n)
      issueParts(t + slots - 1, /*waitForSlot=*/t >= 1);
    progressOutputs(t, /*flushAll=*/false);
  }
  progressOutputs(n, /*flushAll=*/true);
  return Error::success();
}

/// The steps of a cluster's blocks: every block runs through all K chunks.
std::vector<Step> stepsOf(const ClusterMatmulPlan &plan,
                          const ClusterMatmulPlan::Cluster &cluster,
                          int64_t k) {
  std::vector<Step> steps;
  for (size_t b = 0; b < cluster.blocks.size(); ++b)
    for (int64_t k0 = 0, chunk = 0; k0 < k; k0 += plan.kb, ++chunk) {
      Step st;
      st.block = b;
      st.k0 = k0;
      st.kc = std::min(plan.kb, k - k0);
      st.chunk = chunk;
      st.first = k0 == 0;
      st.last = k0 + st.kc == k;
      steps.push_back(st);
    }
  return steps;
}

Error emitCluster(ClusterContext &c) {
  const TargetModel &target = c.e.getTarget();
  std::vector<GridPos> grid;
  for (int64_t i = 0; i < c.gridM(); ++i)
    for (int64_t j = 0; j < c.gridN(); ++j)
      grid.push_back({i, j});
  c.tsramBase =
      c.e.getTarget().tsramBytesPerTile - c.e.freeTsram(c.streamAt(grid[0]));
  for (GridPos p : grid)
    if (c.e.freeTsram(c.streamAt(p)) < c.layout.tsramBytes)
      return llvm::createStringError("cluster matmul: the staging of tile " +
                                     llvm::Twine(c.tileAt(p)) +
                                     " does not fit TSRAM");
  if (c.plan.residentA)
    for (int64_t i = 0; i < c.gridM(); ++i) {
      Expected<BufferRef> group =
          c.e.allocateCsram(c.cluster.cluster, c.layout.csramGroupBytes);
      if (!group)
        return group.takeError();
      c.csramGroups.push_back(*group);
    }
  // Queues: the tile's own and its share of the cluster's.
  for (GridPos p : grid) {
    std::vector<maia::DmaQueue> queues;
    for (int64_t q = 0; q < target.dmaQueuesPerTile; ++q)
      queues.push_back({maia::DmaQueue::Kind::Tile, uint32_t(q)});
    int64_t share = target.dmaQueuesPerCluster / target.tilesPerCluster;
    int64_t slot = c.tileAt(p) % target.tilesPerCluster;
    for (int64_t q = 0; q < share; ++q)
      queues.push_back(
          {maia::DmaQueue::Kind::Cluster, uint32_t(slot * share + q)});
    c.e.stream(c.streamAt(p)).setQueues(std::move(queues));
  }
  for (GridPos p : grid) {
    for (GridPos q : c.sendersOf(p))
      c.rSem[p][q] = c.e.stream(c.streamAt(p)).reserveSemaphore();
    for (GridPos q : c.partnersOf(p))
      c.fSem[p][q] = c.e.stream(c.streamAt(p)).reserveSemaphore();
  }
  for (GridPos p : grid)
    if (Error err = GridTile(c, p).emit())
      return err;
  // Every signal has been taken: the semaphores are 0 again.
  for (GridPos p : grid) {
    TileStream &s = c.e.stream(c.streamAt(p));
    for (auto &[q, sem] : c.rSem[p])
      s.releaseSemaphore(sem);
    for (auto &[q, sem] : c.fSem[p])
      s.releaseSemaphore(sem);
    std::vector<maia::DmaQueue> own;
    for (int64_t q = 0; q < target.dmaQueuesPerTile; ++q)
      own.push_back({maia::DmaQueue::Kind::Tile, uint32_t(q)});
    s.setQueues(std::move(own));
  }
  return Error::success();
}

} // namespace

Error maia_lowering::emitClusterMatmul(ProgramEmitter &e,
                                       const ClusterMatmulPlan &plan,
                                       const HbmMatrix &x, const HbmMatrix &w,
                                       std::optional<uint32_t> bias,
                                       const HbmMatrix &y) {
  MatmulProblem problem = matmulProblem(x, w, bias.has_value(), y);
  ClusterMatmulLayout layout = layoutClusterMatmul(plan, problem);
  for (const ClusterMatmulPlan::Cluster &cluster : plan.clusters) {
    ClusterContext c(e, plan, layout, problem, x, w, bias, y, cluster,
                     stepsOf(plan, cluster, x.cols));
    if (Error err = emitCluster(c))
      return err;
  }
  return Error::success();
}
