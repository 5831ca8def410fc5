//===- Llama2C.cpp - import llama2.c checkpoints --------------------------===//
//
// The llama2.c legacy layout: header (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len), then token_embedding [vocab, dim],
// rms_att [L, dim], wq [L, dim, dim], wk [L, kv, dim], wv [L, kv, dim],
// wo [L, dim, dim], rms_ffn [L, dim], w1 [L, hidden, dim], w2 [L, dim, hidden],
// w3 [L, hidden, dim], rms_final [dim], the legacy RoPE tables
// (seq_len * head_size floats), and wcls [vocab, dim] when vocab_size < 0.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/Llama2C.h"
#include "mixtile/Import/WeightStore.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mixtile;

static constexpr uint64_t kHeaderBytes = 7 * sizeof(int32_t);

static llvm::Error fileError(StringRef path, const llvm::Twine &message) {
  return llvm::createFileError(path, llvm::createStringError(message));
}

/// Byte offset and shape of every tensor, in file order. Built only after
/// the header's total size has been checked, so nothing here overflows.
struct Layout {
  struct Entry {
    std::string key;
    SmallVector<int64_t> shape;
    uint64_t offset;
  };
  std::vector<Entry> entries;
  llvm::StringMap<size_t> index;
  uint64_t end = kHeaderBytes;

  /// Appends one tensor of `shape` at the current end.
  void add(std::string key, ArrayRef<int64_t> shape) {
    index[key] = entries.size();
    entries.push_back({std::move(key), SmallVector<int64_t>(shape), end});
    skip(*checkedElementCount(shape));
  }

  /// Skips `count` floats that are not imported.
  void skip(uint64_t count) { end += 4 * count; }
};

/// The tensors of a checkpoint in llama2.c's order, one entry per layer.
static Layout computeLayout(const ModelConfig &c) {
  Layout layout;
  std::string l = "layers.";
  auto perLayer = [&](StringRef name, ArrayRef<int64_t> shape) {
    for (int64_t i = 0; i < c.nLayers; ++i)
      layout.add(l + std::to_string(i) + "." + name.str(), shape);
  };
  layout.add("tok_embeddings", {c.vocabSize, c.dim});
  perLayer("attention_norm", {c.dim});
  perLayer("attention.wq", {c.dim, c.dim});
  perLayer("attention.wk", {c.kvDim(), c.dim});
  perLayer("attention.wv", {c.kvDim(), c.dim});
  perLayer("attention.wo", {c.dim, c.dim});
  perLayer("ffn_norm", {c.dim});
  perLayer("feed_forward.w1", {c.hiddenDim, c.dim});
  perLayer("feed_forward.w2", {c.dim, c.hiddenDim});
  perLayer("feed_forward.w3", {c.hiddenDim, c.dim});
  layout.add("norm", {c.dim});
  // The legacy format stores precomputed RoPE tables that we recompute.
  layout.skip(static_cast<uint64_t>(c.maxSeqLen) * c.headDim());
  if (!c.tiedEmbeddings)
    layout.add("output", {c.vocabSize, c.dim});
  return layout;
}

/// The file size a header implies, computed in closed form with overflow
/// checks before any per-layer work (a hostile header may claim 2^31 layers).
static std::optional<uint64_t> expectedFileSize(const ModelConfig &c) {
  using llvm::checkedAddUnsigned;
  using llvm::checkedMulUnsigned;
  auto mul = [](std::optional<uint64_t> a,
                std::optional<uint64_t> b) -> std::optional<uint64_t> {
    return a && b ? checkedMulUnsigned(*a, *b) : std::nullopt;
  };
  auto add = [](std::optional<uint64_t> a,
                std::optional<uint64_t> b) -> std::optional<uint64_t> {
    return a && b ? checkedAddUnsigned(*a, *b) : std::nullopt;
  };
  auto u = [](int64_t v) { return std::optional<uint64_t>(v); };
  std::optional<uint64_t> perLayer =
      add(add(mul(u(2), u(c.dim)), mul(mul(u(2), u(c.dim)), u(c.dim))),
          add(mul(mul(u(2), u(c.kvDim())), u(c.dim)),
              mul(mul(u(3), u(c.hiddenDim)), u(c.dim))));
  std::optional<uint64_t> embedding = mul(u(c.vocabSize), u(c.dim));
  std::optional<uint64_t> floats =
      add(add(embedding, mul(u(c.nLayers), perLayer)),
          add(u(c.dim), mul(u(c.maxSeqLen), u(c.headDim()))));
  if (!c.tiedEmbeddings)
    floats = add(floats, embedding);
  return add(mul(floats, u(4)), u(kHeaderBytes));
}

