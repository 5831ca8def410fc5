//===- Evaluator.cpp - reference execution of xfmr IR ---------------------===//
//
// An interpreter over the ops of @forward. Weights are resolved and repacked
// once at creation; the KV caches live here between calls and attention
// updates them in place.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrOps.h"
#include "mixtile/Evaluator/Kernels.h"
#include "mixtile/Evaluator/PrecisionSchemes.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Numerics/Elementary.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"

#include <cmath>

using namespace mlir;
using namespace mixtile;
using llvm::Error;
using llvm::Expected;

namespace {

/// A value during execution: an f32 tensor (borrowed weight data or owned
/// storage), an integer tensor, or an index scalar.
struct Tensor {
  SmallVector<int64_t, 4> shape;
  const float *data = nullptr;
  std::shared_ptr<std::vector<float>> owner;
  std::shared_ptr<std::vector<int64_t>> ints;
  int64_t index = 0;

  static Tensor allocate(ArrayRef<int64_t> shape) {
    Tensor t;
    t.shape.assign(shape.begin(), shape.end());
    t.owner = std::make_shared<std::vector<float>>(t.numElements(), 0.0f);
    t.data = t.owner->data();
    return t;
  }
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  int64_t rows() const { return cols() ? numElements() / cols() : 0; }
  /// Writable data; only for tensors this evaluator allocated.
  float *mut() const {
    assert(owner && "writing a borrowed tensor");
    return owner->data();
  }
};

Error opError(Operation *op, const llvm::Twine &message) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  op->getLoc().print(os);
  return llvm::createStringError("evaluator: '" + op->getName().getStringRef() +
                                 "' at " + loc + ": " + message);
}

} // namespace

class Evaluator::Impl {
public:
  Impl(ModuleOp module, func::FuncOp func, WeightStore &store,
       const EvaluatorOptions &options)
      : module(module), func(func), store(store),
        observeLinearInput(options.observeLinearInput) {
    unsigned threads =
        options.threads ? options.threads
                        : llvm::hardware_concurrency().compute_thread_count();
    if (threads > 1)
      pool = std::make_unique<llvm::StdThreadPool>(
          llvm::hardware_concurrency(threads));
  }

  Error prepare();
  Expected<std::vector<float>> forward(ArrayRef<int32_t> tokens);

  ModuleOp module;
  func::FuncOp func;
  WeightStore &store;
  std::unique_ptr<llvm::StdThreadPool> pool;
  decltype(EvaluatorOptions::observeLinearInput) observeLinearInput;
  llvm::DenseMap<Value, Tensor> constants;
  llvm::DenseMap<Operation *, kernels::PackedMatrix> packed;
  /// The quantization each precision-annotated op simulates.
  llvm::DenseMap<Operation *, OperandSchemes> schemes;
  /// Embedding tables quantized by their op's precision record.
  llvm::DenseMap<Operation *, std::vector<float>> quantizedTables;
  std::vector<Tensor> caches;
  int64_t position = 0, vocab = 0, maxSeq = 0;
  Error pendingError = Error::success();

private:
  Error execute(Operation *op, llvm::DenseMap<Value, Tensor> &env);
  Error runLinear(xfmr::LinearOp op, llvm::DenseMap<Value, Tensor> &env);
  Error runAttention(xfmr::AttentionOp op, llvm::DenseMap<Value, Tensor> &env);
  Error runRope(xfmr::RopeOp op, llvm::DenseMap<Value, Tensor> &env);
  Error runEmbedding(xfmr::EmbeddingOp op, llvm::DenseMap<Value, Tensor> &env);
  Error runMatmul(xfmr::MatmulOp op, llvm::DenseMap<Value, Tensor> &env);
};

//===----------------------------------------------------------------------===//
// Preparation
//===----------------------------------------------------------------------===//

/// Checks the importer's calling convention of @forward.
static Error checkSignature(func::FuncOp func) {
  FunctionType type = func.getFunctionType();
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createStringError("evaluator: @forward " + message);
  };
  if (type.getNumInputs() < 3 || type.getNumResults() < 1)
    return fail("must take (tokens, positions, start, caches...) and return "
                "(logits, caches...)");
  if (type.getNumInputs() - 3 != type.getNumResults() - 1)
    return fail("must return one updated cache per cache argument");
  auto logits = dyn_cast<RankedTensorType>(type.getResult(0));
  if (!logits || logits.getRank() != 2 || logits.isDynamicDim(1))
    return fail("must return logits as tensor<?xVOCABxf32>");
  for (Type cache : type.getInputs().drop_front(3))
    if (auto t = dyn_cast<RankedTensorType>(cache); !t || !t.hasStaticShape())
      return fail("cache arguments must be statically shaped tensors");
  return Error::success();
}

