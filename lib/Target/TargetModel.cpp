//===- TargetModel.cpp - facts about the modeled accelerator --------------===//
//
// Reading, checking and writing target descriptions.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/TargetModel.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstdint>
#include <type_traits>

using namespace mixtile;
using llvm::Expected;
using llvm::StringRef;

// The text of targets/maia200.json, embedded at build time.
extern const char *const kMaia200Description;

double TargetModel::peakMacsPerSecond(ComputeClass cls) const {
  int64_t perTile = cls == ComputeClass::FP4   ? macsPerCycleFP4
                    : cls == ComputeClass::FP8 ? macsPerCycleFP8
                                               : macsPerCycleBF16;
  return double(perTile) * numTiles() * clockHz;
}

namespace {

/// Integral fields stay below 2^53, where doubles (JSON numbers) are exact.
constexpr double kMaxWholeNumber = 9007199254740992.0;
constexpr int64_t kMaxSemaphoresPerTile = 65536;

/// Reads the fields of one description, remembering the first problem.
class FieldReader {
public:
  FieldReader(const llvm::json::Object &object, StringRef source)
      : object(object), source(source) {}

  /// Reads `key` into `out`. Integer fields, and `whole` ones (byte counts
  /// kept in a double), must be whole numbers below 2^53.
  template <typename T>
  void require(StringRef key, T &out, bool positive,
               bool whole = std::is_integral_v<T>) {
    if (error)
      return;
    const llvm::json::Value *value = object.get(key);
    std::optional<double> number = value ? value->getAsNumber() : std::nullopt;
    if (!number)
      return fail("missing or non-numeric field '" + key + "'");
    if (!std::isfinite(*number))
      return fail("field '" + key + "' must be a finite number");
    if (positive ? !(*number > 0) : !(*number >= 0))
      return fail("field '" + key + "' must be " +
                  (positive ? "positive" : "non-negative"));
    // Counts and sizes are whole numbers that doubles hold exactly, so the
    // conversion below is defined (UBSan under the target-description fuzz
    // target: converting 1e30 clusters to int64_t is undefined).
    if (whole &&
        (*number != std::floor(*number) || *number >= kMaxWholeNumber))
      return fail("field '" + key + "' must be a whole number below 2^53");
    out = static_cast<T>(*number);
  }

  void fail(const llvm::Twine &message) {
    if (!error)
      error = llvm::createFileError(source, llvm::createStringError(message));
  }

  llvm::Error takeError() {
    return error ? std::move(*error) : llvm::Error::success();
  }

  const llvm::json::Object &object;
  StringRef source;
  std::optional<llvm::Error> error;
};

} // namespace

