//===- CostModel.cpp - analytical cost of the Maia kernels ----------------===//
//
// Every estimate replays its kernel's command order for the busiest stream
// (the cluster kernel: the busiest cluster, ClusterMatmulModel.cpp), with
// the chip's other streams folded in as sharers of the DMA channels: all
// streams of a kernel do the same work at the same time, so a transfer
// waits for its sharers' equal transfers on HBM and on its cluster's link.
// Commands that wait on a semaphore start the semaphore latency after what
// they wait for; units run one command at a time; DMAs hold their queue
// until they complete. docs/MaiaKernels.md, "The cost model", states the
// approximations.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/CostModel.h"
#include "CostModelInternal.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace mixtile;
using namespace mixtile::cost;
using llvm::Expected;

ComputeClass ProductFormats::computeClass() const {
  return computeClassOf(activations.elementBits, weights.elementBits);
}

//===----------------------------------------------------------------------===//
// The machine
//===----------------------------------------------------------------------===//

Machine::Machine(const TargetModel &t)
    : target(t), hbm(hbmBytesPerCycle(t)), link(clusterLinkBytesPerCycle(t)),
      port(tileLinkBytesPerCycle(t)), setup(double(t.dmaSetupCycles)),
      latency(double(hbmLatencyCycles(t))),
      semLocal(double(t.semWaitCyclesSameTile)),
      semCluster(double(t.semWaitCyclesSameCluster)) {}

Sharing cost::sharing(const TargetModel &target, int64_t active) {
  active = std::max<int64_t>(active, 1);
  return {double(active), double(ceilDiv(active, target.clusters))};
}

double Channels::serve(double &free, double start, double cycles, double others,
                       double spacing) {
  double t = free;
  for (double k = others; k >= 1; --k)
    t = std::max(t, start - k * spacing) + cycles;
  free = std::max(t, start) + cycles;
  return free;
}

void Channels::sharersFirst(double at, llvm::ArrayRef<double> group) {
  double start = at + m.setup, hbmGroup = 0, linkGroup = 0;
  for (double b : group) {
    hbmGroup += std::ceil(b / m.hbm);
    linkGroup += std::ceil(b / m.link);
  }
  // The other streams' groups arrive staggered by how HBM served the
  // group they last waited for; on the cluster link only the neighbours
  // of the cluster.
  for (double k = s.streams - 1; k >= 1; --k)
    hbm = std::max(hbm, start - k * stagger) + hbmGroup;
  for (double k = s.perCluster - 1; k >= 1; --k)
    link = std::max(link, start - k * stagger) + linkGroup;
  stagger = hbmGroup;
}

double Channels::own(double at, double bytes) {
  double start = at + m.setup;
  hbm = std::max(hbm, start) + std::ceil(bytes / m.hbm);
  link = std::max(link, start) + std::ceil(bytes / m.link);
  port = std::max(port, start) + std::ceil(bytes / m.port);
  return std::max({hbm, link, port}) + m.latency;
}

double QueueRing::issue(double t, size_t count, Channels &channels,
                        double &done) {
  done = 0;
  size_t queues = freeAt.size();
  for (size_t end = issued + count; issued < end; ++issued) {
    size_t q = issued % queues;
    t = std::max(t, freeAt[q]);
    // Every stream's DMAs go in waves of one per queue: the sharers' wave
    // comes before the modeled stream's.
    if (q == 0) {
      llvm::ArrayRef<double> wave(sequence);
      channels.sharersFirst(
          t, wave.slice(issued, std::min(queues, sequence.size() - issued)));
    }
    freeAt[q] = channels.own(t, sequence[issued]);
    done = std::max(done, freeAt[q]);
  }
  return t;
}

double cost::phaseEnd(const TargetModel &t, unsigned streams) {
  double barrier = 0;
  if (streams > 1)
    barrier = t.clusters > 1 ? t.semWaitCyclesOtherCluster
                             : t.semWaitCyclesSameCluster;
  return t.semWaitCyclesSameTile + barrier;
}

uint64_t cost::binaryCycles(const TargetModel &t, int64_t rows, int64_t len,
                            int64_t bElements) {
  uint64_t e = uint64_t(rows) * len;
  return tvpCycles(t, e, 4 * (e + bElements), 4 * e, false);
}

