//===- RowProducts.h - single-row products that stream weights --*- C++ -*-===//
//
// The products of a one-token run (a decode step): y = x * w^T with x a
// single row. They read every weight byte once and compute little, so the
// weight stream from HBM is their whole cost. A *row-product group* computes
// the products that read the same input row in one phase, with the ops
// around them fused in: the rms_norm that makes the input, the
// quantization of the input to each product's activation format, and an
// epilogue (a residual add, or silu(gate) * up). Each stream computes its
// share of the output rows in chunks of whole weight rows (one mm over all
// of K per chunk, so every output is one k-ascending FMA chain) and takes
// the chunks from a *weight ring*: staging slots whose loads depend on
// nothing but the slot being free, so a ring that outlives its phase
// fetches the next group's weights while this phase ends, the barrier
// passes and the next input row arrives (docs/XfmrToMaia.md).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_CONVERSION_XFMRTOMAIA_ROWPRODUCTS_H
#define MIXTILE_LIB_CONVERSION_XFMRTOMAIA_ROWPRODUCTS_H

#include "ProgramEmitter.h"

#include <optional>

namespace mixtile::maia_lowering {

/// How a product reads its input row: f32, or quantized with per-row
/// scales (the evaluator's per-token convention).
struct InputFormat {
  FloatFormat format = FloatFormat::F32;
  ScaleMode mode = ScaleMode::None;
  uint32_t block = 0;

  bool operator==(const InputFormat &other) const {
    return format == other.format && mode == other.mode && block == other.block;
  }
};

/// One product of a group: y = x * w^T (+ bias).
struct RowProduct {
  HbmMatrix w;
  std::optional<uint32_t> bias;
  InputFormat input;
  /// A rotary embedding applied to the result before it is stored: `table`
  /// holds the f32 cos values of the run's position, one per pair of
  /// features (N / 2), then at `sinOffset` bytes the sin values.
  struct Rope {
    uint32_t table = 0;
    uint64_t sinOffset = 0;
    int64_t headDim = 0;
    bool interleaved = true;
  };
  std::optional<Rope> rope;
  /// The f32 matrix with N columns the Store epilogue writes the result to,
  /// as its row `yRow` (row 0 of an activation; a KV cache's row of the
  /// position).
  HbmMatrix y;
  int64_t yRow = 0;
};

enum class RowEpilogue {
  /// Every product's result is written to its y.
  Store,
  /// One product: out = residual + y (or y + residual).
  Residual,
  /// Two products (gate, up): out = silu(gate) * up (or up * silu(gate)).
  SiluMul,
};

/// The products of one input row x [1, K] (f32 in HBM) and what is fused
/// around them.
struct RowProductGroup {
  HbmMatrix x;
  /// rms_norm(x) * normWeight is the products' input when set.
  std::optional<uint32_t> normWeight;
  float epsilon = 0;
  std::vector<RowProduct> products;
  RowEpilogue epilogue = RowEpilogue::Store;
  HbmMatrix residual;
  /// Operand order of the epilogue's add (residual first) or mul (silu
  /// first), as the evaluator computes them.
  bool residualFirst = true, siluFirst = true;
  HbmMatrix out;
};

/// Rows [n0, n0 + rows) of product `product` computed by one stream, in
/// chunks of at most `chunkRows` rows.
struct RowSegment {
  unsigned product = 0;
  int64_t n0 = 0, rows = 0, chunkRows = 0;
};

/// Per stream, its segments in the order it computes them.
using RowProductPlan = std::vector<std::vector<RowSegment>>;

/// Splits the output rows of `group` over `streams` so that each streams
/// about the same weight bytes (a SiluMul group gives a stream the same
/// rows of both products; a product with a rotary embedding is cut between
/// the feature pairs it rotates); chunks hold about `chunkBytes` of
/// weights.
RowProductPlan planRowProducts(const RowProductGroup &group, unsigned streams,
                               uint64_t chunkBytes);

/// Rows [n0, n0 + rows) of a weight matrix: one chunk of a weight stream.
struct WeightChunk {
  HbmMatrix w;
  int64_t n0 = 0, rows = 0;
};

/// The chunks stream `i` takes, in order, when it computes `plan`.
std::vector<WeightChunk> weightChunks(const RowProductGroup &group,
                                      const RowProductPlan &plan, unsigned i);

/// TSRAM bytes of a ring slot that holds `chunk` (codes, aligned scales).
uint64_t slotBytes(const WeightChunk &chunk);

/// A stream's weight staging ring: a sequence of chunks loaded into slots
/// in turn. A load waits only for the product that last read its slot, on
/// queues of its own, and issues when fill() is called, so the caller
/// decides how far ahead the weights run. A carried ring lives in the
/// persistent TSRAM region: its loads stay pending across phase ends.
class WeightRing {
public:
  WeightRing(ProgramEmitter &e, unsigned stream) : e(e), stream(stream) {}

