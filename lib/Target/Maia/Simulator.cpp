//===- Simulator.cpp - event-driven simulation of Maia programs -----------===//
//
// The scheduler: tile control streams, command units, DMA channels,
// semaphores and barriers, driven by a priority queue of timed events. All
// times are whole cycles of the target's clock; every duration comes from
// the TargetModel (docs/MaiaISA.md, "Timing model").
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/Maia/Simulator.h"
#include "Functional.h"

#include "mixtile/Target/UnitTiming.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>
#include <tuple>

using namespace mixtile;
using namespace mixtile::maia;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

//===----------------------------------------------------------------------===//
// Memories
//===----------------------------------------------------------------------===//

Error SparseMemory::checkRange(uint64_t address, uint64_t size) const {
  if (address > capacity || size > capacity - address)
    return llvm::createStringError(
        "access of " + Twine(size) + " bytes at address " + Twine(address) +
        " is outside the " + Twine(capacity) + " bytes of " + name);
  return Error::success();
}

Error SparseMemory::read(uint64_t address,
                         llvm::MutableArrayRef<uint8_t> out) const {
  if (Error error = checkRange(address, out.size()))
    return error;
  for (uint64_t done = 0; done < out.size();) {
    uint64_t at = address + done;
    uint64_t inPage = at % kPageBytes;
    uint64_t n = std::min<uint64_t>(kPageBytes - inPage, out.size() - done);
    auto page = pages.find(at / kPageBytes);
    if (page == pages.end())
      std::fill_n(out.data() + done, n, 0);
    else
      std::copy_n(page->second.get() + inPage, n, out.data() + done);
    done += n;
  }
  return Error::success();
}

Error SparseMemory::write(uint64_t address, llvm::ArrayRef<uint8_t> bytes) {
  if (Error error = checkRange(address, bytes.size()))
    return error;
  for (uint64_t done = 0; done < bytes.size();) {
    uint64_t at = address + done;
    uint64_t inPage = at % kPageBytes;
    uint64_t n = std::min<uint64_t>(kPageBytes - inPage, bytes.size() - done);
    std::unique_ptr<uint8_t[]> &page = pages[at / kPageBytes];
    if (!page)
      page = std::make_unique<uint8_t[]>(kPageBytes); // Zero-filled.
    std::copy_n(bytes.data() + done, n, page.get() + inPage);
    done += n;
  }
  return Error::success();
}

MachineMemory::MachineMemory(const TargetModel &target)
    : hbm("hbm", getMemoryCapacity(target, MemoryLevel::HBM)) {
  for (int64_t c = 0; c < target.clusters; ++c)
    csram.emplace_back(("csram[" + Twine(c) + "]").str(),
                       getMemoryCapacity(target, MemoryLevel::CSRAM));
  for (int64_t t = 0; t < target.numTiles(); ++t)
    tsram.emplace_back(("tsram[" + Twine(t) + "]").str(),
                       getMemoryCapacity(target, MemoryLevel::TSRAM));
}

SparseMemory &MachineMemory::get(MemoryLevel level, uint32_t unit) {
  return const_cast<SparseMemory &>(std::as_const(*this).get(level, unit));
}

const SparseMemory &MachineMemory::get(MemoryLevel level, uint32_t unit) const {
  switch (level) {
  case MemoryLevel::CSRAM:
    return csram[unit];
  case MemoryLevel::TSRAM:
    return tsram[unit];
  case MemoryLevel::HBM:
    break;
  }
  return hbm;
}

//===----------------------------------------------------------------------===//
// Units
//===----------------------------------------------------------------------===//

StringRef mixtile::maia::getUnitKindName(UnitKind kind) {
  switch (kind) {
  case UnitKind::TTU:
    return "ttu";
  case UnitKind::TVP:
    return "tvp";
  case UnitKind::TileQueue:
    return "queue";
  case UnitKind::ClusterQueue:
    return "cluster-queue";
  case UnitKind::TileLink:
    return "tile-link";
  case UnitKind::ClusterLink:
    return "cluster-link";
  case UnitKind::HBM:
    return "hbm";
  }
  return "?";
}

