//===- KernelPlans.cpp - how the Maia kernels cut their work --------------===//
//
// Pure arithmetic over the target model: the lowering emits these plans
// and the cost model times them.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/KernelPlans.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>

using namespace mixtile;
using llvm::Expected;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }
uint64_t alignTo(uint64_t a, uint64_t b) { return (a + b - 1) / b * b; }

/// The alignment of every TSRAM and CSRAM allocation of the lowering.
constexpr uint64_t kAlignment = 64;

/// Rows of a chunk that fit when each row needs `bytesPerRow` of the TSRAM
/// left after `reserved` bytes.
int64_t rowsThatFit(const TargetModel &target, uint64_t bytesPerRow,
                    uint64_t reserved) {
  uint64_t capacity = target.tsramBytesPerTile;
  if (reserved + bytesPerRow > capacity)
    return 0;
  return int64_t((capacity - reserved) / bytesPerRow);
}

} // namespace

int64_t OperandStorage::scaleBytes(int64_t rows, int64_t cols) const {
  int64_t bytes = rows * blocksPerRow(cols) * int64_t(scaleBits) / 8;
  if (wholeScale == WholeScale::Tensor)
    bytes += 4;
  else if (wholeScale == WholeScale::Row)
    bytes += rows * 4;
  return bytes;
}

//===----------------------------------------------------------------------===//
// Streams
//===----------------------------------------------------------------------===//

unsigned mixtile::resolveStreams(const TargetModel &target, unsigned tiles) {
  unsigned available = unsigned(target.numTiles());
  return tiles == 0 || tiles > available ? available : tiles;
}

uint32_t mixtile::streamTile(const TargetModel &target, unsigned i) {
  uint32_t cluster = i % target.clusters, slot = i / target.clusters;
  return uint32_t(cluster * target.tilesPerCluster + slot);
}

RowShare mixtile::rowShare(int64_t rows, unsigned streams, unsigned i) {
  int64_t r0 = rows * i / streams, r1 = rows * (i + 1) / streams;
  return {r0, r1 - r0};
}

//===----------------------------------------------------------------------===//
// Row-wise kernels
//===----------------------------------------------------------------------===//

int64_t mixtile::rmsNormChunkRows(const TargetModel &target, int64_t cols) {
  // Per row: input, output and its factor; the weight row is shared.
  return rowsThatFit(target, (2 * cols + 1) * 4, cols * 4 + 1024);
}

int64_t mixtile::elementwiseChunkRows(const TargetModel &target, int64_t cols) {
  return rowsThatFit(target, 2 * cols * 4, 1024);
}

int64_t mixtile::ropeChunkRows(const TargetModel &target, int64_t cols) {
  // Per row: a, b, cos, sin, and two products of cols / 2 values each.
  return rowsThatFit(target, 6 * (cols / 2) * 4, 1024);
}

int64_t mixtile::storeRowsChunkRows(const TargetModel &target, int64_t cols) {
  return rowsThatFit(target, cols * 4, 1024);
}

int64_t mixtile::quantizeChunkRows(const TargetModel &target, int64_t cols,
                                   const OperandStorage &out) {
  // The f32 input row and its codes and scales (plus the slack the staged
  // part reserves for aligning its scales).
  uint64_t perRow = cols * 4 + out.bytes(1, cols) + 128;
  return rowsThatFit(target, perRow, 1024);
}

int64_t mixtile::attentionBlockRows(const TargetModel &target, int64_t keys,
                                    int64_t headDim) {
  // K_h and V_h^T of the head stay; per query row its q, scores, mask row
  // and two statistics.
  uint64_t fixed = 2ull * keys * headDim * 4 + 1024;
  return rowsThatFit(target, (headDim + 2 * keys + 2) * 4, fixed);
}

uint64_t mixtile::attentionTsramBytes(int64_t keys, int64_t headDim,
                                      int64_t rows) {
  uint64_t floats = 2ull * keys * headDim + rows * (headDim + 2ull * keys + 1);
  // Six buffers, each aligned.
  return floats * 4 + 6 * kAlignment;
}