uint64_t cost::unaryCycles(const TargetModel &t, int64_t rows, int64_t len,
                           bool transcendental) {
  uint64_t e = uint64_t(rows) * len;
  return tvpCycles(t, e, 4 * e, 4 * e, transcendental);
}

uint64_t cost::reduceCycles(const TargetModel &t, int64_t rows, int64_t len) {
  uint64_t e = uint64_t(rows) * len;
  return tvpCycles(t, e, 4 * e, 4 * uint64_t(rows), false);
}

std::vector<double> cost::partDmaBytes(const OperandStorage &s, int64_t rows,
                                       int64_t cols) {
  std::vector<double> bytes = {double(rows * s.rowBytes(cols))};
  if (s.wholeScale == OperandStorage::WholeScale::Tensor)
    bytes.push_back(4);
  else if (s.wholeScale == OperandStorage::WholeScale::Row)
    bytes.push_back(4.0 * rows);
  if (s.block > 0)
    bytes.push_back(double(rows * s.blocksPerRow(cols)) * s.scaleBits / 8);
  return bytes;
}

uint64_t cost::productCycles(const TargetModel &t, const MatmulProblem &p,
                             int64_t rows, int64_t cols, int64_t kc,
                             bool accumulate) {
  ComputeClass cls = computeClassOf(p.x.elementBits, p.w.elementBits);
  uint64_t outputs = uint64_t(rows) * cols;
  uint64_t read = p.x.bytes(rows, kc) + p.w.bytes(cols, kc) +
                  (accumulate ? 4 * outputs : 0);
  return ttuCycles(t, cls, outputs * kc, read, 4 * outputs);
}