std::string UnitId::getName() const {
  switch (kind) {
  case UnitKind::TTU:
    return ("tile" + Twine(owner) + ".ttu").str();
  case UnitKind::TVP:
    return ("tile" + Twine(owner) + ".tvp").str();
  case UnitKind::TileQueue:
    return ("tile" + Twine(owner) + ".q" + Twine(queue)).str();
  case UnitKind::ClusterQueue:
    return ("cluster" + Twine(owner) + ".q" + Twine(queue)).str();
  case UnitKind::TileLink:
    return ("tile" + Twine(owner) + ".link").str();
  case UnitKind::ClusterLink:
    return ("cluster" + Twine(owner) + ".link").str();
  case UnitKind::HBM:
    return "hbm";
  }
  return "?";
}

static auto unitOrder(const UnitId &u) {
  return std::make_tuple(uint8_t(u.kind), u.owner, u.queue);
}

//===----------------------------------------------------------------------===//
// The scheduler
//===----------------------------------------------------------------------===//

namespace mixtile::maia {
/// Fills the private parts of a SimResult.
class SimulatorAccess {
public:
  static void setMemory(SimResult &result, std::vector<Buffer> buffers,
                        std::shared_ptr<MachineMemory> memory) {
    result.buffers = std::move(buffers);
    result.memory = std::move(memory);
  }
};
} // namespace mixtile::maia

namespace {

uint64_t ceilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

/// Cycles to move `bytes` at `bytesPerCycle` (a fractional rate).
uint64_t transferCycles(uint64_t bytes, double bytesPerCycle) {
  return channelCycles(bytes, bytesPerCycle);
}

/// A resource that runs one command at a time (TTU, TVP, DMA queue).
struct CommandUnit {
  UnitId id;
  bool busy = false;
  uint64_t busyCycles = 0;
};

/// A resource that carries DMA bytes at a rate, one transfer after another
/// in the order they were issued (tile link, cluster link, HBM).
struct Channel {
  UnitId id;
  double bytesPerCycle = 0;
  uint64_t freeAt = 0;
  uint64_t busyCycles = 0;
};

struct TileState {
  const TileProgram *stream = nullptr;
  size_t pc = 0;
  /// Ran off the end of its stream or executed halt.
  bool finished = true;
  /// Arrived at the barrier at pc and waits for its release.
  bool atBarrier = false;
};

enum class EventKind : uint8_t {
  CommandDone,
  SemaphoreArrives,
  BarrierRelease
};

struct Event {
  uint64_t time = 0;
  /// Tie-break: events at the same cycle run in the order they were made.
  uint64_t sequence = 0;
  EventKind kind = EventKind::CommandDone;
  /// CommandDone: the issuing tile, its instruction, the unit to free.
  uint32_t tile = 0;
  uint32_t instruction = 0;
  uint32_t unit = 0;
  /// SemaphoreArrives: flat semaphore index and count. BarrierRelease:
  /// index into Engine::releases.
  uint32_t index = 0;
  uint32_t count = 0;

  bool operator>(const Event &other) const {
    return std::tie(time, sequence) > std::tie(other.time, other.sequence);
  }
};

class Engine {
public:
  Engine(const Program &program, const TargetModel &target,
         const SimOptions &options);

  Expected<SimResult> run();

private:
  //===--- Set-up ---------------------------------------------------------===//

  void createUnits();
  Error loadData();

  //===--- Stepping the streams
  //---------------------------------------------===//

  void advance(uint32_t tile);
  bool step(uint32_t tile);
  bool stepBarrier(uint32_t tile, const BarrierInst &barrier);
  bool stepCommand(uint32_t tile, const Instruction &inst);

  uint32_t getCommandUnit(uint32_t tile, const Instruction &inst) const;
  uint32_t semaphoreIndex(const SemRef &sem) const {
    return uint32_t(sem.tile * target.semaphoresPerTile + sem.id);
  }
  uint32_t clusterOf(uint32_t tile) const {
    return uint32_t(tile / target.tilesPerCluster);
  }
  /// Cycles for a signal from tile `from` to reach a waiter on tile `to`.
  uint64_t signalLatency(uint32_t from, uint32_t to) const;

  void push(Event event) {
    event.sequence = nextSequence++;
    events.push(event);
  }
  void signalLater(uint32_t from, const SemRef &sem, uint32_t count) {
    Event e;
    e.time = now + signalLatency(from, sem.tile);
    e.kind = EventKind::SemaphoreArrives;
    e.index = semaphoreIndex(sem);
    e.count = count;
    push(e);
  }

  //===--- Durations
  //----------------------------------------------------------===//

