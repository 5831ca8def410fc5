//===- ClusterMatmulModel.cpp - cost of the cluster-cooperative GEMM ------===//
//
// Replays the command streams of the busiest cluster's tiles as
// lib/Conversion/XfmrToMaia/ClusterMatmul.cpp emits them, step by step:
// each tile's in-order stream position, its DMA queues, its tensor and
// vector units, the semaphore hops between the tiles of the grid ("the
// chunk arrived", "the slot is free"), the output pieces and the
// accumulator each block waits for. The cluster's own DMAs share its link
// and its tiles' ports explicitly; the other clusters, which do the same
// steps at the same time, are folded in as sharers of HBM whose equal
// transfers go first (docs/MaiaKernels.md, "The cost model").
//
//===----------------------------------------------------------------------===//

#include "CostModelInternal.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cmath>
#include <deque>

using namespace mixtile;
using namespace mixtile::cost;

namespace {

/// One DMA of the modeled cluster: its bytes, whether it crosses HBM (and
/// the cluster's link), and the grid tiles whose ports it crosses.
struct Dma {
  double bytes = 0;
  bool hbm = false;
  llvm::SmallVector<int64_t, 4> ports;
};

/// The cluster's channels: HBM shared with `others` clusters, its link,
/// one port per grid tile.
class ClusterChannels {
public:
  ClusterChannels(const Machine &m, double others, int64_t tiles)
      : m(m), others(others), port(tiles, 0.0) {}

  /// When a DMA issued at `at` completes.
  double transfer(double at, const Dma &d) {
    double start = at + m.setup, done = start;
    if (d.hbm) {
      // The other clusters' equal DMAs go first, one service apart (the
      // clusters' steps are staggered by their previous DMAs).
      double cycles = std::ceil(d.bytes / m.hbm);
      done =
          std::max(done, Channels::serve(hbm, start, cycles, others, cycles));
      link = std::max(start, link) + std::ceil(d.bytes / m.link);
      done = std::max(done, link);
    }
    for (int64_t t : d.ports) {
      port[t] = std::max(start, port[t]) + std::ceil(d.bytes / m.port);
      done = std::max(done, port[t]);
    }
    return done + (d.hbm ? m.latency : 0);
  }

private:
  const Machine &m;
  double others, hbm = 0, link = 0;
  std::vector<double> port;
};

/// A tile's DMA queues, used in turn; a DMA holds its queue until it
/// completes.
class TileQueues {
public:
  explicit TileQueues(int64_t queues) : freeAt(queues, 0.0) {}
  double nextFree() const { return freeAt[next]; }
  void take(double done) {
    freeAt[next] = done;
    next = (next + 1) % freeAt.size();
  }

private:
  std::vector<double> freeAt;
  size_t next = 0;
};

/// One K chunk of one block.
struct Step {
  size_t block = 0;
  int64_t chunk = 0, k0 = 0, kc = 0;
  bool first = false, last = false;
};

/// The whole scales (one per tensor or per row) already in a slot.
struct WholeScalesLoaded {
  bool tensor = false;
  int64_t rowStart = -1, rows = 0;
};

/// A block's results on one tile, written out piece by piece.
struct Output {
  size_t block = 0, readyStep = 0;
  unsigned accumulator = 0;
  double product = 0;
  int64_t rows = 0, cols = 0, pieces = 0, nextOps = 0, nextStore = 0;
  std::vector<double> opsDone;
};

/// The state of one grid tile's stream.
struct Tile {
  int64_t i = 0, j = 0;
  bool issuesA = false, issuesB = false;
  std::vector<int64_t> senders, partners, rowGroup, colGroup;
  double time = 0, tvpFree = 0, previousMmEnd = 0, lastMmEnd = 0, lastStore = 0;
  TileQueues queues;
  /// Per step slot: when this tile's parts of that step complete.
  std::vector<double> partsDone;
  std::vector<WholeScalesLoaded> scalesA, scalesB;
  std::vector<int64_t> csramPanel;
  double accStores[2] = {0, 0}, biasLoaded[2] = {0, 0};
  std::deque<Output> outputs;
  /// Signals to the other tiles of the step: "arrived" and "slot free".
  double arrivedAt = 0, releasedAt = 0;