namespace {

LayerCost makeCost(const TargetModel &t, double cycles, double macs,
                   ComputeClass cls, double bytes, double hbmBytes) {
  LayerCost c;
  c.cycles = cycles;
  c.seconds = cycles / t.clockHz;
  c.macs = macs;
  c.bytes = bytes;
  c.hbmBytes = hbmBytes;
  c.computeSeconds = macs / t.peakMacsPerSecond(cls);
  c.memorySeconds = bytes / t.sustainedHbmBytesPerSecond();
  return c;
}

//===----------------------------------------------------------------------===//
// Row-wise kernels
//===----------------------------------------------------------------------===//

/// A vector op of a chunk and whether it waits on the previous op's
/// semaphore (rather than only for the vector unit to be free).
struct VectorStep {
  uint64_t cycles = 0;
  bool waits = true;
};

/// One chunk of a row-wise kernel: its loads (issued together), a chain of
/// vector ops, its stores (issued together).
struct ChunkWork {
  double loadBytes = 0, storeBytes = 0;
  std::vector<VectorStep> ops;
};

/// The busiest stream of a row-wise kernel handles ceil(rows / streams)
/// rows in chunks; a chunk's loads wait for the previous chunk's stores.
/// `firstLoadBytes` ride along with the first chunk's loads.
template <typename Work>
double rowKernelCycles(const Machine &m, unsigned streams, int64_t rows,
                       int64_t chunkRows, double firstLoadBytes, Work work) {
  int64_t share = ceilDiv(rows, streams);
  Channels channels(m, sharing(m.target, std::min<int64_t>(streams, rows)));
  double t = 0;
  for (int64_t c0 = 0; c0 < share; c0 += chunkRows) {
    ChunkWork w = work(std::min(chunkRows, share - c0));
    if (c0 > 0)
      t += m.semLocal;
    t = channels.hbmTransfer(t, w.loadBytes + (c0 == 0 ? firstLoadBytes : 0));
    for (const VectorStep &op : w.ops)
      t += (op.waits ? m.semLocal : 0) + double(op.cycles);
    // The stores wait for the last op; the next loads (or the drain) for
    // the stores.
    t = channels.hbmTransfer(t + m.semLocal, w.storeBytes);
  }
  return t + phaseEnd(m.target, streams);
}

LayerCost rowKernelCost(const TargetModel &t, double cycles, int64_t rows,
                        int64_t cols, double readPerElement,
                        double writePerElement) {
  double bytes = double(rows) * cols * (readPerElement + writePerElement);
  return makeCost(t, cycles, 0, ComputeClass::BF16, bytes, bytes);
}

//===----------------------------------------------------------------------===//
// The per-tile matrix product
//===----------------------------------------------------------------------===//

struct CTile {
  int64_t rows, cols;
};

double perTileCycles(const Machine &m, unsigned streams, const MatmulProblem &p,
                     const PerTileMatmulPlan &plan, double &hbmBytes) {
  const TargetModel &t = m.target;
  std::vector<CTile> all;
  for (int64_t m0 = 0; m0 < p.m; m0 += plan.mt)
    for (int64_t n0 = 0; n0 < p.n; n0 += plan.nt)
      all.push_back({std::min(plan.mt, p.m - m0), std::min(plan.nt, p.n - n0)});
  // Stream 0 gets the first C tile and, with round-robin dealing, at least
  // as many as any other.
  std::vector<CTile> mine;
  for (size_t i = 0; i < all.size(); i += streams)
    mine.push_back(all[i]);
  // In round r of the dealing only the streams with an r-th C tile move
  // data.
  auto sharers = [&](size_t round) {
    return sharing(t, std::min<int64_t>(streams, all.size() - round * streams));
  };
  Channels channels(m, sharers(0));
  double outBytes = p.outputBits / 8.0;
  hbmBytes = 0;
  for (const CTile &c : all) {
    hbmBytes += p.x.bytes(c.rows, p.k) + p.w.bytes(c.cols, p.k) +
                c.rows * c.cols * outBytes + (p.bias ? c.cols * 4 : 0);
  }

  struct Chunk {
    size_t item;
    int64_t kc;
    bool first, last;
  };
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < mine.size(); ++i)
    for (int64_t k0 = 0; k0 < p.k; k0 += plan.kb)
      chunks.push_back(
          {i, std::min(plan.kb, p.k - k0), k0 == 0, k0 + plan.kb >= p.k});
  // The stream's DMAs in issue order: load(0), then per chunk j the load
  // of chunk j + 1 and, after an item's last chunk, its bias and its C.
  auto loadBytes = [&](size_t j) {
    const Chunk &c = chunks[j];
    const CTile &item = mine[c.item];
    std::vector<double> bytes = partDmaBytes(p.x, item.rows, c.kc);
    llvm::append_range(bytes, partDmaBytes(p.w, item.cols, c.kc));
    return bytes;
  };
  std::vector<double> sequence = loadBytes(0);
  for (size_t j = 0; j < chunks.size(); ++j) {
    if (j + 1 < chunks.size())
      llvm::append_range(sequence, loadBytes(j + 1));
    if (!chunks[j].last)
      continue;
    const CTile &item = mine[chunks[j].item];
    if (p.bias)
      sequence.push_back(item.cols * 4.0);
    sequence.push_back(item.rows * item.cols * outBytes);
  }
  QueueRing queues(t.dmaQueuesPerTile, std::move(sequence));
  auto load = [&](double at, size_t j, double &done) {
    return queues.issue(at, loadBytes(j).size(), channels, done);
  };
  size_t n = chunks.size();
  std::vector<double> loaded(n, 0), mmEnd(n, 0);
  double accFree[2] = {0, 0};
  int accumulators = plan.doubleAccumulator ? 2 : 1;
  double time = load(0, 0, loaded[0]), lastDone = 0;
  for (size_t j = 0; j < n; ++j) {
    const Chunk &c = chunks[j];
    const CTile &item = mine[c.item];
    if (c.first)
      channels.setSharing(sharers(c.item));
    if (j + 1 < n) {
      // The next load reuses the slot of product j - 1.
      if (j >= 1)
        time = std::max(time, mmEnd[j - 1] + m.semLocal);
      time = load(time, j + 1, loaded[j + 1]);
    }
    double start =
        std::max({time, loaded[j] + m.semLocal, j ? mmEnd[j - 1] : 0.0});
    int acc = c.item % accumulators;
    if (c.first)
      start = std::max(start, accFree[acc] + m.semLocal);
    time = start;
    mmEnd[j] =
        start + productCycles(t, p, item.rows, item.cols, c.kc, !c.first);
    if (!c.last)
      continue;
    // The C tile goes out after the product (and the bias and bf16
    // rounding on the vector unit); the stream waits for each.
    double ready = mmEnd[j];
    if (p.bias) {
      double biasDone;
      time = queues.issue(time, 1, channels, biasDone);
      double add = std::max({time, ready + m.semLocal, biasDone + m.semLocal});
      time = add;
      ready = add + binaryCycles(t, item.rows, item.cols, item.cols);
    }
    if (p.outputBits == 16) {
      double quant = std::max(time, ready + m.semLocal);
      time = quant;
      uint64_t e = uint64_t(item.rows) * item.cols;
      ready = quant + tvpCycles(t, e, 4 * e, 2 * e, false);
    }
    time = std::max(time, ready + m.semLocal);
    time = queues.issue(time, 1, channels, accFree[acc]);
    lastDone = std::max(lastDone, accFree[acc]);
  }
  return std::max(lastDone, mmEnd[n - 1]) + phaseEnd(t, streams);
}

