//===- ProgramEmitter.cpp - building Maia programs ------------------------===//

#include "ProgramEmitter.h"

#include "mixtile/Target/KernelPlans.h"

#include "llvm/ADT/Twine.h"

#include <algorithm>

using namespace mixtile;
using namespace mixtile::maia_lowering;
using llvm::Expected;

static constexpr uint64_t kAlignment = 64;

static uint64_t alignTo(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

uint64_t maia_lowering::rowBytes(FloatFormat format, int64_t cols) {
  std::optional<uint64_t> bytes = maia::getTensorBytes(format, 1, cols);
  assert(bytes && "rows of codes must fill whole bytes");
  return *bytes;
}

//===----------------------------------------------------------------------===//
// TileStream
//===----------------------------------------------------------------------===//

TileStream::TileStream(maia::TileProgram &program, unsigned numSemaphores,
                       unsigned numQueues)
    : program(program) {
  for (unsigned s = numSemaphores; s-- > 0;)
    freeSemaphores.push_back(s);
  for (unsigned q = 0; q < numQueues; ++q)
    queues.push_back({maia::DmaQueue::Kind::Tile, q});
}

maia::DmaQueue TileStream::nextQueue() {
  maia::DmaQueue q = queues[queue];
  queue = (queue + 1) % queues.size();
  return q;
}

void TileStream::setQueues(std::vector<maia::DmaQueue> newQueues) {
  assert(!newQueues.empty() && "a stream needs a DMA queue");
  queues = std::move(newQueues);
  queue = 0;
}

TileStream::QueueRotation TileStream::swapQueues(QueueRotation rotation) {
  assert(!rotation.queues.empty() && "a stream needs a DMA queue");
  QueueRotation old{std::move(queues), queue};
  queues = std::move(rotation.queues);
  queue = rotation.next % queues.size();
  return old;
}

void TileStream::waitFor(Token token) {
  assert(token.tile == program.tile && "tokens belong to their stream");
  auto it = pending.find(token.serial);
  if (it == pending.end())
    return;
  program.instructions.push_back(
      maia::SemWaitInst{{program.tile, it->second}, 1});
  freeSemaphores.push_back(it->second);
  carried.erase(it->first);
  pending.erase(it);
}

void TileStream::markCarried(Token token) {
  assert(token.tile == program.tile && "tokens belong to their stream");
  if (pending.count(token.serial))
    carried.insert(token.serial);
}

void TileStream::append(maia::Instruction inst) {
  assert(!maia::getSync(inst) && "commands go through issue()");
  program.instructions.push_back(std::move(inst));
}

uint32_t TileStream::reserveSemaphore() {
  if (freeSemaphores.empty())
    waitOldest();
  // The highest free id, so that the automatic ones stay low and stable.
  auto it = std::max_element(freeSemaphores.begin(), freeSemaphores.end());
  uint32_t id = *it;
  freeSemaphores.erase(it);
  return id;
}

void TileStream::releaseSemaphore(uint32_t id) {
  freeSemaphores.insert(freeSemaphores.begin(), id);
}

void TileStream::waitOldest() {
  if (pending.empty()) {
    // Every semaphore is reserved: the target has too few for the kernel.
    // Semaphore 0 keeps the emission going; takeProgram() reports it.
    outOfSemaphores = true;
    freeSemaphores.push_back(0);
    return;
  }
  auto oldest = pending.begin();
  program.instructions.push_back(
      maia::SemWaitInst{{program.tile, oldest->second}, 1});
  freeSemaphores.push_back(oldest->second);
  carried.erase(oldest->first);
  pending.erase(oldest);
}

Token TileStream::issue(maia::Instruction inst, llvm::ArrayRef<Token> deps) {
  maia::Sync *sync = maia::getSync(inst);
  assert(sync && "only asynchronous commands complete into tokens");
  llvm::SmallVector<uint32_t, 8> released;
  for (const Token &dep : deps) {
    assert(dep.tile == program.tile && "tokens belong to their stream");
    auto it = pending.find(dep.serial);
    // Not pending: an earlier command already waited for it.
    if (it == pending.end())
      continue;
    sync->waits.push_back({{program.tile, it->second}, 1});
    released.push_back(it->second);
    carried.erase(it->first);
    pending.erase(it);
  }
  // The semaphores waited on here are free once this command has issued;
  // a command signalling one of them again comes later in the stream.
  for (uint32_t s : released)
    freeSemaphores.push_back(s);
  if (freeSemaphores.empty())
    waitOldest();
  uint32_t sem = freeSemaphores.back();
  freeSemaphores.pop_back();
  sync->signal = maia::SemRef{program.tile, sem};
  program.instructions.push_back(std::move(inst));
  uint64_t serial = nextSerial++;
  pending[serial] = sem;
  return {program.tile, serial};
}

void TileStream::drain() {
  for (auto it = pending.begin(); it != pending.end();) {
    if (carried.count(it->first)) {
      ++it;
      continue;
    }
    program.instructions.push_back(
        maia::SemWaitInst{{program.tile, it->second}, 1});
    freeSemaphores.push_back(it->second);
    it = pending.erase(it);
  }
}

//===----------------------------------------------------------------------===//
// ProgramEmitter
//===----------------------------------------------------------------------===//

ProgramEmitter::ProgramEmitter(const TargetModel &target, unsigned tiles)
    : target(target) {
  tiles = resolveStreams(target, tiles);
  program.tiles.resize(tiles);
  for (unsigned i = 0; i < tiles; ++i) {
    program.tiles[i].tile = streamTile(target, i);
    barrierTiles.push_back(program.tiles[i].tile);
  }
  llvm::sort(barrierTiles);
  for (maia::TileProgram &t : program.tiles)
    streams.push_back(std::make_unique<TileStream>(t, target.semaphoresPerTile,
                                                   target.dmaQueuesPerTile));
  tsramNext.assign(tiles, 0);
  tsramLimit = target.tsramBytesPerTile;
}

Expected<uint32_t> ProgramEmitter::allocateHbm(llvm::StringRef name,
                                               uint64_t bytes,
                                               FloatFormat format) {
  uint64_t offset = alignTo(hbmNext, kAlignment);
  if (offset + bytes > uint64_t(target.hbmBytes))
    return llvm::createStringError("HBM is full: '" + name + "' needs " +
                                   llvm::Twine(bytes) + " bytes at " +
                                   llvm::Twine(offset));
  hbmNext = offset + bytes;
  maia::Buffer buffer;
  buffer.name = name.str();
  buffer.level = maia::MemoryLevel::HBM;
  buffer.offset = offset;
  buffer.size = std::max<uint64_t>(bytes, 1);
  buffer.format = format;
  return program.addBuffer(std::move(buffer));
}

Expected<HbmMatrix> ProgramEmitter::allocateF32(llvm::StringRef name,
                                                int64_t rows, int64_t cols) {
  Expected<uint32_t> buffer =
      allocateHbm(name, uint64_t(rows) * cols * 4, FloatFormat::F32);
  if (!buffer)
    return buffer.takeError();
  HbmMatrix m;
  m.codes = *buffer;
  m.rows = rows;
  m.cols = cols;
  return m;
}

void ProgramEmitter::addData(uint32_t buffer, std::vector<uint8_t> bytes) {
  program.data.push_back({{buffer, 0}, std::move(bytes)});
}

Expected<BufferRef> ProgramEmitter::allocateTsram(unsigned i, uint64_t bytes,
                                                  FloatFormat format) {
  uint64_t offset = alignTo(tsramNext[i], kAlignment);
  if (offset + bytes > tsramLimit)
    return llvm::createStringError("TSRAM of tile " +
                                   llvm::Twine(streams[i]->tile()) +
                                   " is full: " + llvm::Twine(bytes) +
                                   " bytes needed at " + llvm::Twine(offset));
  tsramNext[i] = offset + bytes;
  uint32_t tile = streams[i]->tile();
  auto [it, inserted] = tsramViews.try_emplace({tile, format}, 0);
  if (inserted) {
    maia::Buffer buffer;
    buffer.name = ("t" + llvm::Twine(tile) + "." +
                   std::string(numerics::getFormatInfo(format).name))
                      .str();
    buffer.level = maia::MemoryLevel::TSRAM;
    buffer.unit = tile;
    buffer.size = target.tsramBytesPerTile;
    buffer.format = format;
    it->second = program.addBuffer(std::move(buffer));
  }
  return BufferRef{it->second, offset};
}

Expected<BufferRef> ProgramEmitter::allocateCsram(uint32_t cluster,
                                                  uint64_t bytes) {
  auto [it, inserted] = csram.try_emplace(cluster, 0, 0);
  if (inserted) {
    maia::Buffer buffer;
    buffer.name = ("csram" + llvm::Twine(cluster)).str();
    buffer.level = maia::MemoryLevel::CSRAM;
    buffer.unit = cluster;
    buffer.size = target.csramBytesPerCluster;
    buffer.format = FloatFormat::F32;
    it->second.first = program.addBuffer(std::move(buffer));
  }
  uint64_t offset = alignTo(it->second.second, kAlignment);
  if (offset + bytes > uint64_t(target.csramBytesPerCluster))
    return llvm::createStringError("CSRAM of cluster " + llvm::Twine(cluster) +
                                   " is full: " + llvm::Twine(bytes) +
                                   " bytes needed at " + llvm::Twine(offset));
  it->second.second = offset + bytes;
  return BufferRef{it->second.first, offset};
}

uint64_t ProgramEmitter::freeTsram(unsigned i) const {
  uint64_t used = alignTo(tsramNext[i], kAlignment);
  return used >= tsramLimit ? 0 : tsramLimit - used;
}

Expected<uint64_t> ProgramEmitter::reservePersistentTsram(uint64_t bytes) {
  uint64_t capacity = target.tsramBytesPerTile;
  assert(tsramLimit == capacity && "one persistent region per program");
  if (bytes > capacity)
    return llvm::createStringError("a persistent TSRAM region of " +
                                   llvm::Twine(bytes) + " bytes does not fit");
  tsramLimit = (capacity - bytes) / kAlignment * kAlignment;
  for (unsigned i = 0; i < streams.size(); ++i)
    if (alignTo(tsramNext[i], kAlignment) > tsramLimit)
      return llvm::createStringError(
          "the persistent TSRAM region overlaps this phase's buffers");
  return tsramLimit;
}

BufferRef ProgramEmitter::persistentTsram(unsigned i) {
  assert(tsramLimit < uint64_t(target.tsramBytesPerTile) &&
         "no persistent region was reserved");
  // A zero-byte allocation creates the f32 view of the tile's TSRAM.
  uint64_t saved = tsramNext[i];
  BufferRef base = cantFail(allocateTsram(i, 0, FloatFormat::F32));
  tsramNext[i] = saved;
  return {base.buffer, tsramLimit};
}

BufferRef ProgramEmitter::view(BufferRef ref, FloatFormat format,
                               uint64_t offset) {
  const maia::Buffer &buffer = program.buffers[ref.buffer];
  if (buffer.format == format)
    return {ref.buffer, ref.offset + offset};
  assert(buffer.level == maia::MemoryLevel::TSRAM &&
         "only TSRAM has views in several formats");
  auto [it, inserted] = tsramViews.try_emplace({buffer.unit, format}, 0);
  if (inserted) {
    maia::Buffer v = buffer;
    v.name = ("t" + llvm::Twine(buffer.unit) + "." +
              std::string(numerics::getFormatInfo(format).name))
                 .str();
    v.format = format;
    it->second = program.addBuffer(std::move(v));
  }
  return {it->second, ref.offset + offset};
}

void ProgramEmitter::endPhase() {
  for (auto &s : streams)
    s->drain();
  if (streams.size() > 1)
    for (maia::TileProgram &t : program.tiles)
      t.instructions.push_back(maia::BarrierInst{barrierTiles});
  llvm::fill(tsramNext, 0);
  for (auto &[cluster, arena] : csram)
    arena.second = 0;
}

maia::DmaInst maia_lowering::makeRowCopy(maia::DmaQueue queue, BufferRef src,
                                         uint64_t srcStride, BufferRef dst,
                                         uint64_t dstStride, uint64_t rows,
                                         uint64_t bytes) {
  maia::DmaInst dma;
  dma.queue = queue;
  dma.src = src;
  dma.dst = dst;
  // Contiguous rows travel as one element.
  if (srcStride == bytes && dstStride == bytes) {
    dma.elementBytes = bytes * rows;
    rows = 1;
  } else {
    dma.elementBytes = bytes;
  }
  dma.counts = {rows, 1, 1};
  dma.srcStrides = {srcStride, 0, 0};
  dma.dstStrides = {dstStride, 0, 0};
  return dma;
}

Token ProgramEmitter::copyRows(TileStream &s, BufferRef src, uint64_t srcStride,
                               BufferRef dst, uint64_t dstStride, uint64_t rows,
                               uint64_t bytes, llvm::ArrayRef<Token> deps) {
  return s.issue(
      makeRowCopy(s.nextQueue(), src, srcStride, dst, dstStride, rows, bytes),
      deps);
}

Token ProgramEmitter::copyF32(TileStream &s, BufferRef src, BufferRef dst,
                              std::array<uint64_t, 3> counts,
                              std::array<uint64_t, 3> srcStrides,
                              std::array<uint64_t, 3> dstStrides,
                              llvm::ArrayRef<Token> deps) {
  maia::DmaInst dma;
  dma.queue = s.nextQueue();
  dma.src = src;
  dma.dst = dst;
  dma.elementBytes = 4;
  dma.counts = counts;
  dma.srcStrides = srcStrides;
  dma.dstStrides = dstStrides;
  return s.issue(std::move(dma), deps);
}

Expected<maia::Program> ProgramEmitter::takeProgram() {
  for (const std::unique_ptr<TileStream> &s : streams)
    if (s->ranOutOfSemaphores())
      return llvm::createStringError(
          "convert-xfmr-to-maia: tile " + llvm::Twine(s->tile()) +
          " needs more semaphores at once than the target's " +
          llvm::Twine(target.semaphoresPerTile) + " per tile");
  for (maia::TileProgram &t : program.tiles)
    t.instructions.push_back(maia::HaltInst{});
  return std::move(program);
}