  explicit Tile(int64_t queues) : queues(queues) {}
};

class ClusterReplay {
public:
  ClusterReplay(const Machine &m, const MatmulProblem &p,
                const ClusterMatmulPlan &plan,
                const ClusterMatmulPlan::Cluster &cluster)
      : m(m), t(m.target), p(p), plan(plan),
        channels(m, double(plan.clusters.size()) - 1, plan.gridM * plan.gridN) {
    setUp(cluster);
  }

  /// When the cluster's last command completes.
  double run();

private:
  void setUp(const ClusterMatmulPlan::Cluster &cluster);
  int64_t index(int64_t i, int64_t j) const { return i * plan.gridN + j; }
  std::pair<int64_t, int64_t> split(int64_t size, int64_t parts,
                                    int64_t i) const {
    return {size * i / parts, size * (i + 1) / parts};
  }
  bool firstOfPanel(size_t b) const {
    return b == 0 || blocks[b].m0 != blocks[b - 1].m0;
  }
  bool needsOps() const { return p.bias || p.outputBits == 16; }

  /// Issues `d` on `tile`'s next queue from its stream position.
  double issue(Tile &tile, const Dma &d) {
    tile.time = std::max(tile.time, tile.queues.nextFree());
    double done = channels.transfer(tile.time, d);
    tile.queues.take(done);
    return done;
  }
  void hbmPart(Tile &tile, const OperandStorage &s, int64_t r0, int64_t rows,
               int64_t kc, WholeScalesLoaded &loaded,
               const std::vector<int64_t> &receivers, double &done);
  void issueParts(Tile &tile, size_t step, bool waitForSlot);
  void arrivals(Tile &tile, size_t step);
  void product(Tile &tile, size_t step);
  void release(Tile &tile, size_t step);
  void progress(Tile &tile, size_t step, bool flush);
  void outputOps(Tile &tile, Output &out);
  void outputStore(Tile &tile, Output &out);
  void flushOutputsOf(Tile &tile, size_t block);

