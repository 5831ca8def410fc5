//===- ModelFormats.cpp - safetensors and GGUF models ---------------------===//
//
// Maps the tensor names and configuration keys of each format onto Mixtile's
// Llama model (Meta naming) and back.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/ModelFormats.h"
#include "mixtile/Import/TensorFile.h"
#include "mixtile/Import/Tokenizer.h"
#include "mixtile/Import/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mixtile;
using llvm::Error;
using llvm::Expected;

namespace {

/// A tensor naming convention.
enum class Naming { Meta, HuggingFace, GGUF };

/// Per-layer Meta names and their counterparts, in {meta, hf, gguf} order.
struct LayerName {
  const char *meta, *hf, *gguf;
};
constexpr LayerName kLayerNames[] = {
    {"attention_norm", "input_layernorm.weight", "attn_norm.weight"},
    {"attention.wq", "self_attn.q_proj.weight", "attn_q.weight"},
    {"attention.wk", "self_attn.k_proj.weight", "attn_k.weight"},
    {"attention.wv", "self_attn.v_proj.weight", "attn_v.weight"},
    {"attention.wo", "self_attn.o_proj.weight", "attn_output.weight"},
    {"ffn_norm", "post_attention_layernorm.weight", "ffn_norm.weight"},
    {"feed_forward.w1", "mlp.gate_proj.weight", "ffn_gate.weight"},
    {"feed_forward.w2", "mlp.down_proj.weight", "ffn_down.weight"},
    {"feed_forward.w3", "mlp.up_proj.weight", "ffn_up.weight"},
};
constexpr LayerName kGlobalNames[] = {
    {"tok_embeddings", "model.embed_tokens.weight", "token_embd.weight"},
    {"norm", "model.norm.weight", "output_norm.weight"},
    {"output", "lm_head.weight", "output.weight"},
};

const char *pick(const LayerName &n, Naming naming) {
  return naming == Naming::Meta          ? n.meta
         : naming == Naming::HuggingFace ? n.hf
                                         : n.gguf;
}

/// Translates a Meta key ("layers.3.attention.wq") into `naming`.
std::string rename(StringRef key, Naming naming) {
  for (const LayerName &n : kGlobalNames)
    if (key == n.meta)
      return naming == Naming::Meta ? key.str() + ".weight" : pick(n, naming);
  auto [prefix, rest] = key.split('.');
  auto [layer, name] = rest.split('.');
  for (const LayerName &n : kLayerNames)
    if (name == n.meta) {
      if (naming == Naming::Meta)
        return key.str() + ".weight";
      if (naming == Naming::HuggingFace)
        return ("model.layers." + layer + "." + n.hf).str();
      return ("blk." + layer + "." + n.gguf).str();
    }
  llvm_unreachable("unknown Meta weight key");
}

Type storageTypeOf(Builder &b, StorageType type) {
  return type == StorageType::F32   ? Type(b.getF32Type())
         : type == StorageType::F16 ? Type(b.getF16Type())
                                    : Type(b.getBF16Type());
}

/// Fails when `index` holds too few tensors for the config's layer count.
/// This is a bound on the work of building the module, checked before it is
/// built, so that a few bytes claiming millions of layers cannot make the
/// importer build millions of layers before reporting the first missing
/// tensor; completeness is still checked tensor by tensor.
Error checkLayerCount(StringRef path, const ModelConfig &config,
                      const TensorFileIndex &index, size_t tensorsPerLayer) {
  size_t available = index.tensors.size();
  if (static_cast<uint64_t>(config.nLayers) <= available / tensorsPerLayer)
    return Error::success();
  return llvm::createFileError(
      path, llvm::createStringError(llvm::formatv(
                "the config has {0} layers, which need at least {1} tensors "
                "each, but the file holds {2} tensors",
                config.nLayers, tensorsPerLayer, available)));
}

/// Builds the module with weights resolved through `index`; fails on the
/// first missing or mis-shaped tensor.
Expected<OwningOpRef<ModuleOp>> buildFromIndex(MLIRContext *ctx,
                                               StringRef path,
                                               const ModelConfig &config,
                                               const TensorFileIndex &index,
                                               Naming naming) {
  // The last layer's tensors are checked first, so that a config with too
  // many layers names the first tensor it lacks without building the rest.
  std::string lastLayer = "layers." + std::to_string(config.nLayers - 1) + ".";
  for (const LayerName &name : kLayerNames) {
    std::string stored = rename(lastLayer + name.meta, naming);
    if (!index.find(stored))
      return llvm::createFileError(
          path, llvm::createStringError("tensor '" + stored + "' is missing"));
  }
  if (Error error =
          checkLayerCount(path, config, index, std::size(kLayerNames)))
    return std::move(error);
  std::string missing;
  auto weights = [&](OpBuilder &b, StringRef key,
                     ArrayRef<int64_t> shape) -> Value {
    // A tied head reads the embedding's tensor.
    StringRef stored = key == "output" && config.tiedEmbeddings
                           ? StringRef("tok_embeddings")
                           : key;
    std::string name = rename(stored, naming);
    const TensorInfo *info = index.find(name);
    if (!info || ArrayRef<int64_t>(info->shape) != shape) {
      if (missing.empty())
        missing = info ? "tensor '" + name + "' has shape [" +
                             llvm::join(llvm::map_range(info->shape,
                                                        [](int64_t d) {
                                                          return std::to_string(d);
                                                        }),
                                        ", ") +
                             "], the config implies [" +
                             llvm::join(llvm::map_range(shape,
                                                        [](int64_t d) {
                                                          return std::to_string(d);
                                                        }),
                                        ", ") +
                             "]"
                       : "tensor '" + name + "' is missing";
      return createWeightOp(b, key, shape, {path.str()});
    }
    Type storage = storageTypeOf(b, info->type);
    StringRef file = info->file.empty() ? path : StringRef(info->file);
    return createWeightOp(b, key, shape, {file.str(), info->offset, storage});
  };
  OwningOpRef<ModuleOp> module =
      buildLlamaModule(ctx, config, weights, FileLineColLoc::get(ctx, path, 0, 0));
  if (!missing.empty())
    return llvm::createFileError(path, llvm::createStringError(missing));
  return module;
}

//===----------------------------------------------------------------------===//
// GPT-2
//===----------------------------------------------------------------------===//

/// How a canonical GPT-2 key (see buildGPT2Module) is stored in a file.
struct StoredTensor {
  std::string name;
  SmallVector<int64_t> storedShape;
  bool transpose = false;
  int64_t rowOffset = 0;
};

/// Hugging Face GPT2LMHeadModel: q/k/v live in the fused Conv1D c_attn
/// ([in, 3 * out]); every Conv1D weight is stored [in, out].
StoredTensor hfGPT2Tensor(StringRef key, const ModelConfig &c) {
  int64_t d = c.dim, f = c.hiddenDim;
  if (key == "wte" || key == "output")
    return {"wte.weight", {c.vocabSize, d}};
  if (key == "wpe")
    return {"wpe.weight", {c.maxSeqLen, d}};
  auto [layer, rest] = key.split(".attn.");
  if (!rest.empty()) {
    auto [proj, kind] = rest.split('.');
    int64_t which = proj == "q" ? 0 : proj == "k" ? 1 : proj == "v" ? 2 : -1;
    if (which >= 0 && kind == "weight")
      return {(layer + ".attn.c_attn.weight").str(), {d, 3 * d}, true,
              which * d};
    if (which >= 0)
      return {(layer + ".attn.c_attn.bias").str(), {3 * d}, false, which * d};
    if (kind == "weight")
      return {key.str(), {d, d}, true};
    return {key.str(), {d}};
  }
  if (key.ends_with("mlp.c_fc.weight"))
    return {key.str(), {d, f}, true};
  if (key.ends_with("mlp.c_proj.weight"))
    return {key.str(), {f, d}, true};
  if (key.ends_with("mlp.c_fc.bias"))
    return {key.str(), {f}};
  return {key.str(), {d}}; // Norm weights and biases, c_proj bias.
}

/// GGUF gpt2: fused attn_qkv stored [3 * out, in]; no transposes.
StoredTensor ggufGPT2Tensor(StringRef key, const ModelConfig &c) {
  int64_t d = c.dim, f = c.hiddenDim;
  if (key == "wte")
    return {"token_embd.weight", {c.vocabSize, d}};
  if (key == "output")
    return {"output.weight", {c.vocabSize, d}};
  if (key == "wpe")
    return {"position_embd.weight", {c.maxSeqLen, d}};
  auto renameNorm = [](StringRef name) -> std::string {
    return name == "ln_1" ? "attn_norm" : name == "ln_2" ? "ffn_norm"
                                                          : "output_norm";
  };
  if (key.starts_with("ln_f."))
    return {"output_norm." + key.drop_front(5).str(), {d}};
  auto [h, rest] = key.split('.');
  auto [layer, name] = rest.split('.');
  std::string blk = ("blk." + layer + ".").str();
  bool isWeight = name.ends_with(".weight");
  std::string suffix = isWeight ? ".weight" : ".bias";
  if (name.starts_with("ln_"))
    return {blk + renameNorm(name.take_front(4)) + suffix, {d}};
  for (auto [proj, which] : {std::pair{"attn.q", 0}, {"attn.k", 1}, {"attn.v", 2}})
    if (name.starts_with(proj) && name.size() == strlen(proj) + suffix.size())
      return isWeight ? StoredTensor{blk + "attn_qkv.weight", {3 * d, d}, false,
                                     which * d}
                      : StoredTensor{blk + "attn_qkv.bias", {3 * d}, false,
                                     which * d};
  if (name.starts_with("attn.c_proj"))
    return {blk + "attn_output" + suffix,
            isWeight ? SmallVector<int64_t>{d, d} : SmallVector<int64_t>{d}};
  if (name.starts_with("mlp.c_fc"))
    return {blk + "ffn_up" + suffix,
            isWeight ? SmallVector<int64_t>{f, d} : SmallVector<int64_t>{f}};
  return {blk + "ffn_down" + suffix,
          isWeight ? SmallVector<int64_t>{d, f} : SmallVector<int64_t>{d}};
}

/// Builds a GPT-2 module whose weights `locate` maps into `index`.
Expected<OwningOpRef<ModuleOp>>
buildGPT2FromIndex(MLIRContext *ctx, StringRef path, const ModelConfig &config,
                   const TensorFileIndex &index,
                   llvm::function_ref<StoredTensor(StringRef)> locate,
                   StringRef prefix = "") {
  // A GPT-2 layer has at least its two norms and two fused products.
  if (Error error = checkLayerCount(path, config, index, 4))
    return std::move(error);
  std::string missing;
  auto find = [&](StringRef name) {
    const TensorInfo *info = index.find(name);
    return info || prefix.empty() ? info : index.find((prefix + name).str());
  };
  auto weights = [&](OpBuilder &b, StringRef key,
                     ArrayRef<int64_t> shape) -> Value {
    StoredTensor stored = locate(key);
    const TensorInfo *info = find(stored.name);
    if (!info && key == "output") { // A tied head reads the token embedding.
      stored = locate("wte");
      info = find(stored.name);
    }
    if (!info || ArrayRef<int64_t>(info->shape) != ArrayRef<int64_t>(stored.storedShape)) {
      if (missing.empty())
        missing = info ? "tensor '" + stored.name + "' does not have the "
                         "shape the config implies"
                       : "tensor '" + stored.name + "' is missing";
      return createWeightOp(b, key, shape, {path.str()});
    }
    WeightLocation location(info->file.empty() ? path.str() : info->file,
                            info->offset, storageTypeOf(b, info->type));
    if (stored.transpose || stored.rowOffset ||
        ArrayRef<int64_t>(stored.storedShape) != shape) {
      location.storedShape = stored.storedShape;
      location.transpose = stored.transpose;
      location.rowOffset = stored.rowOffset;
    }
    return createWeightOp(b, key, shape, location);
  };
  OwningOpRef<ModuleOp> module = buildGPT2Module(
      ctx, config, weights, FileLineColLoc::get(ctx, path, 0, 0));
  if (!missing.empty())
    return llvm::createFileError(path, llvm::createStringError(missing));
  return module;
}

//===----------------------------------------------------------------------===//
// GGUF
//===----------------------------------------------------------------------===//

/// Reads an integer/float/string GGUF metadata value by key.
template <typename T>
std::optional<T> metadataAs(const TensorFileIndex &index, StringRef key) {
  auto it = index.metadata.find(key);
  if (it == index.metadata.end())
    return std::nullopt;
  if constexpr (std::is_same_v<T, double>) {
    if (auto *n = std::get_if<int64_t>(&it->second))
      return static_cast<double>(*n);
  }
  if (auto *v = std::get_if<T>(&it->second))
    return *v;
  return std::nullopt;
}

Expected<ModelConfig> ggufConfig(StringRef path, const TensorFileIndex &index) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createFileError(path, llvm::createStringError(message));
  };
  std::optional<std::string> arch =
      metadataAs<std::string>(index, "general.architecture");
  if (!arch)
    return fail("missing general.architecture");
  if (*arch != "llama" && *arch != "gpt2")
    return fail("unsupported architecture '" + *arch +
                "' (supported: llama, gpt2)");
  ModelConfig c;
  c.arch = *arch;
  struct IntKey {
    const char *key;
    int64_t *field;
  } intKeys[] = {{".embedding_length", &c.dim},
                 {".feed_forward_length", &c.hiddenDim},
                 {".block_count", &c.nLayers},
                 {".attention.head_count", &c.nHeads},
                 {".context_length", &c.maxSeqLen}};
  for (const IntKey &k : intKeys) {
    std::string key = *arch + k.key;
    std::optional<int64_t> v = metadataAs<int64_t>(index, key);
    if (!v)
      return fail("missing or non-integer " + key);
    *k.field = *v;
  }
  c.nKVHeads = metadataAs<int64_t>(index, *arch + ".attention.head_count_kv")
                   .value_or(c.nHeads);
  if (c.arch == "gpt2") {
    c.normEps =
        metadataAs<double>(index, "gpt2.attention.layer_norm_epsilon")
            .value_or(1e-5);
    c.vocabSize = index.find("token_embd.weight")
                      ? index.find("token_embd.weight")->shape[0]
                      : 0;
    c.tiedEmbeddings = !index.find("output.weight");
    if (Error error = c.validate())
      return fail(llvm::toString(std::move(error)));
    return c;
  }
  c.ropeTheta = metadataAs<double>(index, "llama.rope.freq_base").value_or(1e4);
  c.normEps =
      metadataAs<double>(index, "llama.attention.layer_norm_rms_epsilon")
          .value_or(1e-5);
  const TensorInfo *embedding = index.find("token_embd.weight");
  if (!embedding || embedding->shape.size() != 2)
    return fail("missing 2-D tensor token_embd.weight");
  c.vocabSize = embedding->shape[0];
  c.tiedEmbeddings = !index.find("output.weight");
  c.ropeStyle = xfmr::RopeStyle::interleaved;
  if (Error error = c.validate())
    return fail(llvm::toString(std::move(error)));
  return c;
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

