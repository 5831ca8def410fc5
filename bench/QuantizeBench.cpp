//===- QuantizeBench.cpp - quantization throughput next to memcpy ---------===//
//
// Google Benchmark of the numerics library on a 4096 x 4096 heavy-tailed f32
// matrix: fakeQuantize for every scheme, full quantize() (codes and scales)
// for mxfp4 and nvfp4, and a plain memcpy of the same 64 MiB as the peer
// measured in the same run. After the usual output it prints a table of
// GB/s of f32 input and the ratio to memcpy.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Numerics/BlockQuant.h"

#include "benchmark/benchmark.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace mixtile::numerics;

namespace {

constexpr size_t kRows = 4096;
constexpr size_t kCols = 4096;
constexpr size_t kElements = kRows * kCols;
constexpr double kMinTimeSeconds = 0.2;

/// The input matrix: normal * exp(1.5 * normal), a heavy-tailed mix of tiny
/// and large magnitudes like trained weights and activations. Built once.
const std::vector<float> &getInput() {
  static const std::vector<float> input = [] {
    std::mt19937 rng(2024);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> values(kElements);
    for (float &value : values)
      value = normal(rng) * std::exp(1.5f * normal(rng));
    return values;
  }();
  return input;
}

std::vector<float> &getOutput() {
  static std::vector<float> output(kElements);
  return output;
}

void setBytes(benchmark::State &state) {
  state.SetBytesProcessed(int64_t(state.iterations()) *
                          int64_t(kElements * sizeof(float)));
}

void benchMemcpy(benchmark::State &state) {
  const std::vector<float> &in = getInput();
  std::vector<float> &out = getOutput();
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), kElements * sizeof(float));
    benchmark::ClobberMemory();
  }
  setBytes(state);
}

void benchFakeQuantize(benchmark::State &state, QuantScheme scheme) {
  const std::vector<float> &in = getInput();
  std::vector<float> &out = getOutput();
  for (auto _ : state) {
    fakeQuantize(in.data(), out.data(), kRows, kCols, scheme);
    benchmark::ClobberMemory();
  }
  setBytes(state);
}

void benchQuantize(benchmark::State &state, QuantScheme scheme) {
  const std::vector<float> &in = getInput();
  for (auto _ : state) {
    QuantizedMatrix q = quantize(in.data(), kRows, kCols, scheme);
    benchmark::DoNotOptimize(q.codes.data());
    benchmark::ClobberMemory();
  }
  setBytes(state);
}

/// Console output as usual, plus the throughput of every run for the table.
class TableReporter : public benchmark::ConsoleReporter {
public:
  // Plain text: a display reporter passed in by hand does not follow
  // --benchmark_color, and escape codes garble logs.
  TableReporter() : ConsoleReporter(OO_Tabular) {}

  void ReportRuns(const std::vector<Run> &runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run &run : runs) {
      auto it = run.counters.find("bytes_per_second");
      if (run.run_type == Run::RT_Iteration && it != run.counters.end())
        results.emplace_back(withoutArguments(run.benchmark_name()),
                             double(it->second));
    }
  }

  /// Prints name, GB/s (10^9 bytes of f32 input per second) and the ratio
  /// to the memcpy run.
  void printTable() const {
    double memcpyRate = 0;
    for (const auto &[name, rate] : results)
      if (name == "memcpy")
        memcpyRate = rate;
    std::printf("\n%-26s %8s %10s\n", "4096x4096 f32 input", "GB/s",
                "vs memcpy");
    for (const auto &[name, rate] : results) {
      std::printf("%-26s %8.2f", name.c_str(), rate / 1e9);
      if (memcpyRate > 0)
        std::printf(" %9.2fx", rate / memcpyRate);
      std::printf("\n");
    }
  }

private:
  /// "fakeQuantize/mxfp4/min_time:0.200" -> "fakeQuantize/mxfp4".
  static std::string withoutArguments(const std::string &name) {
    return name.substr(0, name.find("/min_time:"));
  }

  std::vector<std::pair<std::string, double>> results;
};

void registerBenchmarks() {
  benchmark::RegisterBenchmark("memcpy", benchMemcpy)
      ->Unit(benchmark::kMillisecond)
      ->MinTime(kMinTimeSeconds);
  for (std::string_view name : kQuantSchemeNames) {
    QuantScheme scheme = *parseQuantScheme(name);
    std::string label = "fakeQuantize/" + std::string(name);
    benchmark::RegisterBenchmark(label.c_str(), benchFakeQuantize, scheme)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(kMinTimeSeconds);
  }
  for (std::string_view name : {"mxfp4", "nvfp4"}) {
    QuantScheme scheme = *parseQuantScheme(name);
    std::string label = "quantize/" + std::string(name);
    benchmark::RegisterBenchmark(label.c_str(), benchQuantize, scheme)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(kMinTimeSeconds);
  }
}

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  getInput(); // Build the input before timing starts.
  registerBenchmarks();
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.printTable();
  benchmark::Shutdown();
  return 0;
}