SharedKvAttentionPlan mixtile::planSharedKvAttention(const TargetModel &target,
                                                     unsigned streams,
                                                     int64_t heads,
                                                     int64_t kvHeads) {
  streams = resolveStreams(target, streams);
  std::vector<std::vector<unsigned>> byCluster(target.clusters);
  for (unsigned i = 0; i < streams; ++i)
    byCluster[streamTile(target, i) / target.tilesPerCluster].push_back(i);
  int64_t group = heads / kvHeads;
  SharedKvAttentionPlan plan;
  for (size_t slot = 0;; ++slot) {
    size_t before = plan.sets.size();
    for (uint32_t c = 0; c < byCluster.size(); ++c) {
      const std::vector<unsigned> &all = byCluster[c];
      size_t size = std::min<size_t>(group, all.size());
      if (size == 0 || (slot + 1) * size > all.size())
        continue;
      SharedKvAttentionPlan::Set set;
      set.cluster = c;
      set.streams.assign(all.begin() + slot * size,
                         all.begin() + (slot + 1) * size);
      plan.sets.push_back(std::move(set));
    }
    if (plan.sets.size() == before)
      break;
  }
  for (int64_t g = 0; g < kvHeads; ++g)
    plan.sets[g % plan.sets.size()].kvHeads.push_back(g);
  llvm::erase_if(plan.sets, [](const SharedKvAttentionPlan::Set &set) {
    return set.kvHeads.empty();
  });
  return plan;
}

//===----------------------------------------------------------------------===//
// The per-tile matrix product
//===----------------------------------------------------------------------===//

namespace {

/// TSRAM bytes the per-tile kernel reserves for a [rows, cols] part: codes,
/// scales and room to align the scales.
uint64_t stagedBytes(const OperandStorage &s, int64_t rows, int64_t cols) {
  return s.bytes(rows, cols) + 128;
}

} // namespace

Expected<PerTileMatmulPlan>
mixtile::planPerTileMatmul(const TargetModel &target, unsigned streams,
                           const MatmulProblem &p) {
  int64_t m = p.m, n = p.n, k = p.k;
  PerTileMatmulPlan t;
  t.mt = std::min<int64_t>(m, 256);
  t.nt = std::min<int64_t>(n, 256);
  // Too few C tiles to occupy every stream: cut N finer.
  int64_t itemsM = ceilDiv(m, t.mt);
  if (itemsM * ceilDiv(n, t.nt) < int64_t(streams)) {
    int64_t split = ceilDiv(streams, itemsM);
    t.nt = std::min(n, std::max<int64_t>(16, roundUp(ceilDiv(n, split), 16)));
  }
  uint64_t capacity = target.tsramBytesPerTile;
  auto need = [&](int64_t kb, bool doubleC) {
    uint64_t c = uint64_t(t.mt) * t.nt * 4 * (doubleC ? 2 : 1);
    return c + 2 * (stagedBytes(p.x, t.mt, kb) + stagedBytes(p.w, t.nt, kb)) +
           t.nt * 4 + 1024;
  };
  // K chunks: all of K when it fits, else a multiple of 64 (whole MX and
  // NVFP4 blocks, whole bytes of packed codes).
  int64_t kb = k <= 2048 ? k : 2048;
  while (kb > 64 && need(kb, false) > capacity)
    kb = std::max<int64_t>(64, (kb / 2) / 64 * 64);
  while (need(kb, false) > capacity && t.mt > 1) {
    t.mt = std::max<int64_t>(1, t.mt / 2);
    t.nt = std::max<int64_t>(std::min<int64_t>(n, 16), t.nt / 2);
  }
  if (need(kb, false) > capacity)
    return llvm::createStringError(
        "linear [" + llvm::Twine(m) + ", " + llvm::Twine(k) + "] x [" +
        llvm::Twine(n) + ", " + llvm::Twine(k) + "]^T: no tiling fits TSRAM");
  t.kb = kb;
  t.doubleAccumulator = need(kb, true) <= capacity;
  return t;
}

//===----------------------------------------------------------------------===//
// The cluster-cooperative matrix product
//===----------------------------------------------------------------------===//