/// Reads the GPT2LMHeadModel fields of a Hugging Face config.json.
Expected<ModelConfig> hfGPT2Config(StringRef configPath,
                                   const llvm::json::Object &o) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createFileError(configPath, llvm::createStringError(message));
  };
  ModelConfig c;
  c.arch = "gpt2";
  struct IntKey {
    const char *key;
    int64_t *field;
  } intKeys[] = {{"n_embd", &c.dim},
                 {"n_layer", &c.nLayers},
                 {"n_head", &c.nHeads},
                 {"vocab_size", &c.vocabSize},
                 {"n_positions", &c.maxSeqLen}};
  for (const IntKey &k : intKeys) {
    std::optional<int64_t> v = o.getInteger(k.key);
    if (!v)
      return fail(llvm::Twine("missing or non-integer '") + k.key + "'");
    *k.field = *v;
  }
  c.hiddenDim = o.getInteger("n_inner").value_or(4 * c.dim);
  c.nKVHeads = c.nHeads;
  c.normEps = o.getNumber("layer_norm_epsilon").value_or(1e-5);
  StringRef activation = o.getString("activation_function").value_or("gelu_new");
  if (activation != "gelu_new" && activation != "gelu")
    return fail("unsupported activation_function '" + activation +
                "' (supported: gelu_new, gelu)");
  c.gelu = activation == "gelu" ? xfmr::GeluApproximation::none
                                : xfmr::GeluApproximation::tanh;
  c.tiedEmbeddings = true;
  if (Error error = c.validate())
    return fail(llvm::toString(std::move(error)));
  return c;
}

