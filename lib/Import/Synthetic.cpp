//===- Synthetic.cpp - seeded synthetic models ----------------------------===//
//
// Presets, request parsing, IR construction and the weight generator.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Synthetic.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/xxhash.h"

#include <array>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mixtile;

/// Named shapes; Llama-3 figures from Meta's published configs.
static std::optional<ModelConfig> presetConfig(llvm::StringRef name) {
  auto make = [](int64_t dim, int64_t hidden, int64_t layers, int64_t heads,
                 int64_t kvHeads, int64_t vocab, int64_t seq, float theta) {
    ModelConfig c;
    c.dim = dim;
    c.hiddenDim = hidden;
    c.nLayers = layers;
    c.nHeads = heads;
    c.nKVHeads = kvHeads;
    c.vocabSize = vocab;
    c.maxSeqLen = seq;
    c.ropeTheta = theta;
    c.tiedEmbeddings = false;
    return c;
  };
  return llvm::StringSwitch<std::optional<ModelConfig>>(name)
      .Case("tiny", make(64, 172, 5, 8, 4, 512, 512, 1e4f))
      .Case("100m", make(768, 2048, 12, 12, 4, 32000, 1024, 1e4f))
      .Case("llama3-8b", make(4096, 14336, 32, 32, 8, 128256, 8192, 5e5f))
      .Case("llama3-70b", make(8192, 28672, 80, 64, 8, 128256, 8192, 5e5f))
      .Case("gpt2", [&] {
        ModelConfig c = make(768, 3072, 12, 12, 12, 50257, 1024, 1e4f);
        c.arch = "gpt2";
        return c;
      }())
      .Default(std::nullopt);
}

llvm::Expected<SynthesisRequest>
mixtile::parseSynthesisRequest(llvm::StringRef json, llvm::StringRef source) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createFileError(source, llvm::createStringError(message));
  };
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(json);
  if (!value)
    return fail("bad JSON: " + llvm::toString(value.takeError()));
  const llvm::json::Object *o = value->getAsObject();
  if (!o)
    return fail("a synthesis request is a JSON object");
  SynthesisRequest request;
  if (std::optional<llvm::StringRef> preset = o->getString("preset")) {
    std::optional<ModelConfig> config = presetConfig(*preset);
    if (!config)
      return fail("unknown preset '" + *preset +
                  "' (known: tiny, 100m, llama3-8b, llama3-70b, gpt2)");
    request.config = *config;
  }
  ModelConfig &c = request.config;
  if (std::optional<llvm::StringRef> arch = o->getString("arch"))
    c.arch = arch->str();
  struct IntKey {
    const char *key;
    int64_t *field;
  } keys[] = {{"dim", &c.dim},           {"hidden_dim", &c.hiddenDim},
              {"n_layers", &c.nLayers},  {"n_heads", &c.nHeads},
              {"n_kv_heads", &c.nKVHeads}, {"vocab_size", &c.vocabSize},
              {"max_seq_len", &c.maxSeqLen}};
  for (const IntKey &k : keys)
    if (const llvm::json::Value *v = o->get(k.key)) {
      std::optional<int64_t> n = v->getAsInteger();
      if (!n)
        return fail(llvm::Twine("'") + k.key + "' must be an integer");
      *k.field = *n;
    }
  if (c.nKVHeads == 0 || (c.arch == "gpt2" && !o->get("n_kv_heads")))
    c.nKVHeads = c.nHeads;
  // The output head is a tensor of its own ("output"), generated like any
  // other linear weight.
  c.tiedEmbeddings = false;
  if (const llvm::json::Value *v = o->get("seed")) {
    std::optional<int64_t> seed = v->getAsInteger();
    if (!seed || *seed < 0)
      return fail("'seed' must be a non-negative integer");
    request.seed = *seed;
  }
  if (std::optional<llvm::StringRef> weights = o->getString("weights")) {
    if (*weights != "seeded" && *weights != "none")
      return fail("'weights' must be \"seeded\" or \"none\", got '" +
                  *weights + "'");
    request.withWeights = *weights == "seeded";
  }
  if (llvm::Error error = c.validate())
    return fail(llvm::toString(std::move(error)));
  return request;
}