llvm::Expected<ModelConfig> mixtile::readLlama2CConfig(StringRef path,
                                                       ArrayRef<char> bytes) {
  if (bytes.size() < kHeaderBytes)
    return fileError(path, "truncated llama2.c header: " +
                               llvm::Twine(bytes.size()) + " bytes, need " +
                               llvm::Twine(kHeaderBytes));
  int32_t header[7];
  std::memcpy(header, bytes.data(), kHeaderBytes);
  ModelConfig config;
  config.dim = header[0];
  config.hiddenDim = header[1];
  config.nLayers = header[2];
  config.nHeads = header[3];
  config.nKVHeads = header[4];
  // A negative vocab size marks an untied output head.
  config.tiedEmbeddings = header[5] > 0;
  config.vocabSize = std::abs(static_cast<int64_t>(header[5]));
  config.maxSeqLen = header[6];
  if (llvm::Error error = config.validate())
    return fileError(path, llvm::toString(std::move(error)));
  std::optional<uint64_t> size = expectedFileSize(config);
  if (!size)
    return fileError(path, "header dimensions overflow the file size");
  if (*size != bytes.size())
    return fileError(path, "the header describes " + llvm::Twine(*size) +
                               " bytes but the file has " +
                               llvm::Twine(bytes.size()) +
                               " (not a llama2.c legacy checkpoint, or "
                               "truncated)");
  return config;
}

/// Returns the index of the first non-finite float in the imported tensors.
static std::optional<std::pair<std::string, uint64_t>>
findNonFinite(const Layout &layout, ArrayRef<char> bytes) {
  for (const Layout::Entry &entry : layout.entries) {
    uint64_t count = *checkedElementCount(entry.shape);
    const char *data = bytes.data() + entry.offset;
    for (uint64_t i = 0; i < count; ++i) {
      float value;
      std::memcpy(&value, data + 4 * i, 4);
      if (!std::isfinite(value))
        return std::make_pair(entry.key, i);
    }
  }
  return std::nullopt;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mixtile::importLlama2C(MLIRContext *ctx, StringRef path, ArrayRef<char> bytes) {
  llvm::Expected<ModelConfig> config = readLlama2CConfig(path, bytes);
  if (!config)
    return config.takeError();
  Layout layout = computeLayout(*config);
  if (auto bad = findNonFinite(layout, bytes))
    return fileError(path, "weight '" + bad->first + "' element " +
                               llvm::Twine(bad->second) +
                               " is not finite (NaN or Inf)");
  Builder b(ctx);
  auto weights = [&](OpBuilder &builder, StringRef key,
                     ArrayRef<int64_t> shape) -> Value {
    // The tied head reads the token embedding.
    StringRef stored = key == "output" && config->tiedEmbeddings
                           ? StringRef("tok_embeddings")
                           : key;
    const Layout::Entry &entry = layout.entries[layout.index.lookup(stored)];
    assert(entry.key == stored && ArrayRef<int64_t>(entry.shape) == shape &&
           "builder asked for a tensor the layout does not have");
    return createWeightOp(builder, key, shape,
                          {path.str(), entry.offset, builder.getF32Type()});
  };
  Location loc = FileLineColLoc::get(ctx, path, 0, 0);
  return buildLlamaModule(ctx, *config, weights, loc);
}