/// Reads Hugging Face's config.json for LlamaForCausalLM or GPT2LMHeadModel.
Expected<ModelConfig> hfConfig(StringRef configPath) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createFileError(configPath, llvm::createStringError(message));
  };
  auto buffer = llvm::MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(configPath, buffer.getError());
  Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return fail("bad JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *o = json->getAsObject();
  if (!o)
    return fail("not a JSON object");
  const llvm::json::Array *archs = o->getArray("architectures");
  std::optional<StringRef> arch =
      archs && !archs->empty() ? (*archs)[0].getAsString() : std::nullopt;
  if (arch == std::optional<StringRef>("GPT2LMHeadModel"))
    return hfGPT2Config(configPath, *o);
  if (!arch || *arch != "LlamaForCausalLM")
    return fail("unsupported architecture '" + arch.value_or("<missing>") +
                "' (supported: LlamaForCausalLM, GPT2LMHeadModel)");
  ModelConfig c;
  struct IntKey {
    const char *key;
    int64_t *field;
  } intKeys[] = {{"hidden_size", &c.dim},
                 {"intermediate_size", &c.hiddenDim},
                 {"num_hidden_layers", &c.nLayers},
                 {"num_attention_heads", &c.nHeads},
                 {"vocab_size", &c.vocabSize},
                 {"max_position_embeddings", &c.maxSeqLen}};
  for (const IntKey &k : intKeys) {
    std::optional<int64_t> v = o->getInteger(k.key);
    if (!v)
      return fail(llvm::Twine("missing or non-integer '") + k.key + "'");
    *k.field = *v;
  }
  c.nKVHeads = o->getInteger("num_key_value_heads").value_or(c.nHeads);
  c.normEps = o->getNumber("rms_norm_eps").value_or(1e-6);
  c.ropeTheta = o->getNumber("rope_theta").value_or(1e4);
  c.tiedEmbeddings = o->getBoolean("tie_word_embeddings").value_or(false);
  c.ropeStyle = xfmr::RopeStyle::half;
  if (Error error = c.validate())
    return fail(llvm::toString(std::move(error)));
  return c;
}