/// The roofline of a product that no kernel plan covers.
LayerCost rooflineMatmul(const TargetModel &t, const MatmulProblem &p) {
  double macs = double(p.m) * p.n * p.k;
  double bytes = (double(p.n) * p.k * p.w.bitsPerElement() +
                  double(p.m) * p.k * p.x.bitsPerElement() +
                  double(p.m) * p.n * p.outputBits) /
                 8;
  ComputeClass cls = computeClassOf(p.x.elementBits, p.w.elementBits);
  LayerCost c = makeCost(t, 0, macs, cls, bytes, bytes);
  c.seconds = std::max(c.computeSeconds, c.memorySeconds);
  c.cycles = c.seconds * t.clockHz;
  return c;
}

} // namespace

//===----------------------------------------------------------------------===//
// Products
//===----------------------------------------------------------------------===//

LayerCost mixtile::estimateMatmul(const TargetModel &target, unsigned streams,
                                  const MatmulProblem &p,
                                  const MatmulPlan &plan) {
  streams = resolveStreams(target, streams);
  Machine m(target);
  double hbmBytes = 0;
  double cycles =
      plan.kernel == MatmulKernel::Cluster
          ? clusterMatmulCycles(m, streams, p, plan.cluster, hbmBytes)
          : perTileCycles(m, streams, p, plan.perTile, hbmBytes);
  LayerCost roofline = rooflineMatmul(target, p);
  return makeCost(target, cycles, roofline.macs,
                  computeClassOf(p.x.elementBits, p.w.elementBits),
                  roofline.bytes, hbmBytes);
}

Expected<MatmulPlan>
mixtile::chooseMatmulPlan(const TargetModel &target, unsigned streams,
                          const MatmulProblem &problem, MatmulKernel kernel,
                          const ClusterMatmulLimits &limits) {
  streams = resolveStreams(target, streams);
  MatmulPlan perTile;
  if (kernel != MatmulKernel::Cluster) {
    Expected<PerTileMatmulPlan> plan =
        planPerTileMatmul(target, streams, problem);
    if (!plan)
      return plan.takeError();
    perTile.kernel = MatmulKernel::PerTile;
    perTile.perTile = *plan;
    if (kernel == MatmulKernel::PerTile)
      return perTile;
  }
  Expected<ClusterMatmulPlan> plan =
      planClusterMatmul(target, streams, problem, limits);
  if (!plan) {
    if (kernel == MatmulKernel::Cluster)
      return plan.takeError();
    llvm::consumeError(plan.takeError());
    return perTile;
  }
  MatmulPlan cluster;
  cluster.kernel = MatmulKernel::Cluster;
  cluster.cluster = std::move(*plan);
  if (kernel == MatmulKernel::Cluster)
    return cluster;
  // Auto: the kernel modeled fastest.
  double perTileCycles =
      estimateMatmul(target, streams, problem, perTile).cycles;
  double clusterCycles =
      estimateMatmul(target, streams, problem, cluster).cycles;
  return clusterCycles < perTileCycles ? cluster : perTile;
}

