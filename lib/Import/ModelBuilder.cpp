//===- ModelBuilder.cpp - build xfmr IR for a transformer family ----------===//
//
// The Llama-family forward function in xfmr ops, shared by every importer.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Import/ModelBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mixtile;

Value mixtile::createWeightOp(OpBuilder &b, StringRef key,
                              ArrayRef<int64_t> shape,
                              const WeightLocation &location) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  auto optionalI64 = [&](auto value) {
    return value ? b.getI64IntegerAttr(*value) : IntegerAttr();
  };
  return xfmr::WeightOp::create(
      b, b.getUnknownLoc(), type, key, location.file,
      optionalI64(location.offset),
      location.storage ? TypeAttr::get(location.storage) : TypeAttr(),
      location.storedShape.empty()
          ? DenseI64ArrayAttr()
          : b.getDenseI64ArrayAttr(location.storedShape),
      location.transpose, optionalI64(location.rowOffset));
}

llvm::Error ModelConfig::validate() const {
  auto fail = [](const llvm::Twine &message) {
    return llvm::createStringError("invalid model config: " + message);
  };
  if (arch != "llama" && arch != "gpt2")
    return fail("unknown architecture '" + arch + "' (known: llama, gpt2)");
  if (arch == "gpt2" && nKVHeads != nHeads)
    return fail("gpt2 models have as many KV heads as heads");
  if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 ||
      nKVHeads <= 0 || vocabSize <= 0 || maxSeqLen <= 0)
    return fail("every dimension must be positive (dim " + llvm::Twine(dim) +
                ", hidden " + llvm::Twine(hiddenDim) + ", layers " +
                llvm::Twine(nLayers) + ", heads " + llvm::Twine(nHeads) +
                ", kv heads " + llvm::Twine(nKVHeads) + ", vocab " +
                llvm::Twine(vocabSize) + ", seq " + llvm::Twine(maxSeqLen) +
                ")");
  if (dim % nHeads != 0)
    return fail("dim " + llvm::Twine(dim) + " is not a multiple of n_heads " +
                llvm::Twine(nHeads));
  if (nHeads % nKVHeads != 0)
    return fail("n_heads " + llvm::Twine(nHeads) +
                " is not a multiple of n_kv_heads " + llvm::Twine(nKVHeads));
  if (headDim() % 2 != 0)
    return fail("head size " + llvm::Twine(headDim()) + " is odd");
  if (!(normEps > 0.0f) || !(ropeTheta > 0.0f))
    return fail("norm epsilon and rope theta must be positive");
  return llvm::Error::success();
}

llvm::Expected<ModelConfig> ModelConfig::fromModule(ModuleOp module) {
  auto dict = module->getAttrOfType<DictionaryAttr>(kConfigAttrName);
  if (!dict)
    return llvm::createStringError("module has no '" + kConfigAttrName +
                                   "' attribute; was it made by an importer?");
  ModelConfig config;
  auto readInt = [&](StringRef name, int64_t &out) {
    if (auto attr = dict.getAs<IntegerAttr>(name))
      out = attr.getInt();
  };
  auto readFloat = [&](StringRef name, float &out) {
    if (auto attr = dict.getAs<FloatAttr>(name))
      out = static_cast<float>(attr.getValueAsDouble());
  };
  if (auto arch = dict.getAs<StringAttr>("arch"))
    config.arch = arch.str();
  readInt("dim", config.dim);
  readInt("hidden_dim", config.hiddenDim);
  readInt("n_layers", config.nLayers);
  readInt("n_heads", config.nHeads);
  readInt("n_kv_heads", config.nKVHeads);
  readInt("vocab_size", config.vocabSize);
  readInt("max_seq_len", config.maxSeqLen);
  readFloat("norm_eps", config.normEps);
  readFloat("rope_theta", config.ropeTheta);
  config.tiedEmbeddings = static_cast<bool>(dict.get("tied_embeddings"));
  if (auto style = dict.getAs<xfmr::RopeStyleAttr>("rope_style"))
    config.ropeStyle = style.getValue();
  if (auto gelu = dict.getAs<xfmr::GeluApproximationAttr>("gelu"))
    config.gelu = gelu.getValue();
  if (llvm::Error error = config.validate())
    return std::move(error);
  return config;
}