/// Reads the config exportSafetensors stores in __metadata__.
Expected<ModelConfig> mixtileConfig(StringRef path,
                                    const TensorFileIndex &index) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createFileError(path, llvm::createStringError(message));
  };
  auto get = [&](StringRef key) -> std::optional<std::string> {
    return metadataAs<std::string>(index, key);
  };
  if (get("format") != std::optional<std::string>("mixtile-llama"))
    return fail("no config.json beside the file and no Mixtile config in "
                "its __metadata__");
  ModelConfig c;
  struct IntKey {
    const char *key;
    int64_t *field;
  } intKeys[] = {{"dim", &c.dim},           {"hidden_dim", &c.hiddenDim},
                 {"n_layers", &c.nLayers},  {"n_heads", &c.nHeads},
                 {"n_kv_heads", &c.nKVHeads}, {"vocab_size", &c.vocabSize},
                 {"max_seq_len", &c.maxSeqLen}};
  for (const IntKey &k : intKeys) {
    std::optional<std::string> v = get(k.key);
    if (!v || llvm::StringRef(*v).getAsInteger(10, *k.field))
      return fail(llvm::Twine("bad or missing metadata '") + k.key + "'");
  }
  double eps = 1e-5, theta = 1e4;
  if (std::optional<std::string> v = get("norm_eps"))
    llvm::to_float(*v, eps);
  if (std::optional<std::string> v = get("rope_theta"))
    llvm::to_float(*v, theta);
  c.normEps = eps;
  c.ropeTheta = theta;
  c.tiedEmbeddings = get("tied_embeddings") == std::optional<std::string>("1");
  c.ropeStyle = get("rope_style") == std::optional<std::string>("half")
                    ? xfmr::RopeStyle::half
                    : xfmr::RopeStyle::interleaved;
  if (Error error = c.validate())
    return fail(llvm::toString(std::move(error)));
  return c;
}

