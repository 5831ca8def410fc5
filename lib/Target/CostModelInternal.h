//===- CostModelInternal.h - pieces shared by the kernel models -*- C++ -*-===//
//
// The machine the cost model's kernel replays run on (rates and latencies
// in cycles), its DMA channels as first-come-first-served servers, a
// stream's DMA queues, and the unit costs of the commands the kernels
// issue. Private to lib/Target.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_TARGET_COSTMODELINTERNAL_H
#define MIXTILE_LIB_TARGET_COSTMODELINTERNAL_H

#include "mixtile/Target/KernelPlans.h"
#include "mixtile/Target/UnitTiming.h"

#include "llvm/ADT/ArrayRef.h"

#include <vector>

namespace mixtile::cost {

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The target's channels and latencies, in cycles.
struct Machine {
  explicit Machine(const TargetModel &t);

  const TargetModel &target;
  double hbm, link, port, setup, latency, semLocal, semCluster;
};

/// The streams that move data at the same time: all of them, and those of
/// the busiest cluster (streams are spread over the clusters first).
struct Sharing {
  double streams = 1, perCluster = 1;
};

Sharing sharing(const TargetModel &target, int64_t active);

/// The DMA channels the modeled stream's transfers cross, served first come
/// first served: HBM, its cluster's link, its tile's port. All streams do
/// the same work, and the simulator serves requests of one cycle in tile
/// order, so the modeled stream is the last of its sharers and the tiles of
/// its cluster come just before it. On HBM the others' equal transfers go
/// first, but only from when HBM finished the modeled stream's previous one
/// (they fill the time it spends computing); on the cluster link its
/// neighbours arrive one HBM service time apart, just before it.
class Channels {
public:
  Channels(const Machine &m, Sharing s) : m(m), s(s) {}

  /// A transfer of `bytes` between HBM and the tile issued at `at`: when
  /// it completes. Each channel takes whole cycles per transfer.
  double hbmTransfer(double at, double bytes) {
    sharersFirst(at, {bytes});
    return own(at, bytes);
  }
  /// The sharers' equal groups of transfers (`group`, a chunk's loads, say)
  /// are served before the modeled stream's group that starts at `at`: the
  /// simulator issues a tile's commands of one cycle before the next
  /// tile's, so the streams' groups stay in tile order.
  void sharersFirst(double at, llvm::ArrayRef<double> group);
  /// One of the modeled stream's transfers, issued at `at`.
  double own(double at, double bytes);
  /// The sharers of the transfers from now on.
  void setSharing(Sharing sharing) { s = sharing; }

  /// Serves a transfer of `cycles` on a channel free at `free` after
  /// `others` equal transfers of the other sharers, which arrived `spacing`
  /// apart up to `start`; returns (and sets `free` to) when it is done.
  static double serve(double &free, double start, double cycles, double others,
                      double spacing);

private:
  const Machine &m;
  Sharing s;
  double hbm = 0, link = 0, port = 0;
  /// How far apart the streams are: each waited for its share of the
  /// last group, served one after another (0 at the start).
  double stagger = 0;
};

/// A stream's DMA queues, used in turn: a DMA issues when its queue is free
/// and holds it until it completes. The stream's DMAs go in waves of one
/// per queue (DMA i + queues waits for DMA i's queue), on every stream
/// alike, so the sharers' wave is served before the modeled stream's.
class QueueRing {
public:
  /// `sequence`: the bytes of every DMA the stream issues, in order.
  QueueRing(int64_t queues, std::vector<double> sequence)
      : freeAt(queues, 0.0), sequence(std::move(sequence)) {}

  /// Issues the stream's next `count` DMAs from time `t` through
  /// `channels` (the stream stalls on busy queues); returns the issue time
  /// of the last and sets `done` to when the last completes.
  double issue(double t, size_t count, Channels &channels, double &done);

private:
  std::vector<double> freeAt;
  std::vector<double> sequence;
  size_t issued = 0;
};

/// Cycles from the last command of a phase to its end: every stream waits
/// for its commands, then all meet at a barrier, released after the
/// semaphore latency from the first tile to the farthest.
double phaseEnd(const TargetModel &t, unsigned streams);

/// Vector ops over [rows, len] as the kernels issue them (the simulator's
/// TSRAM traffic): a binary op whose second operand has `bElements`
/// elements, a unary op, a row reduction.
uint64_t binaryCycles(const TargetModel &t, int64_t rows, int64_t len,
                      int64_t bElements);
uint64_t unaryCycles(const TargetModel &t, int64_t rows, int64_t len,
                     bool transcendental);
uint64_t reduceCycles(const TargetModel &t, int64_t rows, int64_t len);

/// The DMAs that stage a [rows, cols] part of an operand, in the order the
/// kernels issue them: codes, the whole (per-tensor or per-row) scales,
/// the block scales.
std::vector<double> partDmaBytes(const OperandStorage &s, int64_t rows,
                                 int64_t cols);

/// One tensor-unit product of a [rows, kc] part of x with a [cols, kc]
/// part of w.
uint64_t productCycles(const TargetModel &t, const MatmulProblem &p,
                       int64_t rows, int64_t cols, int64_t kc, bool accumulate);

/// Cycles of the cluster kernel with `plan` on `streams` streams, and the
/// bytes it moves across HBM (ClusterMatmulModel.cpp).
double clusterMatmulCycles(const Machine &m, unsigned streams,
                           const MatmulProblem &p,
                           const ClusterMatmulPlan &plan, double &hbmBytes);

} // namespace mixtile::cost

#endif // MIXTILE_LIB_TARGET_COSTMODELINTERNAL_H