static DictionaryAttr configAttr(Builder &b, const ModelConfig &c) {
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("arch", b.getStringAttr(c.arch)),
      b.getNamedAttr("dim", b.getI64IntegerAttr(c.dim)),
      b.getNamedAttr("hidden_dim", b.getI64IntegerAttr(c.hiddenDim)),
      b.getNamedAttr("n_layers", b.getI64IntegerAttr(c.nLayers)),
      b.getNamedAttr("n_heads", b.getI64IntegerAttr(c.nHeads)),
      b.getNamedAttr("n_kv_heads", b.getI64IntegerAttr(c.nKVHeads)),
      b.getNamedAttr("vocab_size", b.getI64IntegerAttr(c.vocabSize)),
      b.getNamedAttr("max_seq_len", b.getI64IntegerAttr(c.maxSeqLen)),
      b.getNamedAttr("norm_eps", b.getF32FloatAttr(c.normEps)),
      b.getNamedAttr("rope_theta", b.getF32FloatAttr(c.ropeTheta)),
      b.getNamedAttr("rope_style", xfmr::RopeStyleAttr::get(b.getContext(),
                                                            c.ropeStyle))};
  if (c.tiedEmbeddings)
    entries.push_back(b.getNamedAttr("tied_embeddings", b.getUnitAttr()));
  if (c.arch == "gpt2")
    entries.push_back(b.getNamedAttr(
        "gelu", xfmr::GeluApproximationAttr::get(b.getContext(), c.gelu)));
  return b.getDictionaryAttr(entries);
}

namespace {

/// What every family's emitter needs: the builder, the config, the weight
/// provider, and the ops all families build the same way.
class EmitterBase {
public:
  EmitterBase(OpBuilder &b, const ModelConfig &c, WeightProvider weights,
              Location loc)
      : b(b), c(c), weights(weights), loc(loc) {}

  /// The type of `[seq, features]` activations.
  RankedTensorType act(int64_t features) {
    return RankedTensorType::get({ShapedType::kDynamic, features},
                                 b.getF32Type());
  }

  Value weight(const llvm::Twine &key, ArrayRef<int64_t> shape) {
    return weights(b, key.str(), shape);
  }

  /// Causal attention that writes k/v into the caches at `start`.
  xfmr::AttentionOp attention(Value q, Value k, Value v, Value start,
                              Value kCache, Value vCache) {
    return xfmr::AttentionOp::create(
        b, loc, act(c.dim), TypeRange{kCache.getType(), vCache.getType()}, q,
        k, v, kCache, vCache, start, c.nHeads, c.nKVHeads, FloatAttr(),
        /*causal=*/true, xfmr::PrecisionAttr());
  }

protected:
  OpBuilder &b;
  const ModelConfig &c;
  WeightProvider weights;
  Location loc;
};

/// Emits the ops of one Llama forward pass.
class LlamaEmitter : public EmitterBase {
public:
  using EmitterBase::EmitterBase;

  /// A linear layer; its weight's key is the layer's name in plans.
  Value linear(Value x, const std::string &key, int64_t outFeatures,
               int64_t inFeatures) {
    Value w = weight(key, {outFeatures, inFeatures});
    return xfmr::LinearOp::create(b, loc, act(outFeatures), x, w, Value(),
                                  xfmr::PrecisionAttr());
  }

  Value rmsNorm(Value x, const llvm::Twine &key) {
    return xfmr::RMSNormOp::create(b, loc, x, weight(key, {c.dim}),
                                     b.getF32FloatAttr(c.normEps));
  }