//===----------------------------------------------------------------------===//
// Export
//===----------------------------------------------------------------------===//

/// Collects the f32 data of every distinct weight of `module`, renamed.
Expected<std::vector<TensorData>> collectWeights(ModuleOp module,
                                                 WeightStore &store,
                                                 const ModelConfig &config,
                                                 Naming naming) {
  std::vector<TensorData> tensors;
  llvm::StringSet<> seen;
  Error error = Error::success();
  module.walk([&](xfmr::WeightOp op) {
    if (error || !seen.insert(op.getKey()).second)
      return;
    if (op.getKey() == "output" && config.tiedEmbeddings)
      return;
    Expected<ArrayRef<float>> data = store.get(op);
    if (!data) {
      error = data.takeError();
      return;
    }
    auto shape = op.getType().getShape();
    tensors.push_back({rename(op.getKey(), naming),
                       SmallVector<int64_t>(shape.begin(), shape.end()),
                       *data});
  });
  if (error)
    return std::move(error);
  return tensors;
}

} // namespace

Expected<OwningOpRef<ModuleOp>> mixtile::importGGUF(MLIRContext *ctx,
                                                    StringRef path,
                                                    ArrayRef<char> bytes) {
  Expected<TensorFileIndex> index = readGGUF(path, bytes);
  if (!index)
    return index.takeError();
  Expected<ModelConfig> config = ggufConfig(path, *index);
  if (!config)
    return config.takeError();
  if (config->arch == "gpt2")
    return buildGPT2FromIndex(ctx, path, *config, *index, [&](StringRef key) {
      return ggufGPT2Tensor(key, *config);
    });
  return buildFromIndex(ctx, path, *config, *index, Naming::GGUF);
}

