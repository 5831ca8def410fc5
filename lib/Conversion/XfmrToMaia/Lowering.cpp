//===- Lowering.cpp - precision-annotated xfmr to a Maia program ----------===//
//
// Walks @forward in program order and emits one phase per op. Activations
// live in HBM as f32 matrices between phases; weights are quantized here,
// with the Numerics library, into the codes and scales their records name.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Conversion/XfmrToMaia/Lowering.h"
#include "Kernels.h"
#include "ProgramEmitter.h"
#include "RowProducts.h"

#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Evaluator/Kernels.h"
#include "mixtile/Evaluator/PrecisionSchemes.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Numerics/BlockQuant.h"
#include "mixtile/Numerics/Packing.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace mixtile;
using namespace mixtile::maia_lowering;
using llvm::Error;
using llvm::Expected;

namespace {

Error opError(Operation *op, const llvm::Twine &message) {
  std::string layer = xfmr::getLayerName(op);
  return llvm::createStringError(
      "convert-xfmr-to-maia: '" + op->getName().getStringRef() + "'" +
      (layer.empty() ? "" : " (" + layer + ")") + ": " + message);
}

std::vector<uint8_t> floatBytes(llvm::ArrayRef<float> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

/// The ISA's spelling of how a scheme scales: weights keep one scale per
/// tensor; activations are scaled row by row (one token at a time, as the
/// evaluator does).
ScaleMode scaleModeOf(const numerics::QuantScheme &scheme, bool perRow) {
  switch (scheme.scale) {
  case numerics::ScaleKind::None:
    return ScaleMode::None;
  case numerics::ScaleKind::TensorF32:
    return perRow ? ScaleMode::Rows : ScaleMode::Tensor;
  case numerics::ScaleKind::BlockE8M0:
    return ScaleMode::MX;
  case numerics::ScaleKind::BlockE4M3WithTensorF32:
    return perRow ? ScaleMode::NVFP4Rows : ScaleMode::NVFP4;
  }
  llvm_unreachable("unknown scale kind");
}

/// Weights a one-token run's products stream per chunk and ring slot: large
/// enough that the DMAs of a few chunks cover the HBM latency on the ring's
/// queues, small enough that the slots fit next to the largest phase's
/// scratch. Measured best of 96 to 192 KiB with 3 to 6 slots on a
/// Llama-3-8B decode step (mixtile-bench-maia-decode).
constexpr uint64_t kWeightChunkBytes = 144 * 1024;
/// Slots of the persistent weight ring (fewer when TSRAM is short).
constexpr unsigned kWeightRingSlots = 4;

/// A row-product group of the IR: the ops it replaces and the kernel's
/// description (weights placed; activations filled in when it is emitted).
struct PlannedGroup {
  Operation *first = nullptr;
  xfmr::RMSNormOp norm;
  llvm::SmallVector<xfmr::LinearOp, 3> linears;
  /// The op whose result the epilogue writes (Residual: the add, SiluMul:
  /// the mul).
  Operation *last = nullptr;
  Value residual;
  /// Store epilogue, per linear: a rope fused in, and the attention whose
  /// KV cache row of the position receives the result (as its key or
  /// value), if any.
  llvm::SmallVector<xfmr::RopeOp, 3> ropes;
  llvm::SmallVector<xfmr::AttentionOp, 3> cacheUsers;
  RowProductGroup group;
  RowProductPlan plan;
};

class ForwardLowering {
public:
  ForwardLowering(ModuleOp module, WeightStore &store,
                  const TargetModel &target, const MaiaLoweringOptions &options)
      : module(module), store(store), options(options),
        emitter(target, options.tiles) {}

  Expected<MaiaLoweredProgram> run();

private:
  Error lower(Operation *op);
  Error lowerEmbedding(xfmr::EmbeddingOp op);
  Error lowerRMSNorm(xfmr::RMSNormOp op);
  Error lowerLinear(xfmr::LinearOp op);
  Error lowerRope(xfmr::RopeOp op);
  Error lowerAttention(xfmr::AttentionOp op);
  Error lowerElementwise(Operation *op, Elementwise kind);

  /// Finds the row-product groups of a one-token run and places their
  /// weights; sets up the weight rings.
  Error planRowProductGroups(func::FuncOp forward);
  std::optional<PlannedGroup> matchGroup(Operation *op);
  Error placeGroupWeights(PlannedGroup &planned);
  Error setUpWeightRings();
  Error lowerGroup(PlannedGroup &planned);
  /// Fuses the rope and the KV cache store that follow a Store group's
  /// products.
  void matchStoreEpilogues(PlannedGroup &g, func::FuncOp forward);
  /// The cos and sin tables of `op` at the run's positions (f32 [tokens,
  /// features / 2] each, in one HBM buffer): the buffer and the byte offset
  /// of the sin table.
  Expected<std::pair<uint32_t, uint64_t>> ropeTables(xfmr::RopeOp op,
                                                     int64_t features);
  /// The key and value caches of `op`, placed on first use.
  Expected<std::array<HbmMatrix, 2>> cachesOf(xfmr::AttentionOp op);

  /// A new f32 activation matrix for `value` with `rows` rows.
  Expected<HbmMatrix> define(Value value, int64_t cols);
  Expected<HbmMatrix> lookup(Operation *op, Value value);
  /// The f32 data of a weight operand, and its shape.
  Expected<llvm::ArrayRef<float>> weightData(Operation *op, Value weight);
  /// A weight placed in HBM in `scheme` (f32 without one).
  Expected<HbmMatrix>
  placeWeight(Operation *op, Value weight,
              const std::optional<numerics::QuantScheme> &scheme);
  /// A 1-D f32 weight (norm scales, biases) in HBM.
  Expected<uint32_t> placeVector(Operation *op, Value weight);
  std::string nameOf(Value value);

  ModuleOp module;
  WeightStore &store;
  const MaiaLoweringOptions &options;
  ProgramEmitter emitter;
  int64_t tokens = 0;
  llvm::DenseMap<Value, HbmMatrix> values;
  llvm::DenseMap<Value, uint32_t> vectors;
  /// Cache buffers by @forward argument.
  llvm::DenseMap<Value, HbmMatrix> caches;
  std::optional<uint32_t> causalMask;
  std::vector<PlannedGroup> groups;
  /// The group of every op a group replaces.
  llvm::DenseMap<Operation *, size_t> groupOf;
  /// One per stream, when the rings outlive their phases.
  std::vector<WeightRing> rings;
  /// TSRAM the program's other phases need at most.
  uint64_t otherPhaseBytes = 0;
  /// Attention keys and values a group stored into the caches already.
  llvm::DenseSet<Value> storedInCache;
  llvm::DenseMap<Operation *, std::array<HbmMatrix, 2>> kvCaches;
  MaiaLoweredProgram result;
  unsigned counter = 0;
};

/// `name` with every character a buffer name cannot hold replaced by '_'.
std::string bufferName(llvm::StringRef name) {
  std::string result = name.str();
  for (char &c : result)
    if (!llvm::isAlnum(c) && c != '_' && c != '.')
      c = '_';
  if (result.empty() || llvm::isDigit(result[0]) || result[0] == '.')
    result.insert(0, "v");
  return result;
}

std::string ForwardLowering::nameOf(Value value) {
  std::string base = "arg";
  if (auto weight = value.getDefiningOp<xfmr::WeightOp>())
    base = weight.getKey().str();
  else if (Operation *op = value.getDefiningOp())
    base = xfmr::getLayerName(op) + "." + op->getName().stripDialect().str();
  return bufferName(base + "." + std::to_string(counter++));
}

Expected<HbmMatrix> ForwardLowering::define(Value value, int64_t cols) {
  Expected<HbmMatrix> m = emitter.allocateF32(nameOf(value), tokens, cols);
  if (m)
    values[value] = *m;
  return m;
}

Expected<HbmMatrix> ForwardLowering::lookup(Operation *op, Value value) {
  auto it = values.find(value);
  if (it == values.end())
    return opError(op, "an operand was not computed by a lowered op");
  return it->second;
}

Expected<llvm::ArrayRef<float>> ForwardLowering::weightData(Operation *op,
                                                            Value weight) {
  auto w = weight.getDefiningOp<xfmr::WeightOp>();
  if (!w)
    return opError(op, "weights must come from xfmr.weight");
  Expected<llvm::ArrayRef<float>> data = store.get(w);
  if (!data)
    return opError(op, llvm::toString(data.takeError()));
  return *data;
}

Expected<HbmMatrix> ForwardLowering::placeWeight(
    Operation *op, Value weight,
    const std::optional<numerics::QuantScheme> &scheme) {
  auto type = cast<RankedTensorType>(weight.getType());
  HbmMatrix m;
  m.rows = type.getDimSize(0);
  m.cols = type.getDimSize(1);
  if (scheme) {
    m.format = scheme->element;
    m.mode = scaleModeOf(*scheme, /*perRow=*/false);
    m.block = scheme->blockSize;
  }
  if (!maia::getTensorBytes(m.format, 1, m.cols))
    return opError(op, "rows of " + llvm::Twine(m.cols) + " " +
                           std::string(numerics::getFormatInfo(m.format).name) +
                           " codes do not fill whole bytes");
  std::string name = bufferName(xfmr::getLayerName(op));
  Expected<uint32_t> codes = emitter.allocateHbm(
      name + ".codes", m.rows * rowBytes(m.format, m.cols), m.format);
  if (!codes)
    return opError(op, llvm::toString(codes.takeError()));
  m.codes = *codes;
  if (m.mode != ScaleMode::None) {
    Expected<uint32_t> scales = emitter.allocateHbm(
        name + ".scales", *maia::getScaleBytes(m.mode, m.block, m.rows, m.cols),
        maia::getScaleBufferFormat(m.mode));
    if (!scales)
      return opError(op, llvm::toString(scales.takeError()));
    m.scales = *scales;
  }
  if (!options.withWeights)
    return m;
  Expected<llvm::ArrayRef<float>> data = weightData(op, weight);
  if (!data)
    return data.takeError();
  if (!scheme) {
    emitter.addData(m.codes, floatBytes(*data));
    return m;
  }
  numerics::QuantizedMatrix q =
      numerics::quantize(data->data(), m.rows, m.cols, *scheme);
  unsigned bits = numerics::getFormatInfo(m.format).bits;
  emitter.addData(m.codes, bits < 8 ? numerics::packCodes(q.codes, bits)
                                    : std::move(q.codes));
  std::vector<uint8_t> scales;
  if (m.mode == ScaleMode::Tensor || m.mode == ScaleMode::NVFP4)
    scales = floatBytes({q.tensorScale});
  llvm::append_range(scales, q.blockScales);
  emitter.addData(m.scales, std::move(scales));
  return m;
}

Expected<uint32_t> ForwardLowering::placeVector(Operation *op, Value weight) {
  if (auto it = vectors.find(weight); it != vectors.end())
    return it->second;
  auto type = cast<RankedTensorType>(weight.getType());
  Expected<uint32_t> buffer = emitter.allocateHbm(
      nameOf(weight), type.getNumElements() * 4, FloatFormat::F32);
  if (!buffer)
    return opError(op, llvm::toString(buffer.takeError()));
  if (options.withWeights) {
    Expected<llvm::ArrayRef<float>> data = weightData(op, weight);
    if (!data)
      return data.takeError();
    emitter.addData(*buffer, floatBytes(*data));
  }
  vectors[weight] = *buffer;
  return *buffer;
}

Error ForwardLowering::lowerEmbedding(xfmr::EmbeddingOp op) {
  Expected<OperandSchemes> schemes = getOperandSchemes(op.getPrecisionRecord());
  if (!schemes)
    return opError(op, llvm::toString(schemes.takeError()));
  auto type = cast<RankedTensorType>(op.getTable().getType());
  int64_t vocab = type.getDimSize(0), dim = type.getDimSize(1);
  // The table is rounded to its format here, as the evaluator does once;
  // rows travel as f32.
  Expected<HbmMatrix> table = emitter.allocateF32(
      bufferName(xfmr::getLayerName(op) + ".table"), vocab, dim);
  if (!table)
    return opError(op, llvm::toString(table.takeError()));
  std::vector<int64_t> rows(tokens, 0);
  if (options.withWeights) {
    Expected<llvm::ArrayRef<float>> data = weightData(op, op.getTable());
    if (!data)
      return data.takeError();
    std::vector<float> rounded(data->begin(), data->end());
    if (schemes->weights)
      numerics::fakeQuantize(data->data(), rounded.data(), vocab, dim,
                             *schemes->weights);
    emitter.addData(table->codes, floatBytes(rounded));
    for (int64_t i = 0; i < tokens; ++i) {
      int32_t token = options.tokens[i];
      if (token < 0 || token >= vocab)
        return opError(op, "token id " + llvm::Twine(token) +
                               " is out of range [0, " + llvm::Twine(vocab) +
                               ")");
      rows[i] = token;
    }
  }
  Expected<HbmMatrix> y = define(op.getResult(), dim);
  if (!y)
    return opError(op, llvm::toString(y.takeError()));
  if (Error err = emitGatherRows(emitter, *table, rows, *y))
    return opError(op, llvm::toString(std::move(err)));
  return Error::success();
}

Error ForwardLowering::lowerRMSNorm(xfmr::RMSNormOp op) {
  Expected<HbmMatrix> x = lookup(op, op.getInput());
  if (!x)
    return x.takeError();
  Expected<uint32_t> w = placeVector(op, op.getWeight());
  if (!w)
    return w.takeError();
  Expected<HbmMatrix> y = define(op.getResult(), x->cols);
  if (!y)
    return opError(op, llvm::toString(y.takeError()));
  if (Error err =
          emitRMSNorm(emitter, *x, *w, op.getEpsilon().convertToFloat(), *y))
    return opError(op, llvm::toString(std::move(err)));
  return Error::success();
}

Error ForwardLowering::lowerLinear(xfmr::LinearOp op) {
  Expected<OperandSchemes> schemes = getOperandSchemes(op.getPrecisionRecord());
  if (!schemes)
    return opError(op, llvm::toString(schemes.takeError()));
  Expected<HbmMatrix> x = lookup(op, op.getInput());
  if (!x)
    return x.takeError();
  if (const std::optional<numerics::QuantScheme> &a = schemes->activations) {
    if (!maia::getTensorBytes(a->element, 1, x->cols))
      return opError(op, "activation rows do not fill whole bytes");
    Expected<HbmMatrix> q = emitQuantizeRows(
        emitter, *x, a->element, scaleModeOf(*a, /*perRow=*/true), a->blockSize,
        bufferName(xfmr::getLayerName(op) + ".input"));
    if (!q)
      return opError(op, llvm::toString(q.takeError()));
    x = *q;
  }
  Expected<HbmMatrix> w = placeWeight(op, op.getWeight(), schemes->weights);
  if (!w)
    return w.takeError();
  std::optional<uint32_t> bias;
  if (op.getBias()) {
    Expected<uint32_t> b = placeVector(op, op.getBias());
    if (!b)
      return b.takeError();
    bias = *b;
  }
  Expected<HbmMatrix> y = define(op.getResult(), w->rows);
  if (!y)
    return opError(op, llvm::toString(y.takeError()));
  if (Error err = emitLinear(emitter, *x, *w, bias, *y))
    return opError(op, llvm::toString(std::move(err)));
  return Error::success();
}

Error ForwardLowering::lowerRope(xfmr::RopeOp op) {
  auto forward = op->getParentOfType<func::FuncOp>();
  if (op.getPositions() != forward.getArgument(1))
    return opError(op, "positions must be @forward's positions argument");
  Expected<HbmMatrix> x = lookup(op, op.getInput());
  if (!x)
    return x.takeError();
  int64_t features = x->cols;
  Expected<std::pair<uint32_t, uint64_t>> tables = ropeTables(op, features);
  if (!tables)
    return tables.takeError();
  Expected<HbmMatrix> y = define(op.getResult(), features);
  if (!y)
    return opError(op, llvm::toString(y.takeError()));
  if (Error err = emitRope(emitter, *x, {tables->first, 0},
                           {tables->first, tables->second}, op.getHeadDim(),
                           op.getStyle() == xfmr::RopeStyle::interleaved, *y))
    return opError(op, llvm::toString(std::move(err)));
  return Error::success();
}

Expected<std::pair<uint32_t, uint64_t>>
ForwardLowering::ropeTables(xfmr::RopeOp op, int64_t features) {
  int64_t hd = op.getHeadDim(), half = features / 2;
  // cos and sin of every (row, pair) of the run, pairs repeated per head.
  std::vector<float> cos(tokens * half), sin(tokens * half);
  float theta = op.getTheta().convertToFloat();
  for (int64_t s = 0; s < tokens; ++s)
    for (int64_t p = 0; p < half; ++p) {
      float angle =
          kernels::ropeAngle(options.start + s, p % (hd / 2), hd, theta);
      cos[s * half + p] = std::cos(angle);
      sin[s * half + p] = std::sin(angle);
    }
  std::string name = bufferName(
      (xfmr::getLayerName(op) + ".rope." + llvm::Twine(counter++)).str());
  // One buffer, cos then sin, so that a kernel can load both in one DMA.
  Expected<uint32_t> table = emitter.allocateHbm(
      name + ".table", (cos.size() + sin.size()) * 4, FloatFormat::F32);
  if (!table)
    return opError(op, llvm::toString(table.takeError()));
  if (options.withWeights) {
    llvm::append_range(cos, sin);
    emitter.addData(*table, floatBytes(cos));
  }
  return std::make_pair(*table, uint64_t(sin.size()) * 4);
}

Expected<std::array<HbmMatrix, 2>>
ForwardLowering::cachesOf(xfmr::AttentionOp op) {
  if (auto it = kvCaches.find(op); it != kvCaches.end())
    return it->second;
  auto cacheType = cast<RankedTensorType>(op.getKeyCache().getType());
  int64_t maxSeq = cacheType.getDimSize(0),
          kvFeatures = cacheType.getDimSize(1);
  unsigned layer = result.keyCaches.size();
  std::array<HbmMatrix, 2> cache;
  const char *prefixes[] = {"k_cache.", "v_cache."};
  for (auto [c, prefix] : llvm::zip_equal(cache, prefixes)) {
    Expected<HbmMatrix> m = emitter.allocateF32(
        (prefix + llvm::Twine(layer)).str(), maxSeq, kvFeatures);
    if (!m)
      return opError(op, llvm::toString(m.takeError()));
    c = *m;
  }
  result.keyCaches.push_back(emitter.getProgram().buffers[cache[0].codes].name);
  result.valueCaches.push_back(
      emitter.getProgram().buffers[cache[1].codes].name);
  kvCaches[op] = cache;
  return cache;
}

Error ForwardLowering::lowerAttention(xfmr::AttentionOp op) {
  if (op.getPrecisionRecord())
    return opError(op, "precision records on attention are not lowered yet");
  if (!op.getKeyCache())
    return opError(op, "attention without a KV cache is not lowered yet");
  Expected<HbmMatrix> q = lookup(op, op.getQuery());
  if (!q)
    return q.takeError();
  int64_t maxSeq =
      cast<RankedTensorType>(op.getKeyCache().getType()).getDimSize(0);
  if (options.start + tokens > maxSeq)
    return opError(op, "positions [" + llvm::Twine(options.start) + ", " +
                           llvm::Twine(options.start + tokens) +
                           ") do not fit the cache of " + llvm::Twine(maxSeq));
  Expected<std::array<HbmMatrix, 2>> caches = cachesOf(op);
  if (!caches)
    return caches.takeError();
  const std::array<HbmMatrix, 2> &cache = *caches;
  int64_t keys = options.start + tokens;
  // The new keys and values, unless the products that computed them
  // stored them there.
  for (auto [value, c] : llvm::zip_equal(
           std::array<Value, 2>{op.getKey(), op.getValue()}, cache)) {
    if (storedInCache.count(value))
      continue;
    Expected<HbmMatrix> rows = lookup(op, value);
    if (!rows)
      return rows.takeError();
    if (Error err = emitStoreRows(emitter, *rows, c, options.start))
      return opError(op, llvm::toString(std::move(err)));
  }
  // One causal mask serves every layer: 0 where key t is visible from
  // query row s (t <= start + s), -inf where not.
  if (op.getCausal() && tokens > 1 && !causalMask) {
    Expected<uint32_t> mask =
        emitter.allocateHbm("causal_mask", tokens * keys * 4, FloatFormat::F32);
    if (!mask)
      return opError(op, llvm::toString(mask.takeError()));
    if (options.withWeights) {
      std::vector<float> values(tokens * keys, 0.0f);
      for (int64_t s = 0; s < tokens; ++s)
        for (int64_t t = options.start + s + 1; t < keys; ++t)
          values[s * keys + t] = -std::numeric_limits<float>::infinity();
      emitter.addData(*mask, floatBytes(values));
    }
    causalMask = *mask;
  }
  Expected<HbmMatrix> out = define(op.getResult(), q->cols);
  if (!out)
    return opError(op, llvm::toString(out.takeError()));
  if (Error err = emitAttention(emitter, *q, cache[0], cache[1], keys,
                                options.start, op.getNHeads(), op.getNKvHeads(),
                                op.getHeadDim(), op.getEffectiveScale(),
                                op.getCausal(), *out, causalMask.value_or(0)))
    return opError(op, llvm::toString(std::move(err)));
  return Error::success();
}

Error ForwardLowering::lowerElementwise(Operation *op, Elementwise kind) {
  Expected<HbmMatrix> a = lookup(op, op->getOperand(0));
  if (!a)
    return a.takeError();
  std::optional<HbmMatrix> b;
  if (kind != Elementwise::Silu) {
    Expected<HbmMatrix> rhs = lookup(op, op->getOperand(1));
    if (!rhs)
      return rhs.takeError();
    b = *rhs;
  }
  Expected<HbmMatrix> y = define(op->getResult(0), a->cols);
  if (!y)
    return opError(op, llvm::toString(y.takeError()));
  if (Error err = emitElementwise(emitter, kind, *a, b ? &*b : nullptr, *y))
    return opError(op, llvm::toString(std::move(err)));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Row-product groups (one-token runs)
//===----------------------------------------------------------------------===//

/// The users of `value` if all are linear layers reading it as their input,
/// in program order.
std::optional<llvm::SmallVector<xfmr::LinearOp, 3>>
linearUsers(Value value, const llvm::DenseMap<Operation *, size_t> &taken) {
  llvm::SmallVector<xfmr::LinearOp, 3> linears;
  for (Operation *user : value.getUsers()) {
    auto linear = dyn_cast<xfmr::LinearOp>(user);
    if (!linear || linear.getInput() != value || taken.count(linear) ||
        linear.getBias() == value)
      return std::nullopt;
    if (!llvm::is_contained(linears, linear))
      linears.push_back(linear);
  }
  llvm::sort(linears, [](xfmr::LinearOp a, xfmr::LinearOp b) {
    return a->isBeforeInBlock(b);
  });
  return linears;
}

/// The single user of `value`, if it has exactly one use.
Operation *soleUser(Value value) {
  return value.hasOneUse() ? *value.getUsers().begin() : nullptr;
}

std::optional<PlannedGroup> ForwardLowering::matchGroup(Operation *op) {
  PlannedGroup g;
  g.first = op;
  std::optional<llvm::SmallVector<xfmr::LinearOp, 3>> linears;
  if (auto norm = dyn_cast<xfmr::RMSNormOp>(op)) {
    g.norm = norm;
    linears = linearUsers(norm.getResult(), groupOf);
  } else if (auto linear = dyn_cast<xfmr::LinearOp>(op)) {
    // Siblings: the other linear layers of the same input. An input with
    // other users (a residual stream) groups only this layer.
    linears = linearUsers(linear.getInput(), groupOf);
    if (!linears)
      linears = llvm::SmallVector<xfmr::LinearOp, 3>{linear};
  }
  if (!linears || linears->empty() || (!g.norm && linears->front() != op))
    return std::nullopt;
  g.linears = std::move(*linears);
  auto definedBeforeGroup = [&](Value v) {
    Operation *def = v.getDefiningOp();
    return def && def->getBlock() == op->getBlock() && def->isBeforeInBlock(op);
  };
  // silu(gate) * up.
  if (g.linears.size() == 2)
    for (bool swap : {false, true}) {
      xfmr::LinearOp gate = g.linears[swap], up = g.linears[!swap];
      auto silu = dyn_cast_or_null<xfmr::SiluOp>(soleUser(gate.getResult()));
      if (!silu)
        continue;
      auto mul = dyn_cast_or_null<xfmr::MulOp>(soleUser(silu.getResult()));
      if (!mul || soleUser(up.getResult()) != mul)
        continue;
      g.linears = {gate, up};
      g.last = mul;
      g.group.epilogue = RowEpilogue::SiluMul;
      g.group.siluFirst = mul.getLhs() == silu.getResult();
      return g;
    }
  // residual + product.
  if (g.linears.size() == 1)
    if (auto add =
            dyn_cast_or_null<xfmr::AddOp>(soleUser(g.linears[0].getResult()))) {
      bool first = add.getRhs() == g.linears[0].getResult();
      Value residual = first ? add.getLhs() : add.getRhs();
      if (residual != g.linears[0].getResult() &&
          definedBeforeGroup(residual)) {
        g.last = add;
        g.residual = residual;
        g.group.epilogue = RowEpilogue::Residual;
        g.group.residualFirst = first;
      }
    }
  if (g.group.epilogue == RowEpilogue::Store)
    matchStoreEpilogues(g, op->getParentOfType<func::FuncOp>());
  return g;
}

void ForwardLowering::matchStoreEpilogues(PlannedGroup &g,
                                          func::FuncOp forward) {
  for (xfmr::LinearOp linear : g.linears) {
    Value result = linear.getResult();
    auto rope = dyn_cast_or_null<xfmr::RopeOp>(soleUser(result));
    if (rope && (rope.getInput() != result ||
                 rope.getPositions() != forward.getArgument(1)))
      rope = nullptr;
    if (rope)
      result = rope.getResult();
    // A new key or value goes straight to its cache row.
    auto attention = dyn_cast_or_null<xfmr::AttentionOp>(soleUser(result));
    if (attention) {
      bool fits =
          attention.getKeyCache() && !attention.getPrecisionRecord() &&
          attention.getQuery() != result &&
          (attention.getKey() == result) != (attention.getValue() == result);
      if (fits) {
        auto type = cast<RankedTensorType>(attention.getKeyCache().getType());
        auto weight = cast<RankedTensorType>(linear.getWeight().getType());
        fits = options.start + tokens <= type.getDimSize(0) &&
               type.getDimSize(1) == weight.getDimSize(0);
      }
      if (!fits)
        attention = nullptr;
    }
    g.ropes.push_back(rope);
    g.cacheUsers.push_back(attention);
  }
}

Error ForwardLowering::placeGroupWeights(PlannedGroup &planned) {
  RowProductGroup &group = planned.group;
  if (planned.norm) {
    Expected<uint32_t> w = placeVector(planned.norm, planned.norm.getWeight());
    if (!w)
      return w.takeError();
    group.normWeight = *w;
    group.epsilon = planned.norm.getEpsilon().convertToFloat();
  }
  for (xfmr::LinearOp op : planned.linears) {
    Expected<OperandSchemes> schemes =
        getOperandSchemes(op.getPrecisionRecord());
    if (!schemes)
      return opError(op, llvm::toString(schemes.takeError()));
    RowProduct p;
    if (const std::optional<numerics::QuantScheme> &a = schemes->activations) {
      auto type = cast<RankedTensorType>(op.getWeight().getType());
      if (!maia::getTensorBytes(a->element, 1, type.getDimSize(1)))
        return opError(op, "activation rows do not fill whole bytes");
      p.input = {a->element, scaleModeOf(*a, /*perRow=*/true), a->blockSize};
    }
    Expected<HbmMatrix> w = placeWeight(op, op.getWeight(), schemes->weights);
    if (!w)
      return w.takeError();
    p.w = *w;
    if (op.getBias()) {
      Expected<uint32_t> b = placeVector(op, op.getBias());
      if (!b)
        return b.takeError();
      p.bias = *b;
    }
    // The rope's tables are placed when the group is emitted; the plan
    // needs its pairs.
    size_t j = group.products.size();
    if (j < planned.ropes.size() && planned.ropes[j]) {
      xfmr::RopeOp rope = planned.ropes[j];
      p.rope =
          RowProduct::Rope{0, 0, int64_t(rope.getHeadDim()),
                           rope.getStyle() == xfmr::RopeStyle::interleaved};
    }
    group.products.push_back(p);
  }
  planned.plan = planRowProducts(group, emitter.numTiles(), kWeightChunkBytes);
  return Error::success();
}

Error ForwardLowering::planRowProductGroups(func::FuncOp forward) {
  // Products of one row stream their weights; larger ones have the
  // kernels of emitLinear.
  if (tokens != 1)
    return Error::success();
  int64_t widest = 0;
  for (Operation &op : forward.getBody().front()) {
    if (groupOf.count(&op))
      continue;
    for (Value v : op.getResults())
      if (auto type = dyn_cast<RankedTensorType>(v.getType()))
        widest = std::max(widest, type.getShape().back());
    if (auto attention = dyn_cast<xfmr::AttentionOp>(&op))
      otherPhaseBytes = std::max(
          otherPhaseBytes, attentionTsramBytes(options.start + tokens,
                                               attention.getHeadDim(), tokens));
    std::optional<PlannedGroup> planned = matchGroup(&op);
    if (!planned)
      continue;
    for (Operation *member : {planned->first, planned->last})
      if (member)
        groupOf[member] = groups.size();
    for (xfmr::RopeOp rope : planned->ropes)
      if (rope)
        groupOf[rope] = groups.size();
    for (xfmr::LinearOp linear : planned->linears) {
      groupOf[linear] = groups.size();
      if (planned->group.epilogue == RowEpilogue::SiluMul &&
          linear == planned->linears[0])
        groupOf[soleUser(linear.getResult())] = groups.size();
    }
    if (Error err = placeGroupWeights(*planned))
      return err;
    groups.push_back(std::move(*planned));
  }
  // The row-wise kernels of one row: a few rows of the widest activation.
  otherPhaseBytes = std::max<uint64_t>(otherPhaseBytes, 8 * widest * 4 + 4096);
  return setUpWeightRings();
}

Error ForwardLowering::setUpWeightRings() {
  if (groups.empty())
    return Error::success();
  // A ring that outlives the phases needs every other phase to fit below
  // it; only products that all stream their weights leave enough room.
  bool everyLinearGrouped = true;
  module.walk(
      [&](xfmr::LinearOp op) { everyLinearGrouped &= groupOf.count(op) > 0; });
  uint64_t slot = 0;
  for (const PlannedGroup &g : groups)
    for (unsigned i = 0; i < emitter.numTiles(); ++i)
      for (const WeightChunk &c : weightChunks(g.group, g.plan, i))
        slot = std::max(slot, slotBytes(c));
  const TargetModel &target = emitter.getTarget();
  uint64_t capacity = target.tsramBytesPerTile;
  uint64_t room = capacity > otherPhaseBytes ? capacity - otherPhaseBytes : 0;
  unsigned slots = std::min<uint64_t>(kWeightRingSlots, room / slot);
  if (!everyLinearGrouped || slots < 2)
    return Error::success();
  Expected<uint64_t> base = emitter.reservePersistentTsram(slots * slot);
  if (!base)
    return base.takeError();
  for (unsigned i = 0; i < emitter.numTiles(); ++i) {
    rings.emplace_back(emitter, i);
    for (const PlannedGroup &g : groups)
      rings[i].append(weightChunks(g.group, g.plan, i));
    rings[i].setSlots(emitter.persistentTsram(i), slots, slot,
                      /*carry=*/true,
                      ringQueues(target, emitter.stream(i).tile()));
    // The first weights load while the embedding runs.
    rings[i].fill(slots);
    emitter.stream(i).setQueues(activationQueues(target));
  }
  // Phases without weights keep the rings full.
  emitter.setIdleWork(
      [this](unsigned i) { rings[i].fill(rings[i].numSlots()); });
  return Error::success();
}

Error ForwardLowering::lowerGroup(PlannedGroup &planned) {
  RowProductGroup &group = planned.group;
  Value input = planned.norm ? planned.norm.getInput()
                             : planned.linears.front().getInput();
  Expected<HbmMatrix> x = lookup(planned.first, input);
  if (!x)
    return x.takeError();
  group.x = *x;
  if (planned.residual) {
    Expected<HbmMatrix> r = lookup(planned.last, planned.residual);
    if (!r)
      return r.takeError();
    group.residual = *r;
  }
  if (planned.last) {
    Expected<HbmMatrix> out =
        define(planned.last->getResult(0), group.products.back().w.rows);
    if (!out)
      return opError(planned.last, llvm::toString(out.takeError()));
    group.out = *out;
  } else {
    for (auto [j, p] : llvm::enumerate(group.products)) {
      xfmr::LinearOp op = planned.linears[j];
      Value result = op.getResult();
      if (xfmr::RopeOp rope = planned.ropes[j]) {
        Expected<std::pair<uint32_t, uint64_t>> tables =
            ropeTables(rope, p.w.rows);
        if (!tables)
          return tables.takeError();
        std::tie(p.rope->table, p.rope->sinOffset) = *tables;
        result = rope.getResult();
      }
      if (xfmr::AttentionOp attention = planned.cacheUsers[j]) {
        Expected<std::array<HbmMatrix, 2>> caches = cachesOf(attention);
        if (!caches)
          return caches.takeError();
        p.y = (*caches)[attention.getValue() == result];
        p.yRow = options.start;
        storedInCache.insert(result);
        continue;
      }
      Expected<HbmMatrix> y = define(result, p.w.rows);
      if (!y)
        return opError(op, llvm::toString(y.takeError()));
      p.y = *y;
    }
  }
  WeightRingPolicy policy;
  Error err = Error::success();
  if (!rings.empty()) {
    err = emitRowProducts(emitter, group, planned.plan, rings, policy);
  } else {
    // Rings of this phase only, in its scratch.
    std::vector<WeightRing> local;
    const TargetModel &target = emitter.getTarget();
    for (unsigned i = 0; i < emitter.numTiles(); ++i) {
      local.emplace_back(emitter, i);
      std::vector<WeightChunk> chunks = weightChunks(group, planned.plan, i);
      uint64_t slot = 64;
      for (const WeightChunk &c : chunks)
        slot = std::max(slot, slotBytes(c));
      Expected<BufferRef> base =
          emitter.allocateTsram(i, 2 * slot, FloatFormat::F32);
      if (!base)
        return opError(planned.first, llvm::toString(base.takeError()));
      local[i].append(chunks);
      local[i].setSlots(*base, 2, slot, /*carry=*/false,
                        ringQueues(target, emitter.stream(i).tile()));
    }
    err = emitRowProducts(emitter, group, planned.plan, local, policy);
  }
  if (err)
    return opError(planned.first, llvm::toString(std::move(err)));
  return Error::success();
}

Error ForwardLowering::lower(Operation *op) {
  if (auto it = groupOf.find(op); it != groupOf.end())
    return groups[it->second].first == op ? lowerGroup(groups[it->second])
                                          : Error::success();
  return llvm::TypeSwitch<Operation *, Error>(op)
      .Case([&](xfmr::WeightOp) { return Error::success(); })
      .Case([&](xfmr::EmbeddingOp o) { return lowerEmbedding(o); })
      .Case([&](xfmr::RMSNormOp o) { return lowerRMSNorm(o); })
      .Case([&](xfmr::LinearOp o) { return lowerLinear(o); })
      .Case([&](xfmr::RopeOp o) { return lowerRope(o); })
      .Case([&](xfmr::AttentionOp o) { return lowerAttention(o); })
      .Case(
          [&](xfmr::AddOp o) { return lowerElementwise(o, Elementwise::Add); })
      .Case(
          [&](xfmr::MulOp o) { return lowerElementwise(o, Elementwise::Mul); })
      .Case([&](xfmr::SiluOp o) {
        return lowerElementwise(o, Elementwise::Silu);
      })
      .Case([&](func::ReturnOp) { return Error::success(); })
      .Default([&](Operation *o) {
        return opError(o, "is not lowered to Maia yet");
      });
}

Expected<MaiaLoweredProgram> ForwardLowering::run() {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.getNumArguments() < 3 ||
      forward.getFunctionType().getNumResults() < 1)
    return llvm::createStringError(
        "convert-xfmr-to-maia: the module needs @forward(tokens, positions, "
        "start, caches...)");
  tokens = options.tokens.empty() ? options.numTokens
                                  : int64_t(options.tokens.size());
  if (tokens <= 0)
    return llvm::createStringError("convert-xfmr-to-maia: no tokens to run");
  if (options.withWeights && options.tokens.empty())
    return llvm::createStringError(
        "convert-xfmr-to-maia: a program with weights needs its token ids");
  if (Error err = planRowProductGroups(forward))
    return std::move(err);
  for (Operation &op : forward.getBody().front())
    if (Error err = lower(&op))
      return std::move(err);
  auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  Expected<HbmMatrix> logits = lookup(ret, ret.getOperand(0));
  if (!logits)
    return logits.takeError();
  maia::Buffer &buffer = emitter.getProgram().buffers[logits->codes];
  buffer.name = "logits";
  result.logits = buffer.name;
  result.numTokens = tokens;
  result.vocab = logits->cols;
  Expected<maia::Program> program = emitter.takeProgram();
  if (!program)
    return program.takeError();
  result.program = std::move(*program);
  return std::move(result);
}

} // namespace

Expected<MaiaLoweredProgram>
mixtile::lowerToMaia(ModuleOp module, WeightStore &store,
                     const TargetModel &target,
                     const MaiaLoweringOptions &options) {
  return ForwardLowering(module, store, target, options).run();
}

namespace {

/// An HBM matrix [rows, cols] of `f` named `name` (`name`.codes and
/// `name`.scales).
Expected<HbmMatrix> placeCoded(ProgramEmitter &emitter, llvm::StringRef name,
                               int64_t rows, int64_t cols,
                               const MaiaOperandFormat &f) {
  HbmMatrix mat;
  mat.format = f.format;
  mat.mode = f.mode;
  mat.block = f.block;
  mat.rows = rows;
  mat.cols = cols;
  std::optional<uint64_t> bytes = maia::getTensorBytes(f.format, rows, cols);
  std::optional<uint64_t> scales =
      maia::getScaleBytes(f.mode, f.block, rows, cols);
  if (!bytes || !scales)
    return llvm::createStringError("matmul: " + name +
                                   " rows do not fill whole bytes");
  Expected<uint32_t> codes =
      emitter.allocateHbm((name + ".codes").str(), *bytes, f.format);
  if (!codes)
    return codes.takeError();
  mat.codes = *codes;
  if (f.mode != ScaleMode::None) {
    Expected<uint32_t> s = emitter.allocateHbm(
        (name + ".scales").str(), *scales, maia::getScaleBufferFormat(f.mode));
    if (!s)
      return s.takeError();
    mat.scales = *s;
  }
  return mat;
}

/// f32 HBM matrices [rows, cols] named `names`, in order.
Expected<std::vector<HbmMatrix>>
placeF32(ProgramEmitter &emitter,
         llvm::ArrayRef<std::tuple<const char *, int64_t, int64_t>> names) {
  std::vector<HbmMatrix> result;
  for (auto [name, rows, cols] : names) {
    Expected<HbmMatrix> m = emitter.allocateF32(name, rows, cols);
    if (!m)
      return m.takeError();
    result.push_back(*m);
  }
  return result;
}

/// A standalone program: `emit` places the operands and emits the kernel.
template <typename Emit>
Expected<maia::Program> buildKernelProgram(const TargetModel &target,
                                           const MaiaKernelOptions &options,
                                           Emit emit) {
  ProgramEmitter emitter(target, options.tiles);
  if (Error err = emit(emitter))
    return std::move(err);
  return emitter.takeProgram();
}

} // namespace

Expected<maia::Program>
mixtile::buildMatmulProgram(const TargetModel &target, int64_t m, int64_t n,
                            int64_t k, const MaiaOperandFormat &x,
                            const MaiaOperandFormat &w,
                            const MaiaKernelOptions &options) {
  if (options.output != FloatFormat::F32 && options.output != FloatFormat::BF16)
    return llvm::createStringError("matmul: outputs are f32 or bf16");
  return buildKernelProgram(target, options, [&](ProgramEmitter &e) -> Error {
    Expected<HbmMatrix> xm = placeCoded(e, "x", m, k, x);
    if (!xm)
      return xm.takeError();
    Expected<HbmMatrix> wm = placeCoded(e, "w", n, k, w);
    if (!wm)
      return wm.takeError();
    std::optional<uint32_t> bias;
    if (options.bias) {
      Expected<uint32_t> b = e.allocateHbm("bias", n * 4, FloatFormat::F32);
      if (!b)
        return b.takeError();
      bias = *b;
    }
    Expected<uint32_t> yBuffer =
        e.allocateHbm("y", m * rowBytes(options.output, n), options.output);
    if (!yBuffer)
      return yBuffer.takeError();
    HbmMatrix y;
    y.codes = *yBuffer;
    y.format = options.output;
    y.rows = m;
    y.cols = n;
    return emitLinear(e, *xm, *wm, bias, y, options.kernel, options.cluster);
  });
}

Expected<maia::Program>
mixtile::buildMatmulProgram(const TargetModel &target, int64_t m, int64_t n,
                            int64_t k, const MaiaOperandFormat &x,
                            const MaiaOperandFormat &w, unsigned tiles) {
  MaiaKernelOptions options;
  options.tiles = tiles;
  return buildMatmulProgram(target, m, n, k, x, w, options);
}

Expected<maia::Program>
mixtile::buildRMSNormProgram(const TargetModel &target, int64_t rows,
                             int64_t cols, const MaiaKernelOptions &options) {
  return buildKernelProgram(target, options, [&](ProgramEmitter &e) -> Error {
    auto m = placeF32(
        e, {{"x", rows, cols}, {"weight", 1, cols}, {"y", rows, cols}});
    if (!m)
      return m.takeError();
    return emitRMSNorm(e, (*m)[0], (*m)[1].codes, 1e-5f, (*m)[2]);
  });
}

Expected<maia::Program> mixtile::buildElementwiseProgram(
    const TargetModel &target, ElementwiseKind kind, int64_t rows, int64_t cols,
    const MaiaKernelOptions &options) {
  return buildKernelProgram(target, options, [&](ProgramEmitter &e) -> Error {
    auto m =
        placeF32(e, {{"a", rows, cols}, {"b", rows, cols}, {"y", rows, cols}});
    if (!m)
      return m.takeError();
    bool unary = kind == ElementwiseKind::Silu;
    return emitElementwise(e, kind, (*m)[0], unary ? nullptr : &(*m)[1],
                           (*m)[2]);
  });
}

Expected<maia::Program>
mixtile::buildRopeProgram(const TargetModel &target, int64_t rows, int64_t cols,
                          int64_t headDim, bool interleaved,
                          const MaiaKernelOptions &options) {
  return buildKernelProgram(target, options, [&](ProgramEmitter &e) -> Error {
    auto m = placeF32(e, {{"x", rows, cols},
                          {"cos", rows, cols / 2},
                          {"sin", rows, cols / 2},
                          {"y", rows, cols}});
    if (!m)
      return m.takeError();
    return emitRope(e, (*m)[0], {(*m)[1].codes, 0}, {(*m)[2].codes, 0}, headDim,
                    interleaved, (*m)[3]);
  });
}

Expected<maia::Program>
mixtile::buildQuantizeProgram(const TargetModel &target, int64_t rows,
                              int64_t cols, const MaiaOperandFormat &format,
                              const MaiaKernelOptions &options) {
  return buildKernelProgram(target, options, [&](ProgramEmitter &e) -> Error {
    Expected<HbmMatrix> x = e.allocateF32("x", rows, cols);
    if (!x)
      return x.takeError();
    Expected<HbmMatrix> q =
        emitQuantizeRows(e, *x, format.format, format.mode, format.block, "q");
    return q ? Error::success() : q.takeError();
  });
}

Expected<maia::Program>
mixtile::buildAttentionProgram(const TargetModel &target,
                               const AttentionShape &shape,
                               const MaiaKernelOptions &options) {
  return buildKernelProgram(target, options, [&](ProgramEmitter &e) -> Error {
    int64_t features = shape.heads * shape.headDim,
            kvFeatures = shape.kvHeads * shape.headDim;
    auto m = placeF32(e, {{"q", shape.queries, features},
                          {"k_cache", shape.keys, kvFeatures},
                          {"v_cache", shape.keys, kvFeatures},
                          {"mask", shape.queries, shape.keys},
                          {"out", shape.queries, features}});
    if (!m)
      return m.takeError();
    float scale = 1.0f / std::sqrt(float(shape.headDim));
    return emitAttention(e, (*m)[0], (*m)[1], (*m)[2], shape.keys, shape.start,
                         shape.heads, shape.kvHeads, shape.headDim, scale,
                         shape.causal, (*m)[4], (*m)[3].codes);
  });
}

maia::ScaleMode mixtile::getMaiaScaleMode(const numerics::QuantScheme &scheme,
                                          bool perRow) {
  return scaleModeOf(scheme, perRow);
}