ClusterMatmulLayout mixtile::layoutClusterMatmul(const ClusterMatmulPlan &plan,
                                                 const MatmulProblem &p) {
  ClusterMatmulLayout l;
  auto region = [&](const OperandStorage &s, int64_t rows, uint64_t &scales,
                    uint64_t &total) {
    scales = alignTo(rows * s.rowBytes(plan.kb), kAlignment);
    total = alignTo(scales + s.scaleBytes(rows, plan.kb), kAlignment);
  };
  region(p.x, plan.tileM, l.aScalesOffset, l.aRegionBytes);
  region(p.w, plan.tileN, l.bScalesOffset, l.bRegionBytes);
  uint64_t acc = alignTo(uint64_t(plan.tileM) * plan.tileN * 4, kAlignment);
  uint64_t bias = p.bias ? alignTo(uint64_t(plan.tileN) * 4, kAlignment) : 0;
  l.accumulator[0] = 0;
  l.accumulator[1] = acc;
  l.bias[0] = 2 * acc;
  l.bias[1] = 2 * acc + bias;
  l.slotA0 = 2 * acc + 2 * bias;
  l.slotB0 = l.slotA0 + l.aRegionBytes;
  l.slotStride = l.aRegionBytes + l.bRegionBytes;
  l.tsramBytes = l.slotA0 + plan.slots * l.slotStride;
  l.csramGroupBytes = plan.chunks(p.k) * l.aRegionBytes;
  return l;
}

namespace {

/// The streams of each cluster, by tile.
std::vector<std::vector<unsigned>> streamsByCluster(const TargetModel &target,
                                                    unsigned streams) {
  std::vector<std::vector<unsigned>> byCluster(target.clusters);
  for (unsigned i = 0; i < streams; ++i)
    byCluster[streamTile(target, i) / target.tilesPerCluster].push_back(i);
  return byCluster;
}

/// Splits [0, total) into `parts` contiguous ranges as evenly as possible;
/// returns the start of range i (i = parts gives total).
int64_t evenSplit(int64_t total, int64_t parts, int64_t i) {
  return total * i / parts;
}

/// The last block of a cluster is this many times narrower than the others:
/// its results are written after the last product, so a narrower block
/// leaves less to write while nothing overlaps it, and the block before
/// still has the last one's products to overlap its writes (measured best
/// of 2, 3, 4 and 8 at 8192^3).
constexpr int64_t kTailDivisor = 2;

/// The number of row panels when at least `least` are needed: a divisor of
/// the cluster count (each panel gets whole clusters) or a multiple of it
/// (each cluster gets whole panels), so that no cluster's run of blocks
/// straddles two panels and reads a second A panel for a few columns.
int64_t panelCount(int64_t least, int64_t clusters) {
  if (least >= clusters)
    return roundUp(least, clusters);
  int64_t panels = least;
  while (clusters % panels)
    ++panels;
  return panels;
}

/// Deals the C blocks to the clusters: row panels of at most gridM * tileM
/// rows, each cut into column units of 16 * gridN columns; every cluster
/// takes a contiguous run of (panel, unit) pairs, panel-major, and cuts each
/// panel's run into blocks of at most gridN * tileN columns.
void dealBlocks(ClusterMatmulPlan &plan, const MatmulProblem &p,
                const std::vector<std::vector<unsigned>> &byCluster) {
  int64_t cM = plan.gridM * plan.tileM, cN = plan.gridN * plan.tileN;
  int64_t unit = 16 * plan.gridN;
  int64_t unitsPerPanel = ceilDiv(p.n, unit);
  std::vector<uint32_t> clusters;
  for (uint32_t c = 0; c < byCluster.size(); ++c)
    if (int64_t(byCluster[c].size()) >= plan.gridM * plan.gridN)
      clusters.push_back(c);
  int64_t count = clusters.size();
  int64_t panels = panelCount(ceilDiv(p.m, cM), count);
  int64_t total = panels * unitsPerPanel;
  for (int64_t ci = 0; ci < count; ++ci) {
    int64_t u0 = evenSplit(total, count, ci),
            u1 = evenSplit(total, count, ci + 1);
    if (u1 == u0)
      continue;
    ClusterMatmulPlan::Cluster cluster;
    cluster.cluster = clusters[ci];
    const std::vector<unsigned> &streams = byCluster[clusters[ci]];
    cluster.streams.assign(streams.begin(),
                           streams.begin() + plan.gridM * plan.gridN);
    for (int64_t u = u0; u < u1;) {
      int64_t panel = u / unitsPerPanel;
      int64_t end = std::min(u1, (panel + 1) * unitsPerPanel);
      int64_t m0 = evenSplit(p.m, panels, panel);
      int64_t rows = evenSplit(p.m, panels, panel + 1) - m0;
      int64_t n0 = (u - panel * unitsPerPanel) * unit;
      int64_t n1 = std::min(p.n, (end - panel * unitsPerPanel) * unit);
      // The cluster's last block is narrower: its results are written
      // after its last product, with nothing left to overlap them.
      int64_t tail = 0;
      if (end == u1 && n1 - n0 > cN)
        tail = std::min(n1 - n0 - unit, roundUp(cN / kTailDivisor, unit));
      int64_t body = n1 - n0 - tail;
      int64_t blocks = ceilDiv(body, cN);
      for (int64_t b = 0; b < blocks; ++b) {
        int64_t c0 = n0 + evenSplit(body, blocks, b);
        int64_t c1 = n0 + evenSplit(body, blocks, b + 1);
        cluster.blocks.push_back({m0, rows, c0, c1 - c0});
      }
      if (tail > 0)
        cluster.blocks.push_back({m0, rows, n1 - tail, tail});
      u = end;
    }
    plan.clusters.push_back(std::move(cluster));
  }
}

/// True if some cluster computes two blocks of one row panel in a row, so
/// that keeping A in CSRAM saves HBM reads.
bool reusesPanels(const ClusterMatmulPlan &plan) {
  for (const ClusterMatmulPlan::Cluster &c : plan.clusters)
    for (size_t b = 1; b < c.blocks.size(); ++b)
      if (c.blocks[b].m0 == c.blocks[b - 1].m0)
        return true;
  return false;
}

/// The default K chunk: 128 bytes of codes per row (256 FP4, 128 FP8, 64
/// BF16 values), so that a chunk of any format takes the same staging
/// space and, at the format's rate, the same tensor-unit time.
int64_t defaultChunk(const MatmulProblem &p) {
  unsigned bits = std::max(p.x.elementBits, p.w.elementBits);
  return std::max<int64_t>(64, 1024 / bits / 64 * 64);
}

} // namespace

