//===- KernelPlans.h - how the Maia kernels cut their work ------*- C++ -*-===//
//
// The tiling decisions of the Maia lowering's kernels, as pure arithmetic
// over a TargetModel and the storage sizes of the operands: where each
// command stream runs, how many rows a row-wise kernel handles per chunk,
// and how a matrix product is cut into C tiles, K chunks and staging
// buffers. The lowering (lib/Conversion/XfmrToMaia) emits what a plan says
// and the cost model (CostModel.h) times the same plan, so the two cannot
// drift apart. docs/MaiaKernels.md describes the kernels.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_KERNELPLANS_H
#define MIXTILE_TARGET_KERNELPLANS_H

#include "mixtile/Target/TargetModel.h"

#include "llvm/Support/Error.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace mixtile {

/// Storage of one operand: element bits plus its scales.
struct OperandStorage {
  unsigned elementBits = 16;
  /// Bits of one block scale and elements per block scale (0: no block
  /// scales).
  unsigned scaleBits = 0;
  int64_t block = 0;
  /// An f32 scale outside the blocks: none, one per tensor (per-tensor FP8,
  /// NVFP4) or one per row (activations scaled token by token).
  enum class WholeScale : uint8_t { None, Tensor, Row };
  WholeScale wholeScale = WholeScale::None;

  /// Average storage bits per element, ignoring whole-tensor and per-row
  /// scales.
  double bitsPerElement() const {
    return block > 0 ? elementBits + double(scaleBits) / block : elementBits;
  }
  /// Bytes of one row of `cols` codes (cols * elementBits must be a whole
  /// number of bytes).
  int64_t rowBytes(int64_t cols) const { return cols * elementBits / 8; }
  /// Bytes of the scales of a [rows, cols] part in the Maia layout
  /// (docs/MaiaISA.md, "Scales"): whole scales first, then the block scales
  /// row-major.
  int64_t scaleBytes(int64_t rows, int64_t cols) const;
  /// Codes plus scales of a [rows, cols] part.
  int64_t bytes(int64_t rows, int64_t cols) const {
    return rows * rowBytes(cols) + scaleBytes(rows, cols);
  }
  /// Blocks per row of `cols` columns (0 without block scales).
  int64_t blocksPerRow(int64_t cols) const {
    return block > 0 ? (cols + block - 1) / block : 0;
  }
};

//===----------------------------------------------------------------------===//
// Streams
//===----------------------------------------------------------------------===//

/// The number of command streams a kernel runs on when asked for `tiles`
/// (0 or more than the chip has: every tile).
unsigned resolveStreams(const TargetModel &target, unsigned tiles);

/// The tile of stream `i`: streams are spread over the clusters first
/// (stream i in cluster i % clusters), because each cluster has its own
/// link to HBM.
uint32_t streamTile(const TargetModel &target, unsigned i);

/// Rows [r0, r0 + n) of `rows` that stream `i` of `streams` handles in the
/// row-wise kernels (an even split; n may be 0).
struct RowShare {
  int64_t r0 = 0, n = 0;
};
RowShare rowShare(int64_t rows, unsigned streams, unsigned i);

//===----------------------------------------------------------------------===//
// Row-wise kernels
//===----------------------------------------------------------------------===//

/// Rows per chunk of each row-wise kernel for rows of `cols` values (0:
/// one row does not fit in TSRAM).
int64_t rmsNormChunkRows(const TargetModel &target, int64_t cols);
int64_t elementwiseChunkRows(const TargetModel &target, int64_t cols);
int64_t ropeChunkRows(const TargetModel &target, int64_t cols);
int64_t storeRowsChunkRows(const TargetModel &target, int64_t cols);
int64_t quantizeChunkRows(const TargetModel &target, int64_t cols,
                          const OperandStorage &out);
/// Query rows per attention task over `keys` keys of `headDim` features.
int64_t attentionBlockRows(const TargetModel &target, int64_t keys,
                           int64_t headDim);

/// TSRAM bytes of one attention task of `rows` query rows over `keys` keys
/// (K_h, V_h^T, and per row its q, scores, mask row and statistic).
uint64_t attentionTsramBytes(int64_t keys, int64_t headDim, int64_t rows);

/// Attention of a single query row: the heads of a KV group run on a set
/// of streams of one cluster, which read the group's cache rows from HBM
/// once (multicast). A set has min(group size, the cluster's streams)
/// streams; sets are ordered slot by slot across the clusters and the KV
/// groups dealt to them in turn; head j of a group runs on stream j mod
/// the set's size.
struct SharedKvAttentionPlan {
  struct Set {
    uint32_t cluster = 0;
    std::vector<unsigned> streams;
    /// The KV heads (groups) the set computes, in order.
    std::vector<int64_t> kvHeads;
  };
  std::vector<Set> sets;
};

SharedKvAttentionPlan planSharedKvAttention(const TargetModel &target,
                                            unsigned streams, int64_t heads,
                                            int64_t kvHeads);

/// The element-wise kernels.
enum class ElementwiseKind { Add, Mul, Silu };

/// Attention of `queries` query rows (positions start ..) over the first
/// `keys` rows of the KV caches.
struct AttentionShape {
  int64_t queries = 0, keys = 0, start = 0;
  int64_t heads = 0, kvHeads = 0, headDim = 0;
  bool causal = true;
};

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