Expected<LayerCost> mixtile::estimateMatmul(const TargetModel &target,
                                            unsigned streams,
                                            const MatmulProblem &problem,
                                            MatmulKernel kernel) {
  Expected<MatmulPlan> plan =
      chooseMatmulPlan(target, streams, problem, kernel);
  if (!plan)
    return plan.takeError();
  return estimateMatmul(target, streams, problem, *plan);
}

LayerCost mixtile::estimateMatmul(const TargetModel &target, int64_t m,
                                  int64_t n, int64_t k,
                                  const ProductFormats &formats) {
  MatmulProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.x = formats.activations;
  p.w = formats.weights;
  p.outputBits = formats.outputBits;
  // Rows of codes must fill whole bytes for a kernel to stage them.
  bool wholeBytes = (k * p.x.elementBits) % 8 == 0 &&
                    (k * p.w.elementBits) % 8 == 0 &&
                    (n * p.outputBits) % 8 == 0;
  if (m <= 0 || n <= 0 || k <= 0 || !wholeBytes)
    return rooflineMatmul(target, p);
  Expected<LayerCost> cost = estimateMatmul(target, 0, p);
  if (!cost) {
    llvm::consumeError(cost.takeError());
    return rooflineMatmul(target, p);
  }
  return *cost;
}

//===----------------------------------------------------------------------===//
// Row-wise kernels and attention
//===----------------------------------------------------------------------===//

LayerCost mixtile::estimateRMSNorm(const TargetModel &target, unsigned streams,
                                   int64_t rows, int64_t n) {
  streams = resolveStreams(target, streams);
  Machine m(target);
  double cycles = rowKernelCycles(
      m, streams, rows, rmsNormChunkRows(target, n), n * 4.0, [&](int64_t r) {
        ChunkWork w;
        w.loadBytes = w.storeBytes = double(r) * n * 4;
        w.ops = {
            {reduceCycles(target, r, n)},    {binaryCycles(target, r, 1, 0)},
            {binaryCycles(target, r, 1, 0)}, {unaryCycles(target, r, 1, true)},
            {binaryCycles(target, r, n, r)}, {binaryCycles(target, r, n, n)}};
        return w;
      });
  return rowKernelCost(target, cycles, rows, n, 4, 4);
}

LayerCost mixtile::estimateElementwise(const TargetModel &target,
                                       unsigned streams, ElementwiseKind kind,
                                       int64_t rows, int64_t n) {
  streams = resolveStreams(target, streams);
  Machine m(target);
  bool unary = kind == ElementwiseKind::Silu;
  double cycles = rowKernelCycles(
      m, streams, rows, elementwiseChunkRows(target, n), 0, [&](int64_t r) {
        ChunkWork w;
        w.loadBytes = double(r) * n * 4 * (unary ? 1 : 2);
        w.storeBytes = double(r) * n * 4;
        w.ops = {{unary ? unaryCycles(target, r, n, true)
                        : binaryCycles(target, r, n, r * n)}};
        return w;
      });
  return rowKernelCost(target, cycles, rows, n, unary ? 4 : 8, 4);
}

LayerCost mixtile::estimateRope(const TargetModel &target, unsigned streams,
                                int64_t rows, int64_t n) {
  streams = resolveStreams(target, streams);
  Machine m(target);
  int64_t half = n / 2;
  double cycles = rowKernelCycles(
      m, streams, rows, ropeChunkRows(target, n), 0, [&](int64_t r) {
        ChunkWork w;
        // x's two halves of each pair, cos and sin.
        w.loadBytes = 4.0 * r * half * 4;
        w.storeBytes = 2.0 * r * half * 4;
        uint64_t op = binaryCycles(target, r, half, r * half);
        // The second product only waits for its loads (the vector unit
        // is busy until then); the rest wait for the op before.
        w.ops = {{op}, {op, false}, {op}, {op}, {op}, {op}};
        return w;
      });
  return rowKernelCost(target, cycles, rows, n, 8, 4);
}