Expected<TargetModel> TargetModel::fromJSON(StringRef text, StringRef source) {
  Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json)
    return llvm::createFileError(
        source, llvm::createStringError("bad JSON: " +
                                        llvm::toString(json.takeError())));
  const llvm::json::Object *o = json->getAsObject();
  if (!o)
    return llvm::createFileError(
        source, llvm::createStringError("a target description is a JSON "
                                        "object"));
  TargetModel t;
  FieldReader r(*o, source);
  std::optional<StringRef> name = o->getString("name");
  if (!name || name->empty())
    r.fail("missing field 'name'");
  else
    t.name = name->str();
  r.require("clock_hz", t.clockHz, true);
  r.require("clusters", t.clusters, true);
  r.require("tiles_per_cluster", t.tilesPerCluster, true);
  // A byte count: the lowering converts it to a 64-bit size (UBSan under
  // the target-description fuzz target: 2.1e26 bytes).
  r.require("hbm_bytes", t.hbmBytes, true, /*whole=*/true);
  r.require("hbm_bytes_per_second", t.hbmBytesPerSecond, true);
  r.require("hbm_efficiency", t.hbmEfficiency, true);
  r.require("hbm_latency_seconds", t.hbmLatencySeconds, false);
  r.require("tsram_bytes_per_tile", t.tsramBytesPerTile, true);
  r.require("csram_bytes_per_cluster", t.csramBytesPerCluster, false);
  r.require("tvp_lanes_f32", t.tvpLanesF32, true);
  r.require("tvp_transcendentals_per_cycle", t.tvpTranscendentalsPerCycle,
            true);
  r.require("tsram_read_bytes_per_cycle", t.tsramReadBytesPerCycle, true);
  r.require("tsram_write_bytes_per_cycle", t.tsramWriteBytesPerCycle, true);
  r.require("csram_to_tsram_bytes_per_cycle", t.csramToTsramBytesPerCycle,
            true);
  r.require("cluster_dma_bytes_per_second", t.clusterDmaBytesPerSecond, true);
  r.require("dma_queues_per_tile", t.dmaQueuesPerTile, true);
  r.require("dma_queues_per_cluster", t.dmaQueuesPerCluster, true);
  r.require("dma_setup_cycles", t.dmaSetupCycles, false);
  r.require("semaphores_per_tile", t.semaphoresPerTile, true);
  r.require("mx_block", t.mxBlock, true);
  const llvm::json::Object *macs = o->getObject("ttu_macs_per_cycle");
  if (!macs) {
    r.fail("missing object 'ttu_macs_per_cycle' (fp4, fp8, bf16)");
  } else {
    FieldReader m(*macs, source);
    m.require("fp4", t.macsPerCycleFP4, true);
    m.require("fp8", t.macsPerCycleFP8, true);
    m.require("bf16", t.macsPerCycleBF16, true);
    if (llvm::Error error = m.takeError())
      r.fail("ttu_macs_per_cycle: " + llvm::toString(std::move(error)));
  }
  const llvm::json::Object *semWait = o->getObject("semaphore_wait_cycles");
  if (!semWait) {
    r.fail("missing object 'semaphore_wait_cycles' (same_tile, "
           "same_cluster, other_cluster)");
  } else {
    FieldReader w(*semWait, source);
    w.require("same_tile", t.semWaitCyclesSameTile, false);
    w.require("same_cluster", t.semWaitCyclesSameCluster, false);
    w.require("other_cluster", t.semWaitCyclesOtherCluster, false);
    if (llvm::Error error = w.takeError())
      r.fail("semaphore_wait_cycles: " + llvm::toString(std::move(error)));
  }
  if (!r.error && t.hbmEfficiency > 1)
    r.fail("field 'hbm_efficiency' must be at most 1");
  // The lowering keeps a list of each tile's free semaphores (found by
  // fuzzing: 177777777777 semaphores ran it out of memory).
  if (!r.error && t.semaphoresPerTile > kMaxSemaphoresPerTile)
    r.fail("field 'semaphores_per_tile' must be at most " +
           llvm::Twine(kMaxSemaphoresPerTile));
  // Maia programs name tiles with 32-bit ids.
  if (!r.error && double(t.clusters) * double(t.tilesPerCluster) > UINT32_MAX)
    r.fail("clusters * tiles_per_cluster must be below 2^32 (tile ids are "
           "32-bit)");
  if (llvm::Error error = r.takeError())
    return std::move(error);
  return t;
}

Expected<TargetModel> TargetModel::load(StringRef nameOrPath) {
  if (nameOrPath == "maia200")
    return fromJSON(kMaia200Description, "maia200 (built in)");
  if (!llvm::sys::fs::exists(nameOrPath))
    return llvm::createStringError(
        "unknown target '" + nameOrPath +
        "': not a built-in target (maia200) and no such file");
  auto buffer = llvm::MemoryBuffer::getFile(nameOrPath, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(nameOrPath, buffer.getError());
  return fromJSON((*buffer)->getBuffer(), nameOrPath);
}

llvm::json::Value TargetModel::toJSON() const {
  return llvm::json::Object{
      {"name", name},
      {"clock_hz", clockHz},
      {"clusters", clusters},
      {"tiles_per_cluster", tilesPerCluster},
      {"hbm_bytes", hbmBytes},
      {"hbm_bytes_per_second", hbmBytesPerSecond},
      {"hbm_efficiency", hbmEfficiency},
      {"hbm_latency_seconds", hbmLatencySeconds},
      {"tsram_bytes_per_tile", tsramBytesPerTile},
      {"csram_bytes_per_cluster", csramBytesPerCluster},
      {"ttu_macs_per_cycle", llvm::json::Object{{"fp4", macsPerCycleFP4},
                                                {"fp8", macsPerCycleFP8},
                                                {"bf16", macsPerCycleBF16}}},
      {"tvp_lanes_f32", tvpLanesF32},
      {"tvp_transcendentals_per_cycle", tvpTranscendentalsPerCycle},
      {"tsram_read_bytes_per_cycle", tsramReadBytesPerCycle},
      {"tsram_write_bytes_per_cycle", tsramWriteBytesPerCycle},
      {"csram_to_tsram_bytes_per_cycle", csramToTsramBytesPerCycle},
      {"cluster_dma_bytes_per_second", clusterDmaBytesPerSecond},
      {"dma_queues_per_tile", dmaQueuesPerTile},
      {"dma_queues_per_cluster", dmaQueuesPerCluster},
      {"dma_setup_cycles", dmaSetupCycles},
      {"semaphores_per_tile", semaphoresPerTile},
      {"semaphore_wait_cycles",
       llvm::json::Object{{"same_tile", semWaitCyclesSameTile},
                          {"same_cluster", semWaitCyclesSameCluster},
                          {"other_cluster", semWaitCyclesOtherCluster}}},
      {"mx_block", mxBlock}};
}
