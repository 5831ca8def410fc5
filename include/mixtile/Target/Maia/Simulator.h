//===- Simulator.h - functional and timing simulation of Maia ---*- C++ -*-===//
//
// Runs a Program on a TargetModel. Every run is event-driven: each tile's
// control stream issues its commands in order, a command issues when the
// semaphores it waits on hold their counts and its unit (TTU, TVP or DMA
// queue) is free, and its duration comes from the target's rates. The
// schedule decides when each command takes effect, so it is computed on
// every run; the timing report comes from it.
//
// Functional simulation (SimOptions::functional) also moves real bytes:
// HBM, every cluster's CSRAM and every tile's TSRAM are sparse byte arrays,
// DMA copies bytes, the TTU decodes its operands with the Numerics library
// and accumulates in FP32 in the reference evaluator's order (see
// MatmulInst), and the TVP computes in f32. A command reads its inputs and
// writes its outputs when it completes; programs order conflicting accesses
// with semaphores. Timing-only runs allocate no memory, so programs with
// model-sized HBM buffers run.
//
// docs/MaiaISA.md describes the timing model in full.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_TARGET_MAIA_SIMULATOR_H
#define MIXTILE_TARGET_MAIA_SIMULATOR_H

#include "mixtile/Target/Maia/ISA.h"
#include "mixtile/Target/TargetModel.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mixtile::maia {

//===----------------------------------------------------------------------===//
// Memories
//===----------------------------------------------------------------------===//

/// A byte-addressed memory of fixed capacity that stores only the pages that
/// were written; untouched bytes read as 0. Every access is bounds-checked.
class SparseMemory {
public:
  SparseMemory(std::string name, uint64_t capacity)
      : name(std::move(name)), capacity(capacity) {}
  SparseMemory(SparseMemory &&) = default;
  SparseMemory &operator=(SparseMemory &&) = default;
  SparseMemory(const SparseMemory &) = delete;
  SparseMemory &operator=(const SparseMemory &) = delete;

  llvm::StringRef getName() const { return name; }
  uint64_t getCapacity() const { return capacity; }
  /// Bytes of the pages that have been written.
  uint64_t getResidentBytes() const { return pages.size() * kPageBytes; }

  /// Reads out.size() bytes at `address`; an error if they leave the memory.
  llvm::Error read(uint64_t address, llvm::MutableArrayRef<uint8_t> out) const;
  /// Writes `bytes` at `address`; an error if they leave the memory.
  llvm::Error write(uint64_t address, llvm::ArrayRef<uint8_t> bytes);

private:
  static constexpr uint64_t kPageBytes = 64 * 1024;

  llvm::Error checkRange(uint64_t address, uint64_t size) const;

  std::string name;
  uint64_t capacity;
  llvm::DenseMap<uint64_t, std::unique_ptr<uint8_t[]>> pages;
};

/// The memories of the chip: HBM, one CSRAM per cluster, one TSRAM per tile.
class MachineMemory {
public:
  explicit MachineMemory(const TargetModel &target);

  /// The memory of `level`; `unit` is the cluster (CSRAM) or the tile
  /// (TSRAM), ignored for HBM. `unit` must be in range.
  SparseMemory &get(MemoryLevel level, uint32_t unit);
  const SparseMemory &get(MemoryLevel level, uint32_t unit) const;

private:
  SparseMemory hbm;
  std::vector<SparseMemory> csram, tsram;
};

//===----------------------------------------------------------------------===//
// Options and results
//===----------------------------------------------------------------------===//

/// Bytes written into a buffer, from its start, before the program runs
/// (after the program's data segments).
struct BufferInput {
  std::string buffer;
  std::vector<uint8_t> bytes;
};

struct SimOptions {
  /// Move real data (functional simulation). Without it only the schedule
  /// and the timing report are computed, and no memory is allocated.
  bool functional = true;
  /// Record one TraceEvent per command and per DMA channel reservation.
  bool trace = false;
  /// Functional runs only: buffer contents to load before the run.
  std::vector<BufferInput> inputs;
};

/// The kinds of timed resources. Command units run one command at a time;
/// channels carry DMA bytes at their rate, first come first served.
enum class UnitKind : uint8_t {
  /// A tile's tensor unit.
  TTU,
  /// A tile's vector unit.
  TVP,
  /// A tile's own DMA queue.
  TileQueue,
  /// A cluster's shared DMA queue.
  ClusterQueue,
  /// The port of a tile's TSRAM to the rest of its cluster
  /// (csramToTsramBytesPerCycle).
  TileLink,
  /// A cluster's link to HBM (clusterDmaBytesPerSecond).
  ClusterLink,
  /// HBM itself (sustained bandwidth, shared by all clusters).
  HBM,
};