  const Machine &m;
  const TargetModel &t;
  const MatmulProblem &p;
  const ClusterMatmulPlan &plan;
  ClusterChannels channels;
  std::vector<ClusterBlock> blocks;
  std::vector<Step> steps;
  std::vector<Tile> tiles;
};

void ClusterReplay::setUp(const ClusterMatmulPlan::Cluster &cluster) {
  blocks = cluster.blocks;
  for (size_t b = 0; b < blocks.size(); ++b)
    for (int64_t k0 = 0, chunk = 0; k0 < p.k; k0 += plan.kb, ++chunk)
      steps.push_back({b, chunk, k0, std::min(plan.kb, p.k - k0), k0 == 0,
                       k0 + plan.kb >= p.k});
  // Queues: the tile's own and its share of the cluster's.
  int64_t queues =
      t.dmaQueuesPerTile + t.dmaQueuesPerCluster / t.tilesPerCluster;
  for (int64_t i = 0; i < plan.gridM; ++i)
    for (int64_t j = 0; j < plan.gridN; ++j) {
      Tile tile(queues);
      tile.i = i;
      tile.j = j;
      std::pair<int64_t, int64_t> self = {i, j};
      tile.issuesA = plan.issuerA(i) == self;
      tile.issuesB = plan.issuerB(j) == self;
      for (int64_t q = 0; q < plan.gridN; ++q)
        tile.rowGroup.push_back(index(i, q));
      for (int64_t q = 0; q < plan.gridM; ++q)
        tile.colGroup.push_back(index(q, j));
      int64_t me = index(i, j);
      auto add = [&](std::vector<int64_t> &v, int64_t x) {
        if (x != me && !llvm::is_contained(v, x))
          v.push_back(x);
      };
      add(tile.senders, index(plan.issuerA(i).first, plan.issuerA(i).second));
      add(tile.senders, index(plan.issuerB(j).first, plan.issuerB(j).second));
      if (tile.issuesA)
        for (int64_t q : tile.rowGroup)
          add(tile.partners, q);
      if (tile.issuesB)
        for (int64_t q : tile.colGroup)
          add(tile.partners, q);
      tile.partsDone.assign(plan.slots, 0);
      tile.scalesA.resize(plan.slots);
      tile.scalesB.resize(plan.slots);
      tile.csramPanel.assign(plan.chunks(p.k), -1);
      tiles.push_back(std::move(tile));
    }
}

void ClusterReplay::hbmPart(Tile &tile, const OperandStorage &s, int64_t r0,
                            int64_t rows, int64_t kc, WholeScalesLoaded &loaded,
                            const std::vector<int64_t> &receivers,
                            double &done) {
  auto dma = [&](double bytes) {
    Dma d;
    d.bytes = bytes;
    d.hbm = true;
    d.ports.assign(receivers.begin(), receivers.end());
    done = std::max(done, issue(tile, d));
  };
  dma(double(rows * s.rowBytes(kc)));
  if (s.wholeScale == OperandStorage::WholeScale::Tensor && !loaded.tensor) {
    dma(4);
    loaded.tensor = true;
  }
  if (s.wholeScale == OperandStorage::WholeScale::Row &&
      !(loaded.rowStart == r0 && loaded.rows == rows)) {
    dma(4.0 * rows);
    loaded.rowStart = r0;
    loaded.rows = rows;
  }
  if (s.block > 0)
    dma(double(rows * s.blocksPerRow(kc)) * s.scaleBits / 8);
}

void ClusterReplay::issueParts(Tile &tile, size_t step, bool waitForSlot) {
  const Step &st = steps[step];
  const ClusterBlock &block = blocks[st.block];
  size_t slot = step % plan.slots;
  // The slot is free once every receiver's product of the step before is
  // done (a semaphore from each).
  if (waitForSlot)
    for (int64_t q : tile.partners)
      tile.time = std::max(tile.time, tiles[q].releasedAt + m.semCluster);
  double done = tile.time;
  if (tile.issuesA) {
    auto [r0, r1] = split(block.rows, plan.gridM, tile.i);
    if (plan.residentA && !firstOfPanel(st.block) &&
        tile.csramPanel[st.chunk] == block.m0) {
      ClusterMatmulLayout layout = layoutClusterMatmul(plan, p);
      Dma d;
      d.bytes = double(layout.aScalesOffset) + p.x.scaleBytes(r1 - r0, st.kc);
      d.ports.assign(tile.rowGroup.begin(), tile.rowGroup.end());
      done = std::max(done, issue(tile, d));
    } else {
      hbmPart(tile, p.x, block.m0 + r0, r1 - r0, st.kc, tile.scalesA[slot],
              tile.rowGroup, done);
    }
  }
  if (tile.issuesB) {
    auto [c0, c1] = split(block.cols, plan.gridN, tile.j);
    hbmPart(tile, p.w, block.n0 + c0, c1 - c0, st.kc, tile.scalesB[slot],
            tile.colGroup, done);
  }
  tile.partsDone[slot] = done;
}

void ClusterReplay::arrivals(Tile &tile, size_t step) {
  const Step &st = steps[step];
  if (tile.issuesA || tile.issuesB)
    tile.time =
        std::max(tile.time, tile.partsDone[step % plan.slots] + m.semLocal);
  tile.arrivedAt = tile.time;
  // The first block of a panel copies its A chunk on to CSRAM.
  if (!plan.residentA || !tile.issuesA || !firstOfPanel(st.block))
    return;
  const ClusterBlock &block = blocks[st.block];
  auto [r0, r1] = split(block.rows, plan.gridM, tile.i);
  ClusterMatmulLayout layout = layoutClusterMatmul(plan, p);
  Dma d;
  d.bytes = double(layout.aScalesOffset) + p.x.scaleBytes(r1 - r0, st.kc);
  d.ports = {index(tile.i, tile.j)};
  issue(tile, d);
  tile.csramPanel[st.chunk] = block.m0;
}

void ClusterReplay::product(Tile &tile, size_t step) {
  const Step &st = steps[step];
  const ClusterBlock &block = blocks[st.block];
  unsigned acc = st.block % 2;
  if (st.first) {
    if (st.block >= 2)
      flushOutputsOf(tile, st.block - 2);
    if (p.bias) {
      Dma d;
      d.bytes = 4.0 * (split(block.cols, plan.gridN, tile.j).second -
                       split(block.cols, plan.gridN, tile.j).first);
      d.hbm = true;
      d.ports = {index(tile.i, tile.j)};
      tile.biasLoaded[acc] = issue(tile, d);
    }
  }
  double start = std::max(tile.time, tile.lastMmEnd);
  for (int64_t q : tile.senders)
    start = std::max(start, tiles[q].arrivedAt + m.semCluster);
  if (st.first)
    start = std::max(start, tile.accStores[acc] + m.semLocal);
  auto [r0, r1] = split(block.rows, plan.gridM, tile.i);
  auto [c0, c1] = split(block.cols, plan.gridN, tile.j);
  tile.time = start;
  tile.previousMmEnd = tile.lastMmEnd;
  tile.lastMmEnd =
      start + productCycles(t, p, r1 - r0, c1 - c0, st.kc, !st.first);
  if (!st.last)
    return;
  Output out;
  out.block = st.block;
  out.readyStep = step + 1;
  out.accumulator = acc;
  out.product = tile.lastMmEnd;
  out.rows = r1 - r0;
  out.cols = c1 - c0;
  int64_t nextSteps = st.block + 1 < blocks.size() ? plan.chunks(p.k) : 0;
  out.pieces = ClusterMatmulPlan::outputPieces(out.rows, nextSteps);
  tile.outputs.push_back(std::move(out));
}

void ClusterReplay::release(Tile &tile, size_t step) {
  // The stream waits for the previous product (done: this one issued).
  if (step > 0)
    tile.time = std::max(tile.time, tile.previousMmEnd + m.semLocal);
  tile.releasedAt = tile.time;
}

void ClusterReplay::outputOps(Tile &tile, Output &out) {
  int64_t piece = out.nextOps++;
  if (!needsOps()) {
    out.opsDone.push_back(out.product);
    return;
  }
  int64_t rows = split(out.rows, out.pieces, piece).second -
                 split(out.rows, out.pieces, piece).first;
  double ready = out.product;
  uint64_t e = uint64_t(rows) * out.cols;
  auto vector = [&](double waitFor, uint64_t cycles) {
    double start = std::max({tile.time, tile.tvpFree, waitFor + m.semLocal});
    tile.time = start;
    tile.tvpFree = start + double(cycles);
    ready = tile.tvpFree;
  };
  if (p.bias)
    vector(std::max(ready, tile.biasLoaded[out.accumulator]),
           binaryCycles(t, rows, out.cols, out.cols));
  if (p.outputBits == 16)
    vector(ready, tvpCycles(t, e, 4 * e, 2 * e, false));
  out.opsDone.push_back(ready);
}

void ClusterReplay::outputStore(Tile &tile, Output &out) {
  int64_t piece = out.nextStore++;
  int64_t rows = split(out.rows, out.pieces, piece).second -
                 split(out.rows, out.pieces, piece).first;
  tile.time = std::max(tile.time, out.opsDone[piece] + m.semLocal);
  Dma d;
  d.bytes = double(rows) * out.cols * p.outputBits / 8;
  d.hbm = true;
  d.ports = {index(tile.i, tile.j)};
  double done = issue(tile, d);
  tile.accStores[out.accumulator] =
      std::max(tile.accStores[out.accumulator], done);
  tile.lastStore = std::max(tile.lastStore, done);
}

void ClusterReplay::progress(Tile &tile, size_t step, bool flush) {
  while (!tile.outputs.empty()) {
    Output &out = tile.outputs.front();
    if (!flush && step < out.readyStep)
      return;
    if (out.nextStore < out.nextOps)
      outputStore(tile, out);
    if (out.nextOps < out.pieces) {
      outputOps(tile, out);
      if (!needsOps())
        outputStore(tile, out);
    }
    if (out.nextStore == out.pieces)
      tile.outputs.pop_front();
    if (!flush)
      return;
  }
}

void ClusterReplay::flushOutputsOf(Tile &tile, size_t block) {
  while (!tile.outputs.empty() && tile.outputs.front().block <= block) {
    Output &out = tile.outputs.front();
    while (out.nextOps < out.pieces)
      outputOps(tile, out);
    while (out.nextStore < out.pieces)
      outputStore(tile, out);
    tile.outputs.pop_front();
  }
}

double ClusterReplay::run() {
  size_t n = steps.size(), slots = plan.slots;
  for (size_t s = 0; s + 1 < slots && s < n; ++s)
    for (Tile &tile : tiles)
      issueParts(tile, s, /*waitForSlot=*/false);
  // Each phase of a step runs on every tile before the next, in stream
  // order: a tile's product needs its senders' arrivals, its next parts
  // the receivers' releases.
  for (size_t s = 0; s < n; ++s) {
    for (Tile &tile : tiles)
      arrivals(tile, s);
    for (Tile &tile : tiles)
      product(tile, s);
    for (Tile &tile : tiles)
      release(tile, s);
    if (s + slots - 1 < n)
      for (Tile &tile : tiles)
        issueParts(tile, s + slots - 1, /*waitForSlot=*/s >= 1);
    for (Tile &tile : tiles)
      progress(tile, s, /*flush=*/false);
  }
  double end = 0;
  for (Tile &tile : tiles) {
    progress(tile, n, /*flush=*/true);
    end = std::max({end, tile.lastMmEnd, tile.lastStore});
  }
  return end;
}

} // namespace