  uint64_t issueDma(uint32_t tile, uint32_t index, const DmaInst &i);
  uint64_t matmulCycles(const MatmulInst &i);
  uint64_t vectorCycles(const Instruction &inst);
  void record(const UnitId &unit, uint32_t tile, uint32_t index, StringRef name,
              uint64_t start, uint64_t end);

  //===--- Events and results
  //-------------------------------------------------===//

  Error handle(const Event &event);
  Error deadlockError() const;
  std::string describeWait(uint32_t tile) const;
  SimReport makeReport() const;

  const Program &program;
  const TargetModel &target;
  const SimOptions &options;

  uint64_t now = 0;
  uint64_t nextSequence = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;

  std::vector<TileState> tiles;
  /// Tiles that have a stream, ascending.
  std::vector<uint32_t> activeTiles;
  std::vector<int64_t> semaphores;
  std::vector<CommandUnit> units;
  std::vector<Channel> tileLinks, clusterLinks;
  Channel hbm;
  /// Arrivals at barriers not yet complete, by participant set.
  std::map<std::vector<uint32_t>, std::vector<uint32_t>> pendingBarriers;
  /// Participants of each completed barrier, for its release event.
  std::vector<std::vector<uint32_t>> releases;

  std::shared_ptr<MachineMemory> memory;
  SimResult result;
  uint64_t hbmLatencyCycles = 0;
};

Engine::Engine(const Program &program, const TargetModel &target,
               const SimOptions &options)
    : program(program), target(target), options(options) {
  tiles.resize(target.numTiles());
  for (const TileProgram &stream : program.tiles) {
    tiles[stream.tile].stream = &stream;
    tiles[stream.tile].finished = false;
    activeTiles.push_back(stream.tile);
  }
  llvm::sort(activeTiles);
  semaphores.assign(target.numTiles() * target.semaphoresPerTile, 0);
  hbmLatencyCycles = mixtile::hbmLatencyCycles(target);
  createUnits();
}

void Engine::createUnits() {
  uint32_t numTiles = uint32_t(target.numTiles());
  uint32_t clusters = uint32_t(target.clusters);
  // Flat order: TTUs, TVPs, tile queues, cluster queues (getCommandUnit).
  for (uint32_t t = 0; t < numTiles; ++t)
    units.push_back({UnitId{UnitKind::TTU, t, 0}});
  for (uint32_t t = 0; t < numTiles; ++t)
    units.push_back({UnitId{UnitKind::TVP, t, 0}});
  for (uint32_t t = 0; t < numTiles; ++t)
    for (uint32_t q = 0; q < target.dmaQueuesPerTile; ++q)
      units.push_back({UnitId{UnitKind::TileQueue, t, q}});
  for (uint32_t c = 0; c < clusters; ++c)
    for (uint32_t q = 0; q < target.dmaQueuesPerCluster; ++q)
      units.push_back({UnitId{UnitKind::ClusterQueue, c, q}});
  for (uint32_t t = 0; t < numTiles; ++t)
    tileLinks.push_back(
        {UnitId{UnitKind::TileLink, t, 0}, tileLinkBytesPerCycle(target)});
  for (uint32_t c = 0; c < clusters; ++c)
    clusterLinks.push_back({UnitId{UnitKind::ClusterLink, c, 0},
                            clusterLinkBytesPerCycle(target)});
  hbm = {UnitId{UnitKind::HBM, 0, 0}, hbmBytesPerCycle(target)};
}

Error Engine::loadData() {
  if (!options.functional) {
    if (!options.inputs.empty())
      return llvm::createStringError(
          "buffer inputs need a functional simulation");
    return Error::success();
  }
  memory = std::make_shared<MachineMemory>(target);
  auto write = [&](const Buffer &buffer, uint64_t offset,
                   llvm::ArrayRef<uint8_t> bytes) {
    return memory->get(buffer.level, buffer.unit)
        .write(buffer.offset + offset, bytes);
  };
  for (const DataSegment &segment : program.data)
    if (Error error = write(program.buffers[segment.at.buffer],
                            segment.at.offset, segment.bytes))
      return error;
  for (const BufferInput &input : options.inputs) {
    std::optional<uint32_t> index = program.findBuffer(input.buffer);
    if (!index)
      return llvm::createStringError("input for unknown buffer '" +
                                     input.buffer + "'");
    const Buffer &buffer = program.buffers[*index];
    if (input.bytes.size() > buffer.size)
      return llvm::createStringError("input of " + Twine(input.bytes.size()) +
                                     " bytes does not fit buffer '" +
                                     buffer.name + "' of " +
                                     Twine(buffer.size) + " bytes");
    if (Error error = write(buffer, 0, input.bytes))
      return error;
  }
  return Error::success();
}

uint64_t Engine::signalLatency(uint32_t from, uint32_t to) const {
  if (from == to)
    return target.semWaitCyclesSameTile;
  if (clusterOf(from) == clusterOf(to))
    return target.semWaitCyclesSameCluster;
  return target.semWaitCyclesOtherCluster;
}

uint32_t Engine::getCommandUnit(uint32_t tile, const Instruction &inst) const {
  uint32_t numTiles = uint32_t(target.numTiles());
  if (std::holds_alternative<MatmulInst>(inst))
    return tile;
  const auto *dma = std::get_if<DmaInst>(&inst);
  if (!dma)
    return numTiles + tile; // Vector ops.
  uint32_t tileQueues = uint32_t(target.dmaQueuesPerTile);
  if (dma->queue.kind == DmaQueue::Kind::Tile)
    return 2 * numTiles + tile * tileQueues + dma->queue.index;
  return 2 * numTiles + numTiles * tileQueues +
         clusterOf(tile) * uint32_t(target.dmaQueuesPerCluster) +
         dma->queue.index;
}

void Engine::advance(uint32_t tile) {
  while (step(tile)) {
  }
}

/// Tries to retire the instruction at the tile's pc; true if it did.
bool Engine::step(uint32_t tile) {
  TileState &state = tiles[tile];
  if (state.finished || state.atBarrier)
    return false;
  if (state.pc == state.stream->instructions.size()) {
    state.finished = true;
    return false;
  }
  const Instruction &inst = state.stream->instructions[state.pc];
  if (std::holds_alternative<HaltInst>(inst)) {
    state.finished = true;
    ++state.pc;
    ++result.report.instructions;
    return false;
  }
  if (const auto *signal = std::get_if<SemSignalInst>(&inst)) {
    signalLater(tile, signal->sem, signal->count);
  } else if (const auto *wait = std::get_if<SemWaitInst>(&inst)) {
    int64_t &value = semaphores[semaphoreIndex(wait->sem)];
    if (value < int64_t(wait->count))
      return false;
    value -= wait->count;
  } else if (const auto *barrier = std::get_if<BarrierInst>(&inst)) {
    return stepBarrier(tile, *barrier);
  } else if (!stepCommand(tile, inst)) {
    return false;
  }
  ++state.pc;
  ++result.report.instructions;
  return true;
}

bool Engine::stepBarrier(uint32_t tile, const BarrierInst &barrier) {
  tiles[tile].atBarrier = true;
  std::vector<uint32_t> &arrived = pendingBarriers[barrier.tiles];
  arrived.push_back(tile);
  if (arrived.size() < barrier.tiles.size())
    return false;
  // Everyone is here: the release reaches the farthest participant after
  // the semaphore latency of the barrier's extent.
  uint64_t latency = 0;
  for (uint32_t t : barrier.tiles)
    latency = std::max(latency, signalLatency(barrier.tiles.front(), t));
  pendingBarriers.erase(barrier.tiles);
  Event e;
  e.time = now + latency;
  e.kind = EventKind::BarrierRelease;
  e.index = uint32_t(releases.size());
  releases.push_back(barrier.tiles);
  push(e);
  return false;
}

bool Engine::stepCommand(uint32_t tile, const Instruction &inst) {
  uint32_t unitIndex = getCommandUnit(tile, inst);
  CommandUnit &unit = units[unitIndex];
  if (unit.busy)
    return false;
  const Sync &sync = *getSync(inst);
  for (const SemWait &wait : sync.waits)
    if (semaphores[semaphoreIndex(wait.sem)] < int64_t(wait.count))
      return false;
  for (const SemWait &wait : sync.waits)
    semaphores[semaphoreIndex(wait.sem)] -= wait.count;

  uint32_t index = uint32_t(tiles[tile].pc);
  uint64_t done;
  if (const auto *dma = std::get_if<DmaInst>(&inst))
    done = issueDma(tile, index, *dma);
  else if (const auto *mm = std::get_if<MatmulInst>(&inst))
    done = now + matmulCycles(*mm);
  else
    done = now + vectorCycles(inst);
  unit.busy = true;
  unit.busyCycles += done - now;
  record(unit.id, tile, index, getMnemonic(inst), now, done);
  ++result.report.commands;

  Event e;
  e.time = done;
  e.kind = EventKind::CommandDone;
  e.tile = tile;
  e.instruction = index;
  e.unit = unitIndex;
  push(e);
  return true;
}

void Engine::record(const UnitId &unit, uint32_t tile, uint32_t index,
                    StringRef name, uint64_t start, uint64_t end) {
  if (options.trace)
    result.trace.push_back({unit, tile, index, name.str(), start, end});
}

uint64_t Engine::issueDma(uint32_t tile, uint32_t index, const DmaInst &i) {
  uint64_t bytes = *getDmaBytes(i);
  const Buffer &src = program.buffers[i.src.buffer];
  const Buffer &dst = program.buffers[i.dst.buffer];
  llvm::SmallVector<uint32_t, 4> dstUnits =
      getDmaDestinationTiles(i, dst, target);
  bool touchesHbm =
      src.level == MemoryLevel::HBM || dst.level == MemoryLevel::HBM;

  // The channels the bytes cross: HBM and the issuing cluster's link for
  // HBM traffic, and the port of every TSRAM the bytes enter or leave.
  llvm::SmallVector<Channel *, 8> path;
  if (touchesHbm) {
    path.push_back(&hbm);
    path.push_back(&clusterLinks[clusterOf(tile)]);
  }
  bool srcIsTsram = src.level == MemoryLevel::TSRAM;
  bool dstIsTsram = dst.level == MemoryLevel::TSRAM;
  if (srcIsTsram && (!dstIsTsram || llvm::any_of(dstUnits, [&](uint32_t t) {
        return t != src.unit;
      })))
    path.push_back(&tileLinks[src.unit]);
  if (dstIsTsram)
    for (uint32_t t : dstUnits)
      if (!(srcIsTsram && t == src.unit))
        path.push_back(&tileLinks[t]);

  uint64_t start = now + target.dmaSetupCycles;
  uint64_t done = start;
  if (path.empty()) // A copy within one TSRAM, at its own ports' rate.
    done = start + ceilDiv(bytes, std::min(target.tsramReadBytesPerCycle,
                                           target.tsramWriteBytesPerCycle));
  for (Channel *channel : path) {
    uint64_t begin = std::max(start, channel->freeAt);
    uint64_t end = begin + transferCycles(bytes, channel->bytesPerCycle);
    channel->freeAt = end;
    channel->busyCycles += end - begin;
    record(channel->id, tile, index, "dma", begin, end);
    done = std::max(done, end);
  }
  if (touchesHbm)
    done += hbmLatencyCycles;

  TrafficBytes &traffic = result.report.bytes;
  uint64_t written = bytes * dstUnits.size();
  (src.level == MemoryLevel::HBM     ? traffic.hbmRead
   : src.level == MemoryLevel::CSRAM ? traffic.csramRead
                                     : traffic.tsramRead) += bytes;
  (dst.level == MemoryLevel::HBM     ? traffic.hbmWrite
   : dst.level == MemoryLevel::CSRAM ? traffic.csramWrite
                                     : traffic.tsramWrite) += written;
  return done;
}

uint64_t operandBytes(const TensorOperand &t, uint64_t rows, uint64_t cols) {
  return *getTensorBytes(t.format, rows, cols) +
         *getScaleBytes(t.scaleMode, t.block, rows, cols);
}

uint64_t Engine::matmulCycles(const MatmulInst &i) {
  // Both operands 4-bit at FP4, an operand of at most 8 bits at FP8, wider
  // ones at BF16 (UnitTiming.h, shared with the cost model).
  ComputeClass cls = computeClassOf(numerics::getFormatInfo(i.a.format).bits,
                                    numerics::getFormatInfo(i.b.format).bits);
  uint64_t macs = uint64_t(i.m) * i.n * i.k;
  uint64_t outputs = uint64_t(i.m) * i.n;
  SimReport &report = result.report;
  report.macsByClass[size_t(cls)] += macs;
  report.macsByFormats[(Twine(numerics::getFormatInfo(i.a.format).name.data()) +
                        " x " + numerics::getFormatInfo(i.b.format).name.data())
                           .str()] += macs;
  // The TTU streams A, B, their scales and (when accumulating) C from TSRAM
  // and writes C back; a product whose traffic exceeds the TSRAM ports runs
  // at the ports' rate.
  uint64_t readBytes = operandBytes(i.a, i.m, i.k) +
                       operandBytes(i.b, i.n, i.k) +
                       (i.accumulate ? 4 * outputs : 0);
  uint64_t writeBytes = 4 * outputs;
  report.bytes.tsramRead += readBytes;
  report.bytes.tsramWrite += writeBytes;
  return ttuCycles(target, cls, macs, readBytes, writeBytes);
}

uint64_t Engine::vectorCycles(const Instruction &inst) {
  uint64_t elements = 0, readBytes = 0, writeBytes = 0;
  bool transcendental = false;
  if (const auto *i = std::get_if<VecBinaryInst>(&inst)) {
    elements = uint64_t(i->rows) * i->len;
    uint64_t bElements = i->broadcast == Broadcast::None     ? elements
                         : i->broadcast == Broadcast::Row    ? i->len
                         : i->broadcast == Broadcast::Column ? i->rows
                                                             : 0;
    readBytes = 4 * (elements + bElements);
    writeBytes = 4 * elements;
  } else if (const auto *i = std::get_if<VecUnaryInst>(&inst)) {
    elements = uint64_t(i->rows) * i->len;
    readBytes = writeBytes = 4 * elements;
    transcendental = i->op != VecUnaryOp::Copy;
  } else if (const auto *i = std::get_if<VecReduceInst>(&inst)) {
    elements = uint64_t(i->rows) * i->len;
    readBytes = 4 * elements;
    writeBytes = 4 * uint64_t(i->rows);
  } else if (const auto *i = std::get_if<VecQuantizeInst>(&inst)) {
    elements = uint64_t(i->rows) * i->len;
    readBytes = 4 * elements;
    writeBytes = operandBytes(i->dst, i->rows, i->len);
  } else if (const auto *i = std::get_if<VecDequantizeInst>(&inst)) {
    elements = uint64_t(i->rows) * i->len;
    readBytes = operandBytes(i->src, i->rows, i->len);
    writeBytes = 4 * elements;
  }
  result.report.bytes.tsramRead += readBytes;
  result.report.bytes.tsramWrite += writeBytes;
  // exp, rsqrt and silu run at the transcendental rate, everything else at
  // one element per f32 lane per cycle.
  return tvpCycles(target, elements, readBytes, writeBytes, transcendental);
}

Error Engine::handle(const Event &event) {
  switch (event.kind) {
  case EventKind::SemaphoreArrives:
    semaphores[event.index] += event.count;
    return Error::success();
  case EventKind::BarrierRelease:
    for (uint32_t t : releases[event.index]) {
      tiles[t].atBarrier = false;
      ++tiles[t].pc;
      ++result.report.instructions;
    }
    return Error::success();
  case EventKind::CommandDone:
    break;
  }
  const Instruction &inst =
      tiles[event.tile].stream->instructions[event.instruction];
  if (memory)
    if (Error error = executeCommand(inst, program, target, *memory))
      return llvm::createStringError(
          "tile " + Twine(event.tile) + ", instruction " +
          Twine(event.instruction) + " (" + getMnemonic(inst) + ") at cycle " +
          Twine(now) + ": " + llvm::toString(std::move(error)));
  units[event.unit].busy = false;
  if (const std::optional<SemRef> &signal = getSync(inst)->signal)
    signalLater(event.tile, *signal, 1);
  return Error::success();
}

std::string Engine::describeWait(uint32_t tile) const {
  const TileState &state = tiles[tile];
  const Instruction &inst = state.stream->instructions[state.pc];
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "tile " << tile << ", instruction " << state.pc << " ("
     << getMnemonic(inst) << "): ";
  auto describeSem = [&](const SemRef &sem, uint32_t count) {
    os << "waits on t" << sem.tile << ".s" << sem.id << " (holds "
       << semaphores[semaphoreIndex(sem)] << ", needs " << count << ")";
  };
  if (const auto *barrier = std::get_if<BarrierInst>(&inst)) {
    auto arrived = pendingBarriers.find(barrier->tiles);
    os << "waits at a barrier for tiles";
    for (uint32_t t : barrier->tiles)
      if (arrived == pendingBarriers.end() ||
          !llvm::is_contained(arrived->second, t))
        os << " " << t;
  } else if (const auto *wait = std::get_if<SemWaitInst>(&inst)) {
    describeSem(wait->sem, wait->count);
  } else if (const Sync *sync = getSync(inst)) {
    bool first = true;
    for (const SemWait &wait : sync->waits)
      if (semaphores[semaphoreIndex(wait.sem)] < int64_t(wait.count)) {
        os << (first ? "" : ", ");
        describeSem(wait.sem, wait.count);
        first = false;
      }
  }
  return text;
}

Error Engine::deadlockError() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  size_t waiting = llvm::count_if(
      activeTiles, [&](uint32_t t) { return !tiles[t].finished; });
  os << "deadlock at cycle " << now << ": no command can run while " << waiting
     << (waiting == 1 ? " tile waits" : " tiles wait");
  for (uint32_t t : activeTiles)
    if (!tiles[t].finished)
      os << "\n  " << describeWait(t);
  return llvm::createStringError(text);
}