  /// One block; returns the residual stream and the two updated caches.
  std::tuple<Value, Value, Value> block(int64_t layer, Value x,
                                        Value positions, Value start,
                                        Value kCache, Value vCache) {
    std::string p = "layers." + std::to_string(layer) + ".";
    Value h = rmsNorm(x, p + "attention_norm");
    Value q = linear(h, p + "attention.wq", c.dim, c.dim);
    Value k = linear(h, p + "attention.wk", c.kvDim(), c.dim);
    Value v = linear(h, p + "attention.wv", c.kvDim(), c.dim);
    q = rope(q, positions);
    k = rope(k, positions);
    auto attention = xfmr::AttentionOp::create(b, 
        loc, act(c.dim), TypeRange{kCache.getType(), vCache.getType()}, q, k,
        v, kCache, vCache, start, c.nHeads, c.nKVHeads, FloatAttr(),
        /*causal=*/true, xfmr::PrecisionAttr());
    Value o = linear(attention.getResult(), p + "attention.wo", c.dim, c.dim);
    x = xfmr::AddOp::create(b, loc, x, o);
    Value h2 = rmsNorm(x, p + "ffn_norm");
    Value gate = linear(h2, p + "feed_forward.w1", c.hiddenDim, c.dim);
    Value up = linear(h2, p + "feed_forward.w3", c.hiddenDim, c.dim);
    Value act = xfmr::MulOp::create(b, loc, xfmr::SiluOp::create(b, loc, gate),
                                      up);
    Value down = linear(act, p + "feed_forward.w2", c.dim, c.hiddenDim);
    x = xfmr::AddOp::create(b, loc, x, down);
    return {x, attention.getUpdatedCaches()[0],
            attention.getUpdatedCaches()[1]};
  }

  Value rope(Value x, Value positions) {
    return xfmr::RopeOp::create(b, 
        loc, x, positions, b.getI64IntegerAttr(c.headDim()),
        b.getF32FloatAttr(c.ropeTheta),
        xfmr::RopeStyleAttr::get(b.getContext(), c.ropeStyle));
  }

};

} // namespace

// Defined with the GPT-2 builder below.
static std::pair<OwningOpRef<ModuleOp>, Block *>
createForward(MLIRContext *ctx, const ModelConfig &c, Location loc,
              OpBuilder &b);

OwningOpRef<ModuleOp> mixtile::buildLlamaModule(MLIRContext *ctx,
                                                const ModelConfig &c,
                                                WeightProvider weights,
                                                Location loc) {
  OpBuilder b(ctx);
  auto [module, body] = createForward(ctx, c, loc, b);
  LlamaEmitter emit(b, c, weights, loc);
  Value embeddings = emit.weight("tok_embeddings", {c.vocabSize, c.dim});
  Value x = xfmr::EmbeddingOp::create(b, loc, emit.act(c.dim), embeddings,
                                        body->getArgument(0),
                                        xfmr::PrecisionAttr());
  SmallVector<Value> outputs = {Value()};
  for (int64_t layer = 0; layer < c.nLayers; ++layer) {
    auto [next, k, v] =
        emit.block(layer, x, body->getArgument(1), body->getArgument(2),
                   body->getArgument(3 + 2 * layer),
                   body->getArgument(4 + 2 * layer));
    x = next;
    outputs.push_back(k);
    outputs.push_back(v);
  }
  x = emit.rmsNorm(x, "norm");
  // A tied head still gets its own weight op (keyed "output", pointing at the
  // embedding's data) so that it is a layer of its own in plans.
  outputs[0] = emit.linear(x, "output", c.vocabSize, c.dim);
  func::ReturnOp::create(b, loc, outputs);
  return std::move(module);
}

namespace {

/// Emits the ops of a GPT-2 forward pass.
class GPT2Emitter : public EmitterBase {
public:
  using EmitterBase::EmitterBase;
  /// A linear layer with bias; `name` + ".weight" / ".bias" are its keys.
  Value linear(Value x, const std::string &name, int64_t out, int64_t in) {
    Value w = weight(name + ".weight", {out, in});
    Value bias = weight(name + ".bias", {out});
    return xfmr::LinearOp::create(b, loc, act(out), x, w, bias,
                                  xfmr::PrecisionAttr());
  }
  Value layerNorm(Value x, const std::string &name) {
    return xfmr::LayerNormOp::create(b, loc, x,
                                     weight(name + ".weight", {c.dim}),
                                     weight(name + ".bias", {c.dim}),
                                     b.getF32FloatAttr(c.normEps));
  }

