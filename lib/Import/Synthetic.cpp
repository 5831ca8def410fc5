//===- Synthetic.cpp - seeded synthetic models ----------------------------===//
//
// Presets, request parsing, IR construction and the weight generator.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Synthetic.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/xxhash.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"

#include <cmath>

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
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
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
    double u = (static_cast<double>(bits >> 12) + 0.5) / 4503599627370496.0;
    double magnitude = -std::log(u) * 0.7071067811865476;
    return (bits & 1) ? magnitude : -magnitude;
  }
};
} // namespace

void mixtile::generateSyntheticTensor(uint64_t seed, llvm::StringRef key,
                                      ArrayRef<int64_t> shape,
                                      llvm::MutableArrayRef<float> out) {
  SplitMix64 rng{seed ^ static_cast<uint64_t>(llvm::xxh3_64bits(key))};
  if (shape.size() == 1 && key.ends_with(".bias")) { // Biases: small.
    for (float &v : out)
      v = static_cast<float>(0.02 * rng.normal());
    return;
  }
  if (shape.size() == 1) { // Norm weights: near one.
    for (float &v : out)
      v = static_cast<float>(1.0 + 0.1 * rng.normal());
    return;
  }
  int64_t rows = shape[0], cols = shape[1];
  bool isEmbedding = key == "tok_embeddings" || key == "wte" || key == "wpe";
  double scale = isEmbedding ? 1.0 : 1.0 / std::sqrt(static_cast<double>(cols));
  // A few input channels (1 in 256, at least one) carry 8x larger weights:
  // the outlier features that make low-precision formats hard.
  std::vector<float> channelScale(cols, 1.0f);
  if (!isEmbedding)
    for (int64_t i = 0, e = std::max<int64_t>(1, cols / 256); i < e; ++i)
      channelScale[rng.next() % cols] = 8.0f;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[r * cols + c] =
          static_cast<float>(rng.heavyTailed() * scale * channelScale[c]);
}