OwningOpRef<ModuleOp>
mixtile::buildSyntheticModel(MLIRContext *ctx,
                             const SynthesisRequest &request) {
  std::string file = request.withWeights
                         ? (kSyntheticFilePrefix + llvm::Twine(request.seed)).str()
                         : kShapesOnlyFile.str();
  auto weights = [&](OpBuilder &b, llvm::StringRef key,
                     ArrayRef<int64_t> shape) -> Value {
    return createWeightOp(b, key, shape, {file});
  };
  return buildModule(ctx, request.config, weights, UnknownLoc::get(ctx));
}

namespace {
/// SplitMix64: a small, well-mixed generator whose output is the same on
/// every platform (unlike std::normal_distribution).
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

struct SplitMix64 {
  uint64_t state;
  uint64_t next() { return mix(state += kGolden); }
  /// The output for counter value `z`.
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) / 9007199254740992.0; }
  /// Standard normal by Box-Muller (for the small norm vectors).
  double normal() {
    return std::sqrt(-2.0 * std::log(uniform())) *
           std::cos(6.283185307179586 * uniform());
  }
  /// Laplace with unit variance: heavier tails than a Gaussian (kurtosis 6),
  /// like trained weight matrices, at the cost of one log per sample.
  double heavyTailed() {
    uint64_t bits = next();
    double magnitude = laplaceMagnitude(bits >> 12);
    return (bits & 1) ? magnitude : -magnitude;
  }
  /// The magnitude heavyTailed() makes of a draw's top 52 bits; it falls
  /// as they grow.
  static double laplaceMagnitude(uint64_t top52) {
    double u = (static_cast<double>(top52) + 0.5) / 4503599627370496.0;
    return -std::log(u) * 0.7071067811865476;
  }
};
} // namespace

/// The generator of tensor `key` of model `seed`.
static SplitMix64 tensorGenerator(uint64_t seed, llvm::StringRef key) {
  return {seed ^ static_cast<uint64_t>(llvm::xxh3_64bits(key))};
}

/// The scale of a matrix's values and of each input channel. A few input
/// channels (1 in 256, at least one) carry 8x larger weights: the outlier
/// features that make low-precision formats hard. Consumes the channel
/// draws from `rng`.
static std::pair<double, std::vector<float>>
matrixScales(SplitMix64 &rng, llvm::StringRef key, int64_t cols) {
  bool isEmbedding = key == "tok_embeddings" || key == "wte" || key == "wpe";
  double scale = isEmbedding ? 1.0 : 1.0 / std::sqrt(static_cast<double>(cols));
  std::vector<float> channelScale(cols, 1.0f);
  if (!isEmbedding)
    for (int64_t i = 0, e = std::max<int64_t>(1, cols / 256); i < e; ++i)
      channelScale[rng.next() % cols] = 8.0f;
  return {scale, std::move(channelScale)};
}

/// Lowers `regular` and `outliers` to the smallest top-52-bit draw of one
/// row (counter `base` before its first element) in the channels
/// `outlierMask` leaves out and keeps. Branch-free so that it vectorizes;
/// cloned for AVX-512, which multiplies 64-bit lanes.
#if defined(__x86_64__) && defined(__ELF__) && defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "default")))
#endif
static void
smallestDraws(uint64_t base, ArrayRef<uint64_t> outlierMask, uint64_t &regular,
              uint64_t &outliers) {
  uint64_t lowRegular = regular, lowOutliers = outliers;
  for (size_t c = 0; c < outlierMask.size(); ++c) {
    uint64_t bits = SplitMix64::mix(base + uint64_t(c + 1) * kGolden) >> 12;
    lowRegular = std::min(lowRegular, bits | outlierMask[c]);
    lowOutliers = std::min(lowOutliers, bits | ~outlierMask[c]);
  }
  regular = lowRegular;
  outliers = lowOutliers;
}