Expected<OwningOpRef<ModuleOp>>
mixtile::importSafetensors(MLIRContext *ctx, StringRef path,
                           ArrayRef<char> bytes) {
  bool sharded = path.ends_with(".index.json");
  Expected<TensorFileIndex> index = sharded ? readSafetensorsIndex(path, bytes)
                                            : readSafetensors(path, bytes);
  if (!index)
    return index.takeError();
  llvm::SmallString<256> configPath(llvm::sys::path::parent_path(path));
  llvm::sys::path::append(configPath, "config.json");
  if (llvm::sys::fs::exists(configPath)) {
    Expected<ModelConfig> config = hfConfig(configPath);
    if (!config)
      return config.takeError();
    if (config->arch == "gpt2")
      return buildGPT2FromIndex(
          ctx, path, *config, *index,
          [&](StringRef key) { return hfGPT2Tensor(key, *config); },
          "transformer.");
    return buildFromIndex(ctx, path, *config, *index, Naming::HuggingFace);
  }
  Expected<ModelConfig> config = mixtileConfig(path, *index);
  if (!config)
    return config.takeError();
  return buildFromIndex(ctx, path, *config, *index, Naming::Meta);
}

Error mixtile::exportSafetensors(ModuleOp module, WeightStore &store,
                                 llvm::raw_ostream &os) {
  Expected<ModelConfig> config = ModelConfig::fromModule(module);
  if (!config)
    return config.takeError();
  if (config->arch != "llama")
    return llvm::createStringError("export supports llama models, not '" +
                                   config->arch + "'");
  Expected<std::vector<TensorData>> tensors =
      collectWeights(module, store, *config, Naming::Meta);
  if (!tensors)
    return tensors.takeError();
  const ModelConfig &c = *config;
  std::map<std::string, std::string> metadata = {
      {"format", "mixtile-llama"},
      {"dim", std::to_string(c.dim)},
      {"hidden_dim", std::to_string(c.hiddenDim)},
      {"n_layers", std::to_string(c.nLayers)},
      {"n_heads", std::to_string(c.nHeads)},
      {"n_kv_heads", std::to_string(c.nKVHeads)},
      {"vocab_size", std::to_string(c.vocabSize)},
      {"max_seq_len", std::to_string(c.maxSeqLen)},
      {"norm_eps", llvm::formatv("{0:e9}", c.normEps).str()},
      {"rope_theta", llvm::formatv("{0:e9}", c.ropeTheta).str()},
      {"tied_embeddings", c.tiedEmbeddings ? "1" : "0"},
      {"rope_style", c.ropeStyle == xfmr::RopeStyle::half ? "half"
                                                          : "interleaved"}};
  writeSafetensors(os, *tensors, metadata);
  return Error::success();
}

/// Sentencepiece writes spaces as U+2581 ("\xE2\x96\x81"); llama2.c
/// vocabularies use plain spaces.
static constexpr llvm::StringLiteral kSentencePieceSpace = "\xE2\x96\x81";

static std::string replaceAll(llvm::StringRef text, llvm::StringRef from,
                              llvm::StringRef to) {
  std::string out;
  while (!text.empty()) {
    size_t at = text.find(from);
    out += text.take_front(at).str();
    if (at == llvm::StringRef::npos)
      break;
    out += to.str();
    text = text.drop_front(at + from.size());
  }
  return out;
}

