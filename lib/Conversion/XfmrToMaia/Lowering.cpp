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
  int64_t hd = op.getHeadDim(), features = x->cols, half = features / 2;
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
  Expected<uint32_t> cosBuffer =
      emitter.allocateHbm(name + ".cos", cos.size() * 4, FloatFormat::F32);
  Expected<uint32_t> sinBuffer =
      emitter.allocateHbm(name + ".sin", sin.size() * 4, FloatFormat::F32);
  if (!cosBuffer || !sinBuffer)
    return opError(op, "HBM is full");
  if (options.withWeights) {
    emitter.addData(*cosBuffer, floatBytes(cos));
    emitter.addData(*sinBuffer, floatBytes(sin));
  }
  Expected<HbmMatrix> y = define(op.getResult(), features);
  if (!y)
    return opError(op, llvm::toString(y.takeError()));
  if (Error err = emitRope(emitter, *x, *cosBuffer, *sinBuffer, hd,
                           op.getStyle() == xfmr::RopeStyle::interleaved, *y))
    return opError(op, llvm::toString(std::move(err)));
  return Error::success();
}

Error ForwardLowering::lowerAttention(xfmr::AttentionOp op) {
  if (op.getPrecisionRecord())
    return opError(op, "precision records on attention are not lowered yet");
  if (!op.getKeyCache())
    return opError(op, "attention without a KV cache is not lowered yet");
  Expected<HbmMatrix> q = lookup(op, op.getQuery());
  if (!q)
    return q.takeError();
  Expected<HbmMatrix> k = lookup(op, op.getKey());
  if (!k)
    return k.takeError();
  Expected<HbmMatrix> v = lookup(op, op.getValue());
  if (!v)
    return v.takeError();
  auto cacheType = cast<RankedTensorType>(op.getKeyCache().getType());
  int64_t maxSeq = cacheType.getDimSize(0),
          kvFeatures = cacheType.getDimSize(1);
  if (options.start + tokens > maxSeq)
    return opError(op, "positions [" + llvm::Twine(options.start) + ", " +
                           llvm::Twine(options.start + tokens) +
                           ") do not fit the cache of " + llvm::Twine(maxSeq));
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
  int64_t keys = options.start + tokens;
  if (Error err = emitStoreRows(emitter, *k, cache[0], options.start))
    return opError(op, llvm::toString(std::move(err)));
  if (Error err = emitStoreRows(emitter, *v, cache[1], options.start))
    return opError(op, llvm::toString(std::move(err)));
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

Error ForwardLowering::lower(Operation *op) {
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
  result.program = emitter.takeProgram();
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
    return emitRope(e, (*m)[0], (*m)[1].codes, (*m)[2].codes, headDim,
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