Expected<ClusterMatmulPlan>
mixtile::planClusterMatmul(const TargetModel &target, unsigned streams,
                           const MatmulProblem &p,
                           const ClusterMatmulLimits &limits) {
  auto fail = [&](const llvm::Twine &why) {
    return llvm::createStringError(
        "cluster matmul [" + llvm::Twine(p.m) + ", " + llvm::Twine(p.k) +
        "] x [" + llvm::Twine(p.n) + ", " + llvm::Twine(p.k) + "]^T: " + why);
  };
  streams = resolveStreams(target, streams);
  std::vector<std::vector<unsigned>> byCluster =
      streamsByCluster(target, streams);
  size_t perCluster = streams;
  for (const std::vector<unsigned> &c : byCluster)
    if (!c.empty())
      perCluster = std::min(perCluster, c.size());
  ClusterMatmulPlan plan;
  // A 2x2 grid shares each A and B chunk between two tiles; with two (or
  // three) tiles the pair shares B.
  plan.gridM = perCluster >= 2 ? 2 : 1;
  plan.gridN = perCluster >= 4 ? 2 : 1;
  plan.gridM = std::min<int64_t>(plan.gridM, p.m);
  plan.gridN = std::min<int64_t>(plan.gridN, p.n);
  plan.tileM = limits.tileM ? limits.tileM
                            : std::min<int64_t>(512, ceilDiv(p.m, plan.gridM));
  plan.tileN = limits.tileN ? limits.tileN
                            : std::min<int64_t>(384, ceilDiv(p.n, plan.gridN));
  plan.kb = limits.kb ? limits.kb : defaultChunk(p);
  if (plan.kb >= p.k)
    plan.kb = p.k;
  else if (plan.kb % 64)
    return fail("K chunks must be multiples of 64");
  plan.slots = limits.slots ? limits.slots : 4;
  if (plan.slots < 2)
    return fail("at least two staging slots are needed");
  // Narrow the tiles until the staging fits.
  uint64_t capacity = target.tsramBytesPerTile;
  while (layoutClusterMatmul(plan, p).tsramBytes > capacity &&
         plan.tileN > 16 && !limits.tileN)
    plan.tileN = std::max<int64_t>(16, plan.tileN - 64);
  if (layoutClusterMatmul(plan, p).tsramBytes > capacity)
    return fail("the staging does not fit TSRAM");
  dealBlocks(plan, p, byCluster);
  if (plan.clusters.empty())
    return fail("no cluster has " + llvm::Twine(plan.gridM * plan.gridN) +
                " streams");
  uint64_t csram = plan.gridM * layoutClusterMatmul(plan, p).csramGroupBytes;
  bool fits = csram <= uint64_t(target.csramBytesPerCluster);
  plan.residentA = limits.residentA < 0 ? fits && reusesPanels(plan)
                                        : fits && limits.residentA;
  return plan;
}