Expected<Tokenizer> mixtile::loadGGUFTokenizer(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  Expected<TensorFileIndex> index = readGGUF(
      path, {(*buffer)->getBufferStart(), (*buffer)->getBufferSize()});
  if (!index)
    return index.takeError();
  auto tokens = index->metadata.find("tokenizer.ggml.tokens");
  auto scores = index->metadata.find("tokenizer.ggml.scores");
  if (tokens == index->metadata.end() || scores == index->metadata.end())
    return llvm::createFileError(
        path, llvm::createStringError("no embedded vocabulary "
                                      "(tokenizer.ggml.tokens and scores)"));
  const auto *pieces = std::get_if<std::vector<std::string>>(&tokens->second);
  const auto *values = std::get_if<std::vector<float>>(&scores->second);
  if (!pieces || !values)
    return llvm::createFileError(
        path, llvm::createStringError("tokenizer.ggml.tokens must be strings "
                                      "and tokenizer.ggml.scores numbers"));
  std::vector<std::string> spaced;
  for (const std::string &piece : *pieces)
    spaced.push_back(replaceAll(piece, kSentencePieceSpace, " "));
  int bos = metadataAs<int64_t>(*index, "tokenizer.ggml.bos_token_id").value_or(1);
  int eos = metadataAs<int64_t>(*index, "tokenizer.ggml.eos_token_id").value_or(2);
  Expected<Tokenizer> tokenizer =
      Tokenizer::fromPieces(std::move(spaced), *values, bos, eos);
  if (!tokenizer)
    return llvm::createFileError(path, tokenizer.takeError());
  return tokenizer;
}

Error mixtile::exportGGUF(ModuleOp module, WeightStore &store,
                          llvm::raw_ostream &os, const Tokenizer *tokenizer) {
  Expected<ModelConfig> config = ModelConfig::fromModule(module);
  if (!config)
    return config.takeError();
  const ModelConfig &c = *config;
  if (c.arch != "llama")
    return llvm::createStringError("export supports llama models, not '" +
                                   c.arch + "'");
  if (c.ropeStyle != xfmr::RopeStyle::interleaved)
    return llvm::createStringError(
        "GGUF llama files use interleaved RoPE; this model uses rotate-half");
  Expected<std::vector<TensorData>> tensors =
      collectWeights(module, store, c, Naming::GGUF);
  if (!tensors)
    return tensors.takeError();
  std::vector<std::pair<std::string, GGUFValue>> metadata = {
      {"general.architecture", std::string("llama")},
      {"llama.context_length", c.maxSeqLen},
      {"llama.embedding_length", c.dim},
      {"llama.block_count", c.nLayers},
      {"llama.feed_forward_length", c.hiddenDim},
      {"llama.attention.head_count", c.nHeads},
      {"llama.attention.head_count_kv", c.nKVHeads},
      {"llama.rope.freq_base", static_cast<double>(c.ropeTheta)},
      {"llama.attention.layer_norm_rms_epsilon", static_cast<double>(c.normEps)}};
  if (tokenizer) {
    if (tokenizer->vocabSize() != c.vocabSize)
      return llvm::createStringError(
          "tokenizer has " + llvm::Twine(tokenizer->vocabSize()) +
          " tokens but the model's vocabulary is " + llvm::Twine(c.vocabSize));
    std::vector<std::string> pieces;
    std::vector<float> scores;
    for (int id = 0; id < tokenizer->vocabSize(); ++id) {
      pieces.push_back(replaceAll(tokenizer->piece(id), " ", kSentencePieceSpace));
      scores.push_back(tokenizer->score(id));
    }
    metadata.push_back({"tokenizer.ggml.model", std::string("llama")});
    metadata.push_back({"tokenizer.ggml.tokens", std::move(pieces)});
    metadata.push_back({"tokenizer.ggml.scores", std::move(scores)});
    metadata.push_back({"tokenizer.ggml.bos_token_id",
                        static_cast<int64_t>(tokenizer->bos())});
    metadata.push_back({"tokenizer.ggml.eos_token_id",
                        static_cast<int64_t>(tokenizer->eos())});
  }
  writeGGUF(os, metadata, *tensors);
  return Error::success();
}