LayerCost mixtile::estimateQuantize(const TargetModel &target, unsigned streams,
                                    int64_t rows, int64_t n,
                                    const OperandStorage &out) {
  streams = resolveStreams(target, streams);
  Machine m(target);
  double cycles = rowKernelCycles(
      m, streams, rows, quantizeChunkRows(target, n, out), 0, [&](int64_t r) {
        ChunkWork w;
        w.loadBytes = double(r) * n * 4;
        w.storeBytes = double(out.bytes(r, n));
        uint64_t e = uint64_t(r) * n;
        w.ops = {{tvpCycles(target, e, 4 * e, out.bytes(r, n), false)}};
        return w;
      });
  double bytes = double(rows) * n * 4 + double(out.bytes(rows, n));
  return makeCost(target, cycles, 0, ComputeClass::BF16, bytes, bytes);
}

namespace {

/// Single-query attention (planSharedKvAttention): the replay follows the
/// set with the most KV groups, whose cache rows load after every other
/// set's of the round (the simulator serves the sets' issuers in tile
/// order), then its streams' heads, one after another on each.
LayerCost estimateSharedKvAttention(const TargetModel &target, unsigned streams,
                                    const AttentionShape &a) {
  Machine m(target);
  SharedKvAttentionPlan plan =
      planSharedKvAttention(target, streams, a.heads, a.kvHeads);
  int64_t hd = a.headDim, keys = a.keys, group = a.heads / a.kvHeads;
  const SharedKvAttentionPlan::Set *busiest = &plan.sets.front();
  for (const SharedKvAttentionPlan::Set &set : plan.sets)
    if (set.kvHeads.size() > busiest->kvHeads.size())
      busiest = &set;
  int64_t headsPerStream = ceilDiv(group, int64_t(busiest->streams.size()));
  // The sets that load K and V at the same time, and those on one cluster.
  std::map<uint32_t, int64_t> setsPerCluster;
  for (const SharedKvAttentionPlan::Set &set : plan.sets)
    ++setsPerCluster[set.cluster];
  int64_t busiestCluster = 0;
  for (auto [cluster, n] : setsPerCluster)
    busiestCluster = std::max(busiestCluster, n);
  Sharing kvSharing{double(plan.sets.size()), double(busiestCluster)};
  int64_t active = 0;
  for (const SharedKvAttentionPlan::Set &set : plan.sets)
    active += set.streams.size();
  Sharing rowSharing = sharing(target, active);
  Channels channels(m, rowSharing);
  ComputeClass f32 = computeClassOf(32, 32);
  double kvBytes = 4.0 * keys * hd, rowBytes = 4.0 * hd;
  double t = 0;
  for (size_t gi = 0; gi < busiest->kvHeads.size(); ++gi) {
    // Query rows first, then K and V.
    channels.setSharing(rowSharing);
    double query = channels.hbmTransfer(t, rowBytes);
    channels.setSharing(kvSharing);
    channels.sharersFirst(t, {kvBytes, kvBytes});
    double kDone = channels.own(t, kvBytes);
    double vDone = channels.own(t, kvBytes);
    // The issuer relays the arrivals within the cluster.
    double relay = busiest->streams.size() > 1 ? m.semCluster : m.semLocal;
    double done = 0;
    channels.setSharing(rowSharing);
    for (int64_t h = 0; h < headsPerStream; ++h) {
      double s = std::max(query, kDone + relay) + m.semLocal;
      s += ttuCycles(target, f32, uint64_t(keys) * hd,
                     4 * (uint64_t(hd) + uint64_t(keys) * hd), 4 * keys) +
           m.semLocal;
      for (uint64_t op :
           {unaryCycles(target, 1, keys, false), reduceCycles(target, 1, keys),
            binaryCycles(target, 1, keys, 1),
            unaryCycles(target, 1, keys, true), reduceCycles(target, 1, keys),
            binaryCycles(target, 1, keys, 1)})
        s += double(op) + m.semLocal;
      s = std::max(s, vDone + relay) +
          ttuCycles(target, f32, uint64_t(keys) * hd,
                    4 * (uint64_t(keys) + uint64_t(hd) * keys), 4 * hd) +
          m.semLocal;
      done = channels.hbmTransfer(s, rowBytes);
      if (h + 1 < headsPerStream)
        query = channels.hbmTransfer(done + m.semLocal, rowBytes);
    }
    // The next group's K and V wait until every receiver is done.
    t = done + relay;
  }
  double macs = 2.0 * a.heads * keys * hd;
  double hbmBytes = 8.0 * a.heads * hd + 2.0 * a.kvHeads * kvBytes;
  double bytes = 8.0 * a.queries * a.heads * hd + 8.0 * keys * a.kvHeads * hd;
  return makeCost(target,
                  t - m.semCluster + m.semLocal + phaseEnd(target, streams),
                  macs, f32, bytes, hbmBytes);
}

} // namespace