float mixtile::syntheticMaxAbs(uint64_t seed, llvm::StringRef key,
                               ArrayRef<int64_t> shape) {
  if (shape.size() == 1) {
    std::vector<float> values(shape[0]);
    generateSyntheticTensor(seed, key, shape, values);
    return numerics::maxFiniteAbs(values.data(), values.size());
  }
  SplitMix64 rng = tensorGenerator(seed, key);
  int64_t rows = shape[0], cols = shape[1];
  auto [scale, channelScale] = matrixScales(rng, key, cols);
  // |value| grows as the draw's top 52 bits shrink (SplitMix64::heavyTailed)
  // and rounding to float is monotonic, so the largest magnitude of each
  // channel class is that of its smallest draw: no logarithm per element.
  // Branch-free over a per-channel mask so that the loop vectorizes; rows
  // are split over threads (a minimum does not depend on the order).
  std::vector<uint64_t> outlierMask(cols);
  for (int64_t c = 0; c < cols; ++c)
    outlierMask[c] = channelScale[c] != 1.0f ? ~0ull : 0;
  const uint64_t first = rng.state;
  const int64_t chunk = std::max<int64_t>(1, (1 << 22) / cols);
  const int64_t chunks = (rows + chunk - 1) / chunk;
  std::vector<std::array<uint64_t, 2>> perChunk(chunks);
  llvm::parallelFor(0, chunks, [&](size_t i) {
    uint64_t regular = ~0ull, outliers = ~0ull;
    for (int64_t r = i * chunk, e = std::min(rows, r + chunk); r < e; ++r) {
      uint64_t base = first + uint64_t(r) * uint64_t(cols) * kGolden;
      smallestDraws(base, outlierMask, regular, outliers);
    }
    perChunk[i] = {regular, outliers};
  });
  uint64_t smallest[2] = {~0ull, ~0ull}; // Regular, outlier channels.
  for (const std::array<uint64_t, 2> &m : perChunk)
    for (int k = 0; k < 2; ++k)
      smallest[k] = std::min(smallest[k], m[k]);
  float result = 0;
  for (int outlier = 0; outlier < 2; ++outlier) {
    if (smallest[outlier] == ~0ull)
      continue;
    double magnitude = SplitMix64::laplaceMagnitude(smallest[outlier]);
    result = std::max(result, static_cast<float>(magnitude * scale *
                                                 (outlier ? 8.0f : 1.0f)));
  }
  return result;
}

void mixtile::generateSyntheticRows(uint64_t seed, llvm::StringRef key,
                                    ArrayRef<int64_t> shape,
                                    ArrayRef<int64_t> rows,
                                    llvm::MutableArrayRef<float> out) {
  SplitMix64 rng = tensorGenerator(seed, key);
  if (shape.size() == 1) { // Vectors are small: generate them whole.
    assert(rows.size() == 1 && rows[0] == 0 && "a vector has one row");
    generateSyntheticTensor(seed, key, shape, out);
    return;
  }
  int64_t cols = shape[1];
  assert(out.size() == rows.size() * size_t(cols) && "one row per index");
  auto [scale, channelScale] = matrixScales(rng, key, cols);
  // Element (r, c) takes the generator's (r * cols + c)-th value after the
  // channel draws; SplitMix64 is a counter, so any row starts directly.
  const uint64_t first = rng.state;
  for (size_t i = 0; i < rows.size(); ++i) {
    assert(rows[i] >= 0 && rows[i] < shape[0] && "row out of range");
    rng.state = first + uint64_t(rows[i]) * uint64_t(cols) * kGolden;
    float *row = out.data() + i * cols;
    for (int64_t c = 0; c < cols; ++c)
      row[c] = static_cast<float>(rng.heavyTailed() * scale * channelScale[c]);
  }
}

void mixtile::generateSyntheticTensor(uint64_t seed, llvm::StringRef key,
                                      ArrayRef<int64_t> shape,
                                      llvm::MutableArrayRef<float> out) {
  if (shape.size() == 1) {
    SplitMix64 rng = tensorGenerator(seed, key);
    // Biases are small; norm weights are near one.
    bool isBias = key.ends_with(".bias");
    for (float &v : out)
      v = static_cast<float>(isBias ? 0.02 * rng.normal()
                                    : 1.0 + 0.1 * rng.normal());
    return;
  }
  std::vector<int64_t> rows(shape[0]);
  std::iota(rows.begin(), rows.end(), 0);
  generateSyntheticRows(seed, key, shape, rows, out);
}