  std::tuple<Value, Value, Value> block(int64_t layer, Value x, Value start,
                                        Value kCache, Value vCache) {
    std::string p = "h." + std::to_string(layer) + ".";
    Value h = layerNorm(x, p + "ln_1");
    Value q = linear(h, p + "attn.q", c.dim, c.dim);
    Value k = linear(h, p + "attn.k", c.dim, c.dim);
    Value v = linear(h, p + "attn.v", c.dim, c.dim);
    xfmr::AttentionOp attention = this->attention(q, k, v, start, kCache,
                                                  vCache);
    Value o = linear(attention.getResult(), p + "attn.c_proj", c.dim, c.dim);
    x = xfmr::AddOp::create(b, loc, x, o);
    Value h2 = layerNorm(x, p + "ln_2");
    Value up = linear(h2, p + "mlp.c_fc", c.hiddenDim, c.dim);
    Value act = xfmr::GeluOp::create(
        b, loc, up, xfmr::GeluApproximationAttr::get(b.getContext(), c.gelu));
    Value down = linear(act, p + "mlp.c_proj", c.dim, c.hiddenDim);
    x = xfmr::AddOp::create(b, loc, x, down);
    return {x, attention.getUpdatedCaches()[0],
            attention.getUpdatedCaches()[1]};
  }

};

} // namespace

/// Creates the module, its config attribute and an empty @forward with the
/// shared calling convention; returns the entry block.
static std::pair<OwningOpRef<ModuleOp>, Block *>
createForward(MLIRContext *ctx, const ModelConfig &c, Location loc,
              OpBuilder &b) {
  ctx->loadDialect<xfmr::XfmrDialect, func::FuncDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr(kConfigAttrName, configAttr(b, c));
  b.setInsertionPointToEnd(module->getBody());
  auto tokensType = RankedTensorType::get({ShapedType::kDynamic},
                                          b.getI32Type());
  auto cacheType = RankedTensorType::get({c.maxSeqLen, c.kvDim()},
                                         b.getF32Type());
  SmallVector<Type> inputs = {tokensType, tokensType, b.getIndexType()};
  SmallVector<Type> results = {RankedTensorType::get(
      {ShapedType::kDynamic, c.vocabSize}, b.getF32Type())};
  for (int64_t i = 0; i < 2 * c.nLayers; ++i) {
    inputs.push_back(cacheType);
    results.push_back(cacheType);
  }
  auto func = func::FuncOp::create(b, loc, "forward",
                                   b.getFunctionType(inputs, results));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  return {std::move(module), body};
}

OwningOpRef<ModuleOp> mixtile::buildGPT2Module(MLIRContext *ctx,
                                               const ModelConfig &c,
                                               WeightProvider weights,
                                               Location loc) {
  OpBuilder b(ctx);
  auto [module, body] = createForward(ctx, c, loc, b);
  GPT2Emitter emit(b, c, weights, loc);
  Value tokens = xfmr::EmbeddingOp::create(
      b, loc, emit.act(c.dim), emit.weight("wte", {c.vocabSize, c.dim}),
      body->getArgument(0), xfmr::PrecisionAttr());
  Value positions = xfmr::EmbeddingOp::create(
      b, loc, emit.act(c.dim), emit.weight("wpe", {c.maxSeqLen, c.dim}),
      body->getArgument(1), xfmr::PrecisionAttr());
  Value x = xfmr::AddOp::create(b, loc, tokens, positions);
  SmallVector<Value> outputs = {Value()};
  for (int64_t layer = 0; layer < c.nLayers; ++layer) {
    auto [next, k, v] =
        emit.block(layer, x, body->getArgument(2),
                   body->getArgument(3 + 2 * layer),
                   body->getArgument(4 + 2 * layer));
    x = next;
    outputs.push_back(k);
    outputs.push_back(v);
  }
  x = emit.layerNorm(x, "ln_f");
  Value head = emit.weight("output", {c.vocabSize, c.dim});
  outputs[0] = xfmr::LinearOp::create(b, loc, emit.act(c.vocabSize), x, head,
                                      Value(), xfmr::PrecisionAttr());
  func::ReturnOp::create(b, loc, outputs);
  return std::move(module);
}

OwningOpRef<ModuleOp> mixtile::buildModule(MLIRContext *ctx,
                                           const ModelConfig &config,
                                           WeightProvider weights,
                                           Location loc) {
  if (config.arch == "gpt2")
    return buildGPT2Module(ctx, config, weights, loc);
  return buildLlamaModule(ctx, config, weights, loc);
}