LayerCost mixtile::estimateAttention(const TargetModel &target,
                                     unsigned streams,
                                     const AttentionShape &a) {
  streams = resolveStreams(target, streams);
  if (a.queries == 1)
    return estimateSharedKvAttention(target, streams, a);
  Machine m(target);
  int64_t hd = a.headDim, keys = a.keys, group = a.heads / a.kvHeads;
  int64_t block = attentionBlockRows(target, keys, hd);
  int64_t blocksPerHead = ceilDiv(a.queries, block);
  int64_t tasks = a.heads * blocksPerHead;
  bool masked = a.causal && a.queries > 1;
  // Each stream's first task loads its K and V: the streams' loads relative
  // to stream 0's, whose tasks are the largest.
  auto taskLoads = [&](int64_t task) {
    int64_t s0 = (task % blocksPerHead) * block;
    int64_t r = std::min(block, a.queries - s0);
    return 4.0 * r * hd + (masked ? 4.0 * r * keys : 0) + 8.0 * keys * hd;
  };
  double first = 0;
  int64_t active = std::min<int64_t>(streams, tasks);
  for (int64_t task = 0; task < active; ++task)
    first += taskLoads(task);
  Sharing share = sharing(target, active);
  share.streams = first / taskLoads(0);
  share.perCluster = std::max(1.0, share.streams / target.clusters);
  Channels channels(m, share);
  ComputeClass f32 = computeClassOf(32, 32);
  double t = 0, macs = 0, hbmBytes = 0;
  // Stream 0 takes tasks 0, streams, 2 * streams, ...: the most of any.
  int64_t loadedGroup = -1;
  for (int64_t task = 0; task < tasks; task += streams) {
    int64_t head = task / blocksPerHead, s0 = (task % blocksPerHead) * block;
    int64_t r = std::min(block, a.queries - s0), g = head / group;
    uint64_t e = uint64_t(r) * keys;
    double loads = 4.0 * r * hd + (masked ? 4.0 * e : 0);
    if (g != loadedGroup)
      loads += 2.0 * keys * hd * 4;
    loadedGroup = g;
    t = channels.hbmTransfer(t, loads) + m.semLocal;
    uint64_t qk = uint64_t(r) * keys * hd;
    t += ttuCycles(target, f32, qk, 4 * (uint64_t(r) * hd + keys * hd), 4 * e) +
         m.semLocal;
    std::vector<uint64_t> ops = {unaryCycles(target, r, keys, false)};
    if (masked)
      ops.push_back(binaryCycles(target, r, keys, e));
    ops.insert(ops.end(),
               {reduceCycles(target, r, keys), binaryCycles(target, r, keys, r),
                unaryCycles(target, r, keys, true),
                reduceCycles(target, r, keys),
                binaryCycles(target, r, keys, r)});
    for (uint64_t op : ops)
      t += double(op) + m.semLocal;
    t += ttuCycles(target, f32, qk, 4 * (e + uint64_t(hd) * keys),
                   4 * uint64_t(r) * hd) +
         m.semLocal;
    t = channels.hbmTransfer(t, 4.0 * r * hd) + m.semLocal;
  }
  // Every task of the chip, for the traffic and the MACs.
  for (int64_t task = 0; task < tasks; ++task) {
    int64_t s0 = (task % blocksPerHead) * block;
    int64_t r = std::min(block, a.queries - s0);
    macs += 2.0 * r * keys * hd;
    hbmBytes += 8.0 * r * hd + (masked ? 4.0 * r * keys : 0);
  }
  hbmBytes += double(std::min<int64_t>(tasks, streams)) * 2 * keys * hd * 4;
  double bytes = 8.0 * a.queries * a.heads * hd + 8.0 * keys * a.kvHeads * hd;
  return makeCost(target, t - m.semLocal + phaseEnd(target, streams), macs, f32,
                  bytes, hbmBytes);
}