/// Lower-case name of a unit kind ("ttu", "tvp", "queue", "cluster-queue",
/// "tile-link", "cluster-link", "hbm").
llvm::StringRef getUnitKindName(UnitKind kind);

/// One timed resource.
struct UnitId {
  UnitKind kind = UnitKind::HBM;
  /// The tile (TTU, TVP, TileQueue, TileLink) or cluster (ClusterQueue,
  /// ClusterLink); 0 for HBM.
  uint32_t owner = 0;
  /// The queue index (TileQueue, ClusterQueue); 0 otherwise.
  uint32_t queue = 0;

  /// "tile3.ttu", "tile3.q1", "cluster0.q5", "tile3.link",
  /// "cluster0.link", "hbm".
  std::string getName() const;
};

/// Busy cycles of one resource.
struct UnitUsage {
  UnitId unit;
  uint64_t busyCycles = 0;
};

/// Busy cycles of all resources of one kind.
struct UnitKindUsage {
  UnitKind kind = UnitKind::HBM;
  /// Resources of this kind on the chip, and how many were ever busy.
  uint64_t count = 0, used = 0;
  uint64_t busyCycles = 0;
  /// The busiest one.
  UnitUsage busiest;
};

/// Bytes read and written at each memory level (by DMA, the TTU and the
/// TVP; a multicast writes once per destination tile).
struct TrafficBytes {
  uint64_t hbmRead = 0, hbmWrite = 0;
  uint64_t csramRead = 0, csramWrite = 0;
  uint64_t tsramRead = 0, tsramWrite = 0;
};

struct SimReport {
  /// Cycle at which the last event happened, and the same in seconds.
  uint64_t cycles = 0;
  double seconds = 0;
  /// Instructions retired, and of those asynchronous commands (dma, mm,
  /// vec.*).
  uint64_t instructions = 0, commands = 0;
  /// Every resource that was ever busy, in a fixed order (by kind, then
  /// owner, then queue).
  std::vector<UnitUsage> units;
  /// One entry per UnitKind, in enum order.
  std::vector<UnitKindUsage> kinds;
  TrafficBytes bytes;
  /// Multiply-accumulates by rate class (indexed by ComputeClass) and by
  /// operand formats ("f4E2M1FN x f4E2M1FN", A's format first).
  std::array<uint64_t, 3> macsByClass = {0, 0, 0};
  std::map<std::string, uint64_t> macsByFormats;

  /// busyCycles / cycles (0 for an empty run).
  double getUtilization(uint64_t busyCycles) const {
    return cycles ? double(busyCycles) / double(cycles) : 0.0;
  }
};

/// One interval of a resource's activity.
struct TraceEvent {
  UnitId unit;
  /// The tile and the index of the instruction that caused it.
  uint32_t tile = 0;
  uint32_t instruction = 0;
  /// The instruction's mnemonic.
  std::string name;
  uint64_t startCycle = 0, endCycle = 0;
};

class SimResult {
public:
  SimReport report;
  /// With SimOptions::trace: every command and DMA channel interval, in
  /// issue order.
  std::vector<TraceEvent> trace;

  /// Functional runs: the bytes of buffer `name` after the run.
  llvm::Expected<std::vector<uint8_t>> readBuffer(llvm::StringRef name) const;

  /// Functional runs: the final memories (null after a timing-only run).
  const MachineMemory *getMemory() const { return memory.get(); }

private:
  friend class SimulatorAccess;
  std::vector<Buffer> buffers;
  std::shared_ptr<MachineMemory> memory;
};

/// Verifies `program` against `target` and runs it. Errors: verification
/// failures, inputs that do not fit their buffers, out-of-range accesses,
/// and deadlocks (no command can run while tiles still wait; the message
/// names every waiting tile, its instruction and what it waits for).
llvm::Expected<SimResult> simulate(const Program &program,
                                   const TargetModel &target,
                                   const SimOptions &options = {});

/// Prints the report: cycles and time, per-kind and per-unit utilisation,
/// bytes per level, MACs per class and format.
void printReport(const SimReport &report, llvm::raw_ostream &os);

/// The trace in Chrome's trace-event format (chrome://tracing, Perfetto):
/// one process per tile, per cluster and for HBM, one thread per resource,
/// times in microseconds at the target's clock.
llvm::json::Value toChromeTrace(const SimResult &result,
                                const TargetModel &target);

} // namespace mixtile::maia

#endif // MIXTILE_TARGET_MAIA_SIMULATOR_H