  void append(llvm::ArrayRef<WeightChunk> chunks);
  /// `count` slots of `bytes` each from `base` (f32 TSRAM of the stream);
  /// loads go to `queues` in turn.
  void setSlots(BufferRef base, unsigned count, uint64_t bytes, bool carried,
                std::vector<maia::DmaQueue> queues);
  unsigned numSlots() const { return slotUsers.size(); }

  /// Issues the loads of the chunks up to `ahead` chunks past the next one
  /// to be taken, as far as free slots allow.
  void fill(unsigned ahead);
  /// The next chunk: its staged operand and the completions of its loads.
  struct Taken {
    maia::TensorOperand operand;
    int64_t rows = 0;
    llvm::SmallVector<Token, 4> loads;
  };
  Taken take();
  /// The product that read the chunk last taken.
  void release(Token user);

private:
  void issue(size_t chunk);

  ProgramEmitter &e;
  unsigned stream;
  std::vector<WeightChunk> sequence;
  size_t issued = 0, taken = 0;
  BufferRef base;
  uint64_t slotSize = 0;
  bool carried = false;
  TileStream::QueueRotation queues;
  std::vector<std::optional<Token>> slotUsers;
  /// Per issued, not yet taken chunk (by sequence index modulo slots).
  std::vector<Taken> staged;
};

/// How far each stream's ring runs ahead of its products.
/// The ring is HBM's only work while a phase's latency-bound part runs
/// (the input row's round trip, the results' store, the barrier), but HBM
/// serves transfers in the order they were issued, so every weight issued
/// before a phase's input row or results delays them: the ring keeps a
/// chunk ahead while the products run, two after the results are stored,
/// and refills its slots behind the next input row. (Measured on a
/// Llama-3-8B decode step; deeper prefetch delays the critical transfers
/// more than it fills HBM.)
struct WeightRingPolicy {
  /// While the products run: chunks past the one being multiplied.
  unsigned lookahead = 1;
  /// After a group's results are stored (before the barrier).
  unsigned tailAhead = 2;
  /// After the group's input row load.
  unsigned headAhead = 3;
};

/// The queues of a stream's weight ring and of everything else it issues
/// while rings are in use: disjoint, so that input loads and result stores
/// never wait behind weight loads for a queue.
std::vector<maia::DmaQueue> ringQueues(const TargetModel &target,
                                       uint32_t tile);
std::vector<maia::DmaQueue> activationQueues(const TargetModel &target);

/// Emits `group` as one phase with `plan`, streaming each stream's weights
/// through rings[i], which must hold this group's chunks next.
llvm::Error emitRowProducts(ProgramEmitter &e, const RowProductGroup &group,
                            const RowProductPlan &plan,
                            std::vector<WeightRing> &rings,
                            const WeightRingPolicy &policy);

} // namespace mixtile::maia_lowering

#endif // MIXTILE_LIB_CONVERSION_XFMRTOMAIA_ROWPRODUCTS_H