/// y[m, n] = x[m, k] * w[n, k]^T (+ bias[n]).
struct MatmulProblem {
  int64_t m = 0, n = 0, k = 0;
  OperandStorage x, w;
  /// Bits of each output element: 32 (f32, what the model lowering writes)
  /// or 16 (bf16, for kernels whose consumer reads bf16).
  unsigned outputBits = 32;
  bool bias = false;
};

/// The per-tile kernel: C tiles of [mt, nt] dealt round-robin to the
/// streams, each stream loading its own A and B K-chunks of kb from HBM
/// into two staging buffers.
struct PerTileMatmulPlan {
  int64_t mt = 0, nt = 0, kb = 0;
  /// Two accumulators per tile, so that writing one C tile out overlaps
  /// the next one's products.
  bool doubleAccumulator = false;
};

llvm::Expected<PerTileMatmulPlan>
planPerTileMatmul(const TargetModel &target, unsigned streams,
                  const MatmulProblem &problem);

/// One C block of a cluster: rows [m0, m0 + rows), columns [n0, n0 + cols).
struct ClusterBlock {
  int64_t m0 = 0, rows = 0, n0 = 0, cols = 0;
};

/// The cluster-cooperative kernel (docs/MaiaKernels.md): the tiles of a
/// cluster compute a C block together as a gridM x gridN grid of sub-blocks
/// of at most [tileM, tileN]. Each K chunk of an A row group is multicast to
/// the tiles of its grid row, each chunk of a B column group to the tiles of
/// its grid column; `slots` staging buffers per tile keep slots - 1 chunks
/// in flight. With residentA, the A rows of a block stay in CSRAM, so the
/// blocks of one row panel read A from HBM once.
struct ClusterMatmulPlan {
  int64_t gridM = 1, gridN = 1;
  int64_t tileM = 0, tileN = 0, kb = 0, slots = 0;
  bool residentA = false;

  struct Cluster {
    uint32_t cluster = 0;
    /// The streams of the grid, row-major (gi * gridN + gj).
    std::vector<unsigned> streams;
    /// Its C blocks in the order they are computed.
    std::vector<ClusterBlock> blocks;
  };
  /// The clusters with work.
  std::vector<Cluster> clusters;

  int64_t chunks(int64_t k) const { return (k + kb - 1) / kb; }

  /// The grid position (row, column) of the tile that multicasts the
  /// chunks of A row group i, and of B column group j: a different tile for
  /// each part in a 2x2 grid, so that every tile issues one part per step.
  std::pair<int64_t, int64_t> issuerA(int64_t i) const {
    return {i, i % gridN};
  }
  std::pair<int64_t, int64_t> issuerB(int64_t j) const {
    return {(j + 1) % gridM, j};
  }

  /// The pieces a tile's `rows` results of a block are written out in: one
  /// per step of the next block (`nextBlockSteps`) but its last two, so
  /// that the stores are done before the accumulator is needed again; the
  /// last block in a few, so that one piece's vector ops overlap the
  /// previous piece's store.
  static int64_t outputPieces(int64_t rows, int64_t nextBlockSteps) {
    constexpr int64_t kFinalPieces = 4;
    int64_t pieces = nextBlockSteps == 0 ? kFinalPieces : nextBlockSteps - 2;
    return std::max<int64_t>(1, std::min(pieces, rows));
  }
};

/// Tile-local byte layout of the cluster kernel, identical on every tile of
/// a cluster (multicast DMA writes the same address in each TSRAM).
struct ClusterMatmulLayout {
  /// Staging region of an A (or B) part: codes at 0, scales at
  /// *ScalesOffset, *RegionBytes in all.
  uint64_t aScalesOffset = 0, aRegionBytes = 0;
  uint64_t bScalesOffset = 0, bRegionBytes = 0;
  /// Offsets from the start of the tile's arena.
  uint64_t accumulator[2] = {0, 0}, bias[2] = {0, 0};
  uint64_t slotA0 = 0, slotB0 = 0, slotStride = 0;
  uint64_t tsramBytes = 0;
  /// CSRAM bytes of the resident A rows of one grid row (all K chunks).
  uint64_t csramGroupBytes = 0;
};

ClusterMatmulLayout layoutClusterMatmul(const ClusterMatmulPlan &plan,
                                        const MatmulProblem &problem);

/// Overrides of the cluster kernel's choices (0: the planner's choice).
struct ClusterMatmulLimits {
  int64_t tileM = 0, tileN = 0, kb = 0, slots = 0;
  /// -1: the planner decides; 0: never; 1: whenever it fits.
  int residentA = -1;
};

/// The cluster kernel for `problem`, or an error if it cannot run (fewer
/// than one usable cluster, a tiling that does not fit).
llvm::Expected<ClusterMatmulPlan>
planClusterMatmul(const TargetModel &target, unsigned streams,
                  const MatmulProblem &problem,
                  const ClusterMatmulLimits &limits = {});

/// Which kernel computes a product.
enum class MatmulKernel { Auto, PerTile, Cluster };

struct MatmulPlan {
  MatmulKernel kernel = MatmulKernel::PerTile;
  PerTileMatmulPlan perTile;
  ClusterMatmulPlan cluster;
};

} // namespace mixtile

#endif // MIXTILE_TARGET_KERNELPLANS_H