Expected<SimResult> Engine::run() {
  if (Error error = loadData())
    return std::move(error);
  for (uint32_t t : activeTiles)
    advance(t);
  while (!events.empty()) {
    Event event = events.top();
    events.pop();
    now = event.time;
    if (Error error = handle(event))
      return std::move(error);
    for (uint32_t t : activeTiles)
      advance(t);
  }
  if (llvm::any_of(activeTiles, [&](uint32_t t) { return !tiles[t].finished; }))
    return deadlockError();
  result.report = makeReport();
  SimulatorAccess::setMemory(result, program.buffers, memory);
  return std::move(result);
}

SimReport Engine::makeReport() const {
  SimReport report = result.report;
  report.cycles = now;
  report.seconds = double(now) / target.clockHz;
  for (const CommandUnit &unit : units)
    if (unit.busyCycles)
      report.units.push_back({unit.id, unit.busyCycles});
  for (const auto *channels : {&tileLinks, &clusterLinks})
    for (const Channel &channel : *channels)
      if (channel.busyCycles)
        report.units.push_back({channel.id, channel.busyCycles});
  if (hbm.busyCycles)
    report.units.push_back({hbm.id, hbm.busyCycles});
  llvm::sort(report.units, [](const UnitUsage &a, const UnitUsage &b) {
    return unitOrder(a.unit) < unitOrder(b.unit);
  });

  uint64_t numTiles = target.numTiles(), clusters = target.clusters;
  const std::pair<UnitKind, uint64_t> counts[] = {
      {UnitKind::TTU, numTiles},
      {UnitKind::TVP, numTiles},
      {UnitKind::TileQueue, numTiles * target.dmaQueuesPerTile},
      {UnitKind::ClusterQueue, clusters * target.dmaQueuesPerCluster},
      {UnitKind::TileLink, numTiles},
      {UnitKind::ClusterLink, clusters},
      {UnitKind::HBM, 1}};
  for (auto [kind, count] : counts) {
    UnitKindUsage usage;
    usage.kind = kind;
    usage.count = count;
    usage.busiest.unit.kind = kind;
    for (const UnitUsage &u : report.units) {
      if (u.unit.kind != kind)
        continue;
      ++usage.used;
      usage.busyCycles += u.busyCycles;
      if (u.busyCycles > usage.busiest.busyCycles)
        usage.busiest = u;
    }
    report.kinds.push_back(usage);
  }
  return report;
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

Expected<std::vector<uint8_t>>
SimResult::readBuffer(llvm::StringRef name) const {
  if (!memory)
    return llvm::createStringError("buffer '" + name +
                                   "' has no data: the run was timing-only");
  const Buffer *buffer = nullptr;
  for (const Buffer &b : buffers)
    if (b.name == name)
      buffer = &b;
  if (!buffer)
    return llvm::createStringError("unknown buffer '" + name + "'");
  std::vector<uint8_t> bytes(buffer->size);
  if (Error error =
          memory->get(buffer->level, buffer->unit).read(buffer->offset, bytes))
    return std::move(error);
  return bytes;
}

Expected<SimResult> mixtile::maia::simulate(const Program &program,
                                            const TargetModel &target,
                                            const SimOptions &options) {
  if (Error error = verifyProgram(program, target))
    return std::move(error);
  return Engine(program, target, options).run();
}

void mixtile::maia::printReport(const SimReport &report,
                                llvm::raw_ostream &os) {
  os << "cycles: " << report.cycles << "\n";
  os << "time: " << llvm::format("%.6g", report.seconds * 1e6) << " us\n";
  os << "instructions: " << report.instructions
     << " (commands: " << report.commands << ")\n";
  os << "units (busy cycles, utilisation of the run):\n";
  for (const UnitKindUsage &kind : report.kinds) {
    if (!kind.used)
      continue;
    double mean = report.getUtilization(kind.busyCycles) / double(kind.count);
    os << "  " << llvm::left_justify(getUnitKindName(kind.kind), 13) << " "
       << kind.used << " of " << kind.count << " used, busy " << kind.busyCycles
       << ", chip-wide " << llvm::format("%.1f%%", 100 * mean) << ", busiest "
       << kind.busiest.unit.getName() << " "
       << llvm::format("%.1f%%",
                       100 * report.getUtilization(kind.busiest.busyCycles))
       << "\n";
  }
  for (const UnitUsage &u : report.units)
    os << "    " << llvm::left_justify(u.unit.getName(), 16) << " "
       << llvm::format_decimal(u.busyCycles, 12) << "  "
       << llvm::format("%5.1f%%", 100 * report.getUtilization(u.busyCycles))
       << "\n";
  const TrafficBytes &b = report.bytes;
  os << "bytes: hbm read " << b.hbmRead << ", write " << b.hbmWrite
     << "; csram read " << b.csramRead << ", write " << b.csramWrite
     << "; tsram read " << b.tsramRead << ", write " << b.tsramWrite << "\n";
  os << "macs: fp4 " << report.macsByClass[size_t(ComputeClass::FP4)]
     << ", fp8 " << report.macsByClass[size_t(ComputeClass::FP8)] << ", bf16 "
     << report.macsByClass[size_t(ComputeClass::BF16)] << "\n";
  for (const auto &[formats, macs] : report.macsByFormats)
    os << "  " << formats << ": " << macs << "\n";
}

llvm::json::Value mixtile::maia::toChromeTrace(const SimResult &result,
                                               const TargetModel &target) {
  uint64_t numTiles = target.numTiles();
  // One process per tile, per cluster and for HBM; one thread per resource.
  auto processOf = [&](const UnitId &u) -> uint64_t {
    switch (u.kind) {
    case UnitKind::TTU:
    case UnitKind::TVP:
    case UnitKind::TileQueue:
    case UnitKind::TileLink:
      return u.owner;
    case UnitKind::ClusterQueue:
    case UnitKind::ClusterLink:
      return numTiles + u.owner;
    case UnitKind::HBM:
      break;
    }
    return numTiles + target.clusters;
  };
  auto threadOf = [](const UnitId &u) -> uint64_t {
    switch (u.kind) {
    case UnitKind::TTU:
      return 0;
    case UnitKind::TVP:
      return 1;
    case UnitKind::TileQueue:
    case UnitKind::ClusterQueue:
      return 2 + u.queue;
    default:
      return 1000;
    }
  };
  auto processName = [&](uint64_t pid) -> std::string {
    if (pid < numTiles)
      return ("tile " + Twine(pid)).str();
    if (pid < numTiles + uint64_t(target.clusters))
      return ("cluster " + Twine(pid - numTiles)).str();
    return "hbm";
  };
  double microsPerCycle = 1e6 / target.clockHz;
  llvm::json::Array events;
  std::map<uint64_t, std::map<uint64_t, std::string>> named;
  for (const TraceEvent &e : result.trace) {
    uint64_t pid = processOf(e.unit), tid = threadOf(e.unit);
    named[pid][tid] = e.unit.getName();
    events.push_back(llvm::json::Object{
        {"name", e.name},
        {"cat", getUnitKindName(e.unit.kind)},
        {"ph", "X"},
        {"ts", double(e.startCycle) * microsPerCycle},
        {"dur", double(e.endCycle - e.startCycle) * microsPerCycle},
        {"pid", int64_t(pid)},
        {"tid", int64_t(tid)},
        {"args", llvm::json::Object{{"tile", int64_t(e.tile)},
                                    {"instruction", int64_t(e.instruction)},
                                    {"start_cycle", int64_t(e.startCycle)},
                                    {"end_cycle", int64_t(e.endCycle)}}}});
  }
  for (const auto &[pid, threads] : named) {
    events.push_back(llvm::json::Object{
        {"name", "process_name"},
        {"ph", "M"},
        {"pid", int64_t(pid)},
        {"args", llvm::json::Object{{"name", processName(pid)}}}});
    for (const auto &[tid, name] : threads)
      events.push_back(
          llvm::json::Object{{"name", "thread_name"},
                             {"ph", "M"},
                             {"pid", int64_t(pid)},
                             {"tid", int64_t(tid)},
                             {"args", llvm::json::Object{{"name", name}}}});
  }
  return llvm::json::Object{{"traceEvents", std::move(events)},
                            {"displayTimeUnit", "ns"}};
}