Error Evaluator::Impl::prepare() {
  if (Error error = checkSignature(func))
    return error;
  FunctionType type = func.getFunctionType();
  vocab = cast<RankedTensorType>(type.getResult(0)).getDimSize(1);
  for (Type cacheType : type.getInputs().drop_front(3)) {
    auto t = cast<RankedTensorType>(cacheType);
    caches.push_back(Tensor::allocate(t.getShape()));
    maxSeq = t.getDimSize(0);
  }
  if (caches.empty())
    maxSeq = INT64_MAX;
  // Inline weights (arith.constant) become owned tensors.
  WalkResult constantWalk = func.walk([&](arith::ConstantOp op) {
    auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!dense || !type || !type.getElementType().isF32()) {
      pendingError = opError(op, "only f32 tensor constants are supported");
      return WalkResult::interrupt();
    }
    Tensor t = Tensor::allocate(type.getShape());
    llvm::copy(dense.getValues<float>(), t.mut());
    constants[op.getResult()] = t;
    return WalkResult::advance();
  });
  if (constantWalk.wasInterrupted())
    return std::move(pendingError);
  // Resolve every weight once; pack the ones feeding linear layers.
  SmallVector<xfmr::WeightOp> weightOps;
  func.walk([&](xfmr::WeightOp op) { weightOps.push_back(op); });
  for (xfmr::WeightOp op : weightOps) {
    Expected<ArrayRef<float>> data = store.get(op);
    if (!data)
      return data.takeError();
    Tensor t;
    auto shape = op.getType().getShape();
    t.shape.assign(shape.begin(), shape.end());
    t.data = data->data();
    constants[op.getResult()] = t;
  }
  WalkResult walk = func.walk([&](xfmr::PrecisionOpInterface op) {
    Expected<OperandSchemes> opSchemes =
        getOperandSchemes(op.getPrecisionRecord());
    if (!opSchemes) {
      pendingError = opError(op, llvm::toString(opSchemes.takeError()));
      return WalkResult::interrupt();
    }
    schemes[op] = *opSchemes;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return std::move(pendingError);
  func.walk([&](xfmr::LinearOp op) {
    auto it = constants.find(op.getWeight());
    if (it == constants.end())
      return;
    const Tensor &w = it->second;
    const std::optional<numerics::QuantScheme> &scheme = schemes[op].weights;
    if (!scheme) {
      packed.try_emplace(op, w.data, w.shape[0], w.shape[1]);
      return;
    }
    // Weights are quantized along K (their rows), once.
    std::vector<float> q(w.numElements());
    numerics::fakeQuantize(w.data, q.data(), w.shape[0], w.shape[1], *scheme);
    packed.try_emplace(op, q.data(), w.shape[0], w.shape[1]);
  });
  func.walk([&](xfmr::EmbeddingOp op) {
    auto it = constants.find(op.getTable());
    const std::optional<numerics::QuantScheme> &scheme = schemes[op].weights;
    if (it == constants.end() || !scheme)
      return;
    const Tensor &t = it->second;
    std::vector<float> &q = quantizedTables[op];
    q.resize(t.numElements());
    numerics::fakeQuantize(t.data, q.data(), t.shape[0], t.shape[1], *scheme);
  });
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Execution
//===----------------------------------------------------------------------===//

/// Fetches the tensor bound to `value`. Returns a copy (a few words plus
/// shared ownership): references into the map die when it grows.
static Tensor get(llvm::DenseMap<Value, Tensor> &env, Value value) {
  auto it = env.find(value);
  assert(it != env.end() && "value used before definition");
  return it->second;
}

/// `x` with each row (along its last axis) quantized by `scheme`; `x` itself
/// when there is no scheme. `rowLength` splits rows further (attention
/// heads). Activation scales are dynamic and per row: a "per-tensor" FP32
/// scale is computed for each token on its own, so a token's numerics do not
/// depend on which other tokens share its batch (prefill equals decode).
static Tensor quantizeRows(const Tensor &x,
                           const std::optional<numerics::QuantScheme> &scheme,
                           int64_t rowLength = 0) {
  if (!scheme)
    return x;
  Tensor q = Tensor::allocate(x.shape);
  int64_t cols = rowLength ? rowLength : x.cols();
  int64_t rows = x.numElements() / cols;
  for (int64_t r = 0; r < rows; ++r)
    numerics::fakeQuantize(x.data + r * cols, q.mut() + r * cols, 1, cols,
                           *scheme);
  return q;
}

/// The transpose of a 2-D [rows, cols] block of floats.
static std::vector<float> transposed(const float *data, int64_t rows,
                                     int64_t cols) {
  std::vector<float> t(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t[c * rows + r] = data[r * cols + c];
  return t;
}

Error Evaluator::Impl::runLinear(xfmr::LinearOp op,
                                 llvm::DenseMap<Value, Tensor> &env) {
  Tensor x = get(env, op.getInput());
  Tensor w = get(env, op.getWeight());
  const float *bias = op.getBias() ? get(env, op.getBias()).data : nullptr;
  auto it = packed.find(op);
  kernels::PackedMatrix onTheFly;
  if (it == packed.end())
    onTheFly = kernels::PackedMatrix(w.data, w.shape[0], w.shape[1]);
  const kernels::PackedMatrix &pw = it == packed.end() ? onTheFly : it->second;
  if (observeLinearInput)
    observeLinearInput(op, x.data, x.rows(), x.cols());
  x = quantizeRows(x, schemes.lookup(op).activations);
  SmallVector<int64_t, 4> shape(x.shape);
  shape.back() = w.shape[0];
  Tensor y = Tensor::allocate(shape);
  kernels::linear(x.data, x.rows(), pw, bias, y.mut(), pool.get());
  env[op.getResult()] = y;
  return Error::success();
}

Error Evaluator::Impl::runEmbedding(xfmr::EmbeddingOp op,
                                    llvm::DenseMap<Value, Tensor> &env) {
  Tensor table = get(env, op.getTable());
  if (auto it = quantizedTables.find(op); it != quantizedTables.end())
    table.data = it->second.data();
  Tensor tokens = get(env, op.getTokens());
  int64_t rows = table.shape[0], dim = table.shape[1];
  SmallVector<int64_t, 4> shape(tokens.shape);
  shape.push_back(dim);
  Tensor y = Tensor::allocate(shape);
  for (auto [i, token] : llvm::enumerate(*tokens.ints)) {
    if (token < 0 || token >= rows)
      return opError(op, "token id " + llvm::Twine(token) +
                             " is out of range [0, " + llvm::Twine(rows) + ")");
    std::copy_n(table.data + token * dim, dim, y.mut() + i * dim);
  }
  env[op.getResult()] = y;
  return Error::success();
}

Error Evaluator::Impl::runRope(xfmr::RopeOp op,
                               llvm::DenseMap<Value, Tensor> &env) {
  Tensor x = get(env, op.getInput());
  Tensor positions = get(env, op.getPositions());
  if (x.shape.size() != 2)
    return opError(op, "only [seq, features] inputs are supported");
  int64_t hd = op.getHeadDim(), seq = x.shape[0], features = x.shape[1];
  float theta = op.getTheta().convertToFloat();
  bool interleaved = op.getStyle() == xfmr::RopeStyle::interleaved;
  Tensor y = Tensor::allocate(x.shape);
  std::copy_n(x.data, x.numElements(), y.mut());
  for (int64_t s = 0; s < seq; ++s) {
    int64_t pos = (*positions.ints)[s];
    float *row = y.mut() + s * features;
    for (int64_t head = 0; head < features / hd; ++head) {
      float *v = row + head * hd;
      for (int64_t i = 0; i < hd / 2; ++i) {
        float angle = kernels::ropeAngle(pos, i, hd, theta);
        float c = std::cos(angle), sn = std::sin(angle);
        float &a = interleaved ? v[2 * i] : v[i];
        float &b = interleaved ? v[2 * i + 1] : v[i + hd / 2];
        float a0 = a, b0 = b;
        a = a0 * c - b0 * sn;
        b = a0 * sn + b0 * c;
      }
    }
  }
  env[op.getResult()] = y;
  return Error::success();
}

Error Evaluator::Impl::runAttention(xfmr::AttentionOp op,
                                    llvm::DenseMap<Value, Tensor> &env) {
  const OperandSchemes &opSchemes = schemes[op];
  int64_t hd = op.getHeadDim();
  // Activations are quantized per head (blocks run along head features).
  Tensor q = quantizeRows(get(env, op.getQuery()), opSchemes.activations, hd);
  Tensor k = quantizeRows(get(env, op.getKey()), opSchemes.activations, hd);
  Tensor v = quantizeRows(get(env, op.getValue()), opSchemes.activations, hd);
  if (q.shape.size() != 2)
    return opError(op, "only [seq, features] attention is supported");
  int64_t seq = q.shape[0];
  int64_t heads = op.getNHeads(), group = heads / op.getNKvHeads();
  int64_t kvFeatures = k.shape[1], start = 0, keys = k.shape[0];
  const float *kSrc = k.data, *vSrc = v.data;
  if (op.getKeyCache()) {
    Tensor kc = get(env, op.getKeyCache());
    Tensor vc = get(env, op.getValueCache());
    start = get(env, op.getPosition()).index;
    if (start < 0 || start + seq > kc.shape[0])
      return opError(op, "rows [" + llvm::Twine(start) + ", " +
                             llvm::Twine(start + seq) +
                             ") do not fit the KV cache of " +
                             llvm::Twine(kc.shape[0]) + " rows");
    std::copy_n(k.data, seq * kvFeatures, kc.mut() + start * kvFeatures);
    std::copy_n(v.data, seq * kvFeatures, vc.mut() + start * kvFeatures);
    if (opSchemes.kvCache)
      for (const Tensor *cache : {&kc, &vc})
        numerics::roundTo(cache->data + start * kvFeatures,
                          cache->mut() + start * kvFeatures, seq * kvFeatures,
                          *opSchemes.kvCache, numerics::Overflow::Saturate);
    kSrc = kc.data;
    vSrc = vc.data;
    keys = start + seq;
    env[op.getUpdatedCaches()[0]] = kc;
    env[op.getUpdatedCaches()[1]] = vc;
  }
  float scale = op.getEffectiveScale();
  Tensor y = Tensor::allocate(q.shape);
  bool causal = op.getCausal();
  // Rows [begin, end) of the queries, all heads; each (row, head) output is
  // computed by one task in a fixed order, so threads do not change results.
  // Keys transposed once, [kvFeatures][keys], so that scores of
  // neighbouring keys are computed side by side.
  std::vector<float> kT(kvFeatures * keys);
  for (int64_t t = 0; t < keys; ++t)
    for (int64_t f = 0; f < kvFeatures; ++f)
      kT[f * keys + t] = kSrc[t * kvFeatures + f];
  auto attendRows = [&, out = y.mut()](int64_t begin, int64_t end) {
    std::vector<float> scores(keys);
    for (int64_t s = begin; s < end; ++s) {
      int64_t visible = causal ? start + s + 1 : keys;
      for (int64_t h = 0; h < heads; ++h) {
        int64_t kvOffset = (h / group) * hd;
        kernels::attendRow(q.data + s * heads * hd + h * hd,
                           kT.data() + kvOffset * keys, keys, vSrc + kvOffset,
                           kvFeatures, visible, hd, scale, scores.data(),
                           out + s * heads * hd + h * hd);
      }
    }
  };
  int64_t tasks =
      pool ? std::min<int64_t>(seq, 4 * pool->getMaxConcurrency()) : 1;
  if (tasks <= 1 || seq * keys * heads * hd < (1 << 16)) {
    attendRows(0, seq);
  } else {
    llvm::ThreadPoolTaskGroup taskGroup(*pool);
    for (int64_t t = 0; t < tasks; ++t)
      taskGroup.async(attendRows, seq * t / tasks, seq * (t + 1) / tasks);
    taskGroup.wait();
  }
  env[op.getResult()] = y;
  return Error::success();
}

Error Evaluator::Impl::runMatmul(xfmr::MatmulOp op,
                                 llvm::DenseMap<Value, Tensor> &env) {
  const std::optional<numerics::QuantScheme> &scheme = schemes[op].activations;
  Tensor a = quantizeRows(get(env, op.getLhs()), scheme);
  Tensor b = get(env, op.getRhs());
  size_t rank = a.shape.size();
  int64_t m = a.shape[rank - 2], kDim = a.shape[rank - 1];
  bool transposeRhs = op.getTransposeRhs();
  int64_t n = transposeRhs ? b.shape[rank - 2] : b.shape[rank - 1];
  int64_t batch = a.numElements() / (m * kDim);
  if (scheme && transposeRhs) {
    b = quantizeRows(b, scheme);
  } else if (scheme) {
    // Quantize the rhs along K, which runs down its columns.
    Tensor q = Tensor::allocate(b.shape);
    for (int64_t bi = 0; bi < batch; ++bi) {
      std::vector<float> t = transposed(b.data + bi * kDim * n, kDim, n);
      numerics::fakeQuantize(t.data(), t.data(), n, kDim, *scheme);
      std::vector<float> back = transposed(t.data(), n, kDim);
      std::copy(back.begin(), back.end(), q.mut() + bi * kDim * n);
    }
    b = q;
  }
  SmallVector<int64_t, 4> shape(a.shape);
  shape.back() = n;
  Tensor y = Tensor::allocate(shape);
  for (int64_t bi = 0; bi < batch; ++bi) {
    const float *lhs = a.data + bi * m * kDim;
    const float *rhs = b.data + bi * kDim * n;
    float *out = y.mut() + bi * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float sum = 0.0f;
        for (int64_t kk = 0; kk < kDim; ++kk)
          sum = std::fma(lhs[i * kDim + kk],
                         transposeRhs ? rhs[j * kDim + kk] : rhs[kk * n + j],
                         sum);
        out[i * n + j] = sum;
      }
  }
  env[op.getResult()] = y;
  return Error::success();
}

/// Applies `fn` to every element of `x`.
template <typename Fn> static Tensor mapElements(const Tensor &x, Fn fn) {
  Tensor y = Tensor::allocate(x.shape);
  float *out = y.mut();
  for (int64_t i = 0, e = x.numElements(); i < e; ++i)
    out[i] = fn(x.data[i]);
  return y;
}

template <typename Fn>
static Tensor zipElements(const Tensor &a, const Tensor &b, Fn fn) {
  Tensor y = Tensor::allocate(a.shape);
  float *out = y.mut();
  for (int64_t i = 0, e = a.numElements(); i < e; ++i)
    out[i] = fn(a.data[i], b.data[i]);
  return y;
}

static float gelu(float x, xfmr::GeluApproximation approximation) {
  if (approximation == xfmr::GeluApproximation::tanh) {
    const float k = 0.7978845608028654f; // sqrt(2 / pi)
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
  }
  return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
}

static Tensor softmaxAlong(const Tensor &x, int64_t axis) {
  int64_t rank = x.shape.size();
  if (axis < 0)
    axis += rank;
  int64_t size = x.shape[axis], inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= x.shape[d];
  int64_t outer = x.numElements() / (size * inner);
  Tensor y = Tensor::allocate(x.shape);
  std::vector<float> line(size);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float *src = x.data + o * size * inner + in;
      for (int64_t i = 0; i < size; ++i)
        line[i] = src[i * inner];
      kernels::softmax(line.data(), size);
      for (int64_t i = 0; i < size; ++i)
        y.mut()[o * size * inner + in + i * inner] = line[i];
    }
  return y;
}

Error Evaluator::Impl::execute(Operation *op,
                               llvm::DenseMap<Value, Tensor> &env) {
  auto norm = [&](Value input, Value weight, Value bias, float eps) {
    Tensor x = get(env, input);
    const float *w = get(env, weight).data;
    const float *b = bias ? get(env, bias).data : nullptr;
    Tensor y = Tensor::allocate(x.shape);
    for (int64_t r = 0; r < x.rows(); ++r) {
      const float *row = x.data + r * x.cols();
      float *out = y.mut() + r * x.cols();
      if (b)
        kernels::layerNormRow(row, w, b, eps, x.cols(), out);
      else
        kernels::rmsNormRow(row, w, eps, x.cols(), out);
    }
    return y;
  };
  return llvm::TypeSwitch<Operation *, Error>(op)
      .Case<xfmr::WeightOp, arith::ConstantOp>([&](Operation *op) {
        env[op->getResult(0)] = constants.lookup(op->getResult(0));
        return Error::success();
      })
      .Case([&](xfmr::LinearOp op) { return runLinear(op, env); })
      .Case([&](xfmr::EmbeddingOp op) { return runEmbedding(op, env); })
      .Case([&](xfmr::RopeOp op) { return runRope(op, env); })
      .Case([&](xfmr::AttentionOp op) { return runAttention(op, env); })
      .Case([&](xfmr::MatmulOp op) { return runMatmul(op, env); })
      .Case([&](xfmr::RMSNormOp op) {
        env[op.getResult()] = norm(op.getInput(), op.getWeight(), Value(),
                                   op.getEpsilon().convertToFloat());
        return Error::success();
      })
      .Case([&](xfmr::LayerNormOp op) {
        env[op.getResult()] = norm(op.getInput(), op.getWeight(), op.getBias(),
                                   op.getEpsilon().convertToFloat());
        return Error::success();
      })
      .Case([&](xfmr::SiluOp op) {
        env[op.getResult()] = mapElements(get(env, op.getInput()), [](float x) {
          return x * (1.0f / (1.0f + numerics::exp(-x)));
        });
        return Error::success();
      })
      .Case([&](xfmr::GeluOp op) {
        auto approximation = op.getApproximate();
        env[op.getResult()] =
            mapElements(get(env, op.getInput()),
                        [&](float x) { return gelu(x, approximation); });
        return Error::success();
      })
      .Case([&](xfmr::AddOp op) {
        env[op.getResult()] =
            zipElements(get(env, op.getLhs()), get(env, op.getRhs()),
                        [](float a, float b) { return a + b; });
        return Error::success();
      })
      .Case([&](xfmr::MulOp op) {
        env[op.getResult()] =
            zipElements(get(env, op.getLhs()), get(env, op.getRhs()),
                        [](float a, float b) { return a * b; });
        return Error::success();
      })
      .Case([&](xfmr::SoftmaxOp op) {
        env[op.getResult()] =
            softmaxAlong(get(env, op.getInput()), op.getAxis());
        return Error::success();
      })
      .Default([&](Operation *op) {
        return opError(op, "op is not supported by the evaluator");
      });
}

Expected<std::vector<float>>
Evaluator::Impl::forward(ArrayRef<int32_t> tokens) {
  int64_t n = tokens.size();
  if (n == 0)
    return llvm::createStringError("evaluator: no tokens to run");
  if (position + n > maxSeq)
    return llvm::createStringError(llvm::formatv(
        "evaluator: {0} tokens at position {1} exceed the model's maximum "
        "sequence length {2}",
        n, position, maxSeq));
  Block &body = func.getBody().front();
  llvm::DenseMap<Value, Tensor> env;
  Tensor tokenTensor, positions, start;
  tokenTensor.shape = {n};
  tokenTensor.ints =
      std::make_shared<std::vector<int64_t>>(tokens.begin(), tokens.end());
  positions.shape = {n};
  positions.ints = std::make_shared<std::vector<int64_t>>(n);
  for (int64_t i = 0; i < n; ++i)
    (*positions.ints)[i] = position + i;
  start.index = position;
  env[body.getArgument(0)] = tokenTensor;
  env[body.getArgument(1)] = positions;
  env[body.getArgument(2)] = start;
  for (auto [i, cache] : llvm::enumerate(caches))
    env[body.getArgument(3 + i)] = cache;

  for (Operation &op : body.without_terminator())
    if (Error error = execute(&op, env))
      return std::move(error);

  Operation *ret = body.getTerminator();
  for (auto [i, cache] : llvm::enumerate(caches)) {
    Tensor updated = get(env, ret->getOperand(1 + i));
    if (updated.data != cache.data)
      std::copy_n(updated.data, cache.numElements(), cache.mut());
  }
  Tensor logits = get(env, ret->getOperand(0));
  position += n;
  return std::vector<float>(logits.data, logits.data + logits.numElements());
}

//===----------------------------------------------------------------------===//
// Evaluator
//===----------------------------------------------------------------------===//

Evaluator::Evaluator(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
Evaluator::~Evaluator() = default;

Expected<std::unique_ptr<Evaluator>>
Evaluator::create(ModuleOp module, WeightStore &store,
                  const EvaluatorOptions &options) {
  if (!kernels::cpuIsSupported())
    return llvm::createStringError(
        "evaluator: this CPU lacks AVX2 and FMA, which the kernels need");
  auto func = module.lookupSymbol<func::FuncOp>("forward");
  if (!func || func.isExternal())
    return llvm::createStringError(
        "evaluator: module has no func.func @forward with a body");
  auto impl = std::make_unique<Impl>(module, func, store, options);
  if (Error error = impl->prepare())
    return std::move(error);
  return std::unique_ptr<Evaluator>(new Evaluator(std::move(impl)));
}

Expected<std::vector<float>> Evaluator::forward(ArrayRef<int32_t> tokens) {
  return impl->forward(tokens);
}
int64_t Evaluator::position() const { return impl->position; }
void Evaluator::reset() {
  impl->position = 0;
  for (Tensor &cache : impl->caches)
    std::fill_n(cache.mut(), cache.numElements(), 0.0f);
}
int64_t Evaluator::vocabSize() const { return impl->vocab; }
int64_t Evaluator::maxSeqLen() const { return impl->maxSeq; }
