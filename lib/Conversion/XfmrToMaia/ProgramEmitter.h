//===- ProgramEmitter.h - building Maia programs ----------------*- C++ -*-===//
//
// The machinery the xfmr-to-Maia lowering builds programs with: HBM buffers
// and TSRAM arenas, per-tile command streams whose commands complete into
// tokens (semaphores handed out and reclaimed automatically), phases that
// end in a barrier, and the kernels every layer is made of.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_CONVERSION_XFMRTOMAIA_PROGRAMEMITTER_H
#define MIXTILE_LIB_CONVERSION_XFMRTOMAIA_PROGRAMEMITTER_H

#include "mixtile/Target/Maia/ISA.h"
#include "mixtile/Target/TargetModel.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <map>
#include <vector>

namespace mixtile::maia_lowering {

using maia::BufferRef;
using maia::FloatFormat;
using maia::ScaleMode;

/// The completion of one command: its stream and its serial number there.
struct Token {
  uint32_t tile = 0;
  uint64_t serial = 0;
};

/// One tile's command stream. Every command signals a semaphore when it
/// completes; a later command that depends on it waits on that semaphore
/// once, after which the stream knows it completed (in-order issue) and
/// the semaphore is free again.
class TileStream {
public:
  TileStream(maia::TileProgram &program, unsigned numSemaphores,
             unsigned numQueues);

  /// Appends `inst` (an asynchronous command) after `deps` (tokens of this
  /// stream) and returns its completion.
  Token issue(maia::Instruction inst, llvm::ArrayRef<Token> deps);
  /// Appends sem.wait for every command not yet known to be complete,
  /// except those marked carried.
  void drain();
  /// Lets `token` stay pending across the end of a phase: the command
  /// writes only this tile's TSRAM outside the phase arena (a weight
  /// prefetch), so no other tile and no later phase's scratch depends on
  /// it before a later command of this stream waits for it.
  void markCarried(Token token);
  /// Appends sem.wait for `token` unless it is known to be complete.
  void waitFor(Token token);
  /// A token that needs no wait: for inputs this stream learned to be ready
  /// otherwise (a sem.wait on another tile's signal).
  Token ready() const { return {program.tile, kReadySerial}; }
  /// Appends a control instruction (sem.signal, sem.wait, barrier).
  void append(maia::Instruction inst);
  /// Takes a semaphore out of the automatic pool, for signals between
  /// tiles; release it (with count 0) when done.
  uint32_t reserveSemaphore();
  void releaseSemaphore(uint32_t id);
  /// DMA queues in turn.
  maia::DmaQueue nextQueue();
  /// The queues nextQueue() cycles over (initially the tile's own).
  void setQueues(std::vector<maia::DmaQueue> queues);
  /// The queues and the position of the next one, to resume a rotation
  /// after another one (setQueues starts at the first queue).
  struct QueueRotation {
    std::vector<maia::DmaQueue> queues;
    unsigned next = 0;
  };
  QueueRotation swapQueues(QueueRotation rotation);
  uint32_t tile() const { return program.tile; }
  /// Whether a command found every semaphore reserved.
  bool ranOutOfSemaphores() const { return outOfSemaphores; }
  bool empty() const { return program.instructions.empty(); }

private:
  void waitOldest();

  static constexpr uint64_t kReadySerial = ~uint64_t(0);
  maia::TileProgram &program;
  std::vector<maia::DmaQueue> queues;
  unsigned queue = 0;
  uint64_t nextSerial = 0;
  std::vector<uint32_t> freeSemaphores;
  bool outOfSemaphores = false;
  /// Serial -> semaphore of commands whose completion is not yet known, in
  /// issue order.
  std::map<uint64_t, uint32_t> pending;
  /// Serials of pending commands that drain() leaves pending.
  llvm::DenseSet<uint64_t> carried;
};

/// A matrix in HBM: element codes (row-major, packed) and their scales in
/// the layout maia::getScaleBytes describes.
struct HbmMatrix {
  uint32_t codes = 0;
  FloatFormat format = FloatFormat::F32;
  ScaleMode mode = ScaleMode::None;
  uint32_t block = 0;
  uint32_t scales = 0;
  int64_t rows = 0, cols = 0;
};

class ProgramEmitter {
public:
  ProgramEmitter(const TargetModel &target, unsigned tiles);

  const TargetModel &getTarget() const { return target; }
  unsigned numTiles() const { return streams.size(); }
  TileStream &stream(unsigned i) { return *streams[i]; }