double cost::clusterMatmulCycles(const Machine &m, unsigned streams,
                                 const MatmulProblem &p,
                                 const ClusterMatmulPlan &plan,
                                 double &hbmBytes) {
  double outBytes = p.outputBits / 8.0;
  hbmBytes = 0;
  for (const ClusterMatmulPlan::Cluster &c : plan.clusters)
    for (size_t b = 0; b < c.blocks.size(); ++b) {
      const ClusterBlock &block = c.blocks[b];
      bool reads = !plan.residentA || b == 0 || block.m0 != c.blocks[b - 1].m0;
      hbmBytes += (reads ? p.x.bytes(block.rows, p.k) : 0) +
                  p.w.bytes(block.cols, p.k) +
                  double(block.rows) * block.cols * outBytes +
                  (p.bias ? 4.0 * block.cols : 0);
    }
  // The slowest cluster sets the time; clusters with the same blocks but
  // for their position take the same time.
  double end = 0;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> seen;
  for (const ClusterMatmulPlan::Cluster &c : plan.clusters) {
    std::vector<std::pair<int64_t, int64_t>> shape;
    for (size_t b = 0; b < c.blocks.size(); ++b)
      shape.push_back({c.blocks[b].rows *
                           (b && c.blocks[b].m0 == c.blocks[b - 1].m0 ? 1 : -1),
                       c.blocks[b].cols});
    if (llvm::is_contained(seen, shape))
      continue;
    seen.push_back(shape);
    end = std::max(end, ClusterReplay(m, p, plan, c).run());
  }
  return end + phaseEnd(m.target, streams);
}