  /// A new HBM buffer of `bytes` (64-byte aligned).
  llvm::Expected<uint32_t> allocateHbm(llvm::StringRef name, uint64_t bytes,
                                       FloatFormat format);
  /// An f32 [rows, cols] HBM matrix.
  llvm::Expected<HbmMatrix> allocateF32(llvm::StringRef name, int64_t rows,
                                        int64_t cols);
  void addData(uint32_t buffer, std::vector<uint8_t> bytes);

  /// CSRAM space of `cluster` for this phase (DMA copies bytes, so CSRAM
  /// has one view).
  llvm::Expected<BufferRef> allocateCsram(uint32_t cluster, uint64_t bytes);
  /// TSRAM space of tile stream `i` for this phase, viewed as `format`.
  llvm::Expected<BufferRef> allocateTsram(unsigned i, uint64_t bytes,
                                          FloatFormat format);
  /// Bytes of TSRAM tile stream `i` still has in this phase.
  uint64_t freeTsram(unsigned i) const;
  /// Takes `bytes` at the top of every stream's TSRAM out of the phase
  /// arenas for the rest of the program (viewed as f32 at the returned
  /// offset); later phases allocate below it.
  llvm::Expected<uint64_t> reservePersistentTsram(uint64_t bytes);
  /// The persistent region of stream `i` (see reservePersistentTsram).
  BufferRef persistentTsram(unsigned i);
  /// `ref` (a TSRAM or HBM position) viewed as `format`, `offset` bytes on.
  BufferRef view(BufferRef ref, FloatFormat format, uint64_t offset = 0);

  /// Ends a phase: every stream waits for its commands, then all meet at a
  /// barrier; TSRAM is free again.
  void endPhase();

  /// Work that may be issued whenever a stream's own transfers are on
  /// their way (prefetches of later phases' weights): kernels call
  /// idle(i) where stream i has issued what its critical path waits for,
  /// so that the extra transfers queue behind it.
  void setIdleWork(std::function<void(unsigned)> work) {
    idleWork = std::move(work);
  }
  void idle(unsigned i) {
    if (idleWork)
      idleWork(i);
  }

  /// dma of `rows` rows of `rowBytes` bytes.
  Token copyRows(TileStream &s, BufferRef src, uint64_t srcStride,
                 BufferRef dst, uint64_t dstStride, uint64_t rows,
                 uint64_t rowBytes, llvm::ArrayRef<Token> deps);
  /// dma of a 3-D block of 4-byte elements.
  Token copyF32(TileStream &s, BufferRef src, BufferRef dst,
                std::array<uint64_t, 3> counts,
                std::array<uint64_t, 3> srcStrides,
                std::array<uint64_t, 3> dstStrides, llvm::ArrayRef<Token> deps);

  /// The program, each stream ended by a halt; fails if a stream needed
  /// more semaphores at once than the target has.
  llvm::Expected<maia::Program> takeProgram();
  maia::Program &getProgram() { return program; }

private:
  const TargetModel &target;
  maia::Program program;
  std::vector<std::unique_ptr<TileStream>> streams;
  uint64_t hbmNext = 0;
  std::vector<uint64_t> tsramNext;
  /// The first byte of every TSRAM that belongs to the persistent region.
  uint64_t tsramLimit = 0;
  /// Per cluster: the CSRAM buffer and the next free byte of this phase.
  std::map<uint32_t, std::pair<uint32_t, uint64_t>> csram;
  /// Per (tile, format): the view of the whole TSRAM in that format.
  std::map<std::pair<uint32_t, FloatFormat>, uint32_t> tsramViews;
  std::vector<uint32_t> barrierTiles;
  std::function<void(unsigned)> idleWork;
};

/// A dma of `rows` rows of `bytes` bytes from `src` to `dst` (row strides in
/// bytes) on `queue`; contiguous rows travel as one element.
maia::DmaInst makeRowCopy(maia::DmaQueue queue, BufferRef src,
                          uint64_t srcStride, BufferRef dst, uint64_t dstStride,
                          uint64_t rows, uint64_t bytes);

/// Bytes of `cols` codes of `format` (packed), which must fill whole bytes.
uint64_t rowBytes(FloatFormat format, int64_t cols);

} // namespace mixtile::maia_lowering

#endif // MIXTILE_LIB_CONVERSION_XFMRTOMAIA_PROGRAMEMITTER_H
