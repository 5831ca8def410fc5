//===- Sensitivity.cpp - how much each layer suffers per format -----------===//
//
// Layer grouping, exact sensitivity measurement through the evaluator, and
// the local (layer-output) error proxy.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Precision/Sensitivity.h"
#include "mixtile/Dialect/Xfmr/IR/XfmrUtils.h"
#include "mixtile/Evaluator/Evaluator.h"
#include "mixtile/Evaluator/Kernels.h"
#include "mixtile/Evaluator/PrecisionSchemes.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Numerics/BlockQuant.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
#include <numeric>
#include <optional>
#include <random>

using namespace mlir;

using namespace mixtile;
using llvm::Error;
using llvm::Expected;

/// The activation operand of a weight-bearing op (its first operand).
static Value activationOperand(xfmr::PrecisionOpInterface op) {
  return op->getOperand(0);
}

std::vector<LayerGroup> mixtile::groupLayers(ModuleOp module,
                                             llvm::StringRef function) {
  std::vector<LayerGroup> groups;
  llvm::DenseMap<Value, size_t> groupOfInput;
  auto forward = module.lookupSymbol<func::FuncOp>(function);
  if (!forward)
    return groups;
  unsigned ordinal = 0;
  forward.walk([&](xfmr::PrecisionOpInterface op) {
    if (!op.getWeightOperand())
      return;
    // Products without a name (no xfmr.weight key, no NameLoc) are named
    // by their op and position among the weight-bearing ops.
    std::string name = xfmr::getLayerName(op);
    if (name.empty())
      name = (op->getName().getStringRef() + "#" + llvm::Twine(ordinal)).str();
    ++ordinal;
    // Embeddings read token ids, not an activation to share.
    bool shares = !isa<xfmr::EmbeddingOp>(op.getOperation());
    Value input = activationOperand(op);
    auto it = shares ? groupOfInput.find(input) : groupOfInput.end();
    if (it == groupOfInput.end()) {
      if (shares)
        groupOfInput[input] = groups.size();
      groups.push_back({name, {op}});
      return;
    }
    LayerGroup &group = groups[it->second];
    group.name += "," + name;
    group.ops.push_back(op);
  });
  return groups;
}

/// Runs `body` with every precision record of `module` set aside (the FP32
/// model), then puts the records back.
template <typename Fn> static auto withoutRecords(ModuleOp module, Fn body) {
  std::vector<std::pair<xfmr::PrecisionOpInterface, xfmr::PrecisionAttr>> saved;
  module.walk([&](xfmr::PrecisionOpInterface op) {
    if (xfmr::PrecisionAttr record = op.getPrecisionRecord()) {
      saved.push_back({op, record});
      op.setPrecisionRecord(nullptr);
    }
  });
  auto result = body();
  for (auto &[op, record] : saved)
    op.setPrecisionRecord(record);
  return result;
}

static unsigned resolveThreads(unsigned threads) {
  return threads ? threads
                 : llvm::hardware_concurrency().compute_thread_count();
}

//===----------------------------------------------------------------------===//
// Exact sensitivity
//===----------------------------------------------------------------------===//

SensitivityMeasurer::SensitivityMeasurer(
    ModuleOp module, WeightStore &store,
    std::vector<std::vector<int32_t>> sequences, unsigned threads)
    : module(module), store(store), sequences(std::move(sequences)),
      threads(resolveThreads(threads)) {}
SensitivityMeasurer::~SensitivityMeasurer() = default;

Expected<std::unique_ptr<SensitivityMeasurer>>
SensitivityMeasurer::create(ModuleOp module, WeightStore &store,
                            std::vector<std::vector<int32_t>> sequences,
                            unsigned threads) {
  if (sequences.empty())
    return llvm::createStringError("no calibration sequences");
  std::unique_ptr<SensitivityMeasurer> measurer(
      new SensitivityMeasurer(module, store, std::move(sequences), threads));
  Expected<std::vector<std::vector<float>>> reference = withoutRecords(
      module, [&]() -> Expected<std::vector<std::vector<float>>> {
        Expected<std::unique_ptr<Evaluator>> eval =
            measurer->prepare({}, measurer->threads);
        if (!eval)
          return eval.takeError();
        measurer->vocab = (*eval)->vocabSize();
        return measurer->run(**eval);
      });
  if (!reference)
    return reference.takeError();
  measurer->reference = std::move(*reference);
  return measurer;
}

int64_t SensitivityMeasurer::numTokens() const {
  int64_t n = 0;
  for (const std::vector<int32_t> &s : sequences)
    n += s.size();
  return n;
}

Expected<std::unique_ptr<Evaluator>>
SensitivityMeasurer::prepare(const Assignment &assignment,
                             unsigned evaluatorThreads) {
  // Set the records, remembering what was there, and restore afterwards:
  // the evaluator reads them once, when it is created.
  std::vector<std::pair<xfmr::PrecisionOpInterface, xfmr::PrecisionAttr>> saved;
  for (const auto &[group, record] : assignment)
    for (xfmr::PrecisionOpInterface op : group->ops) {
      saved.push_back({op, op.getPrecisionRecord()});
      op.setPrecisionRecord(record);
    }
  EvaluatorOptions options;
  options.threads = evaluatorThreads;
  Expected<std::unique_ptr<Evaluator>> eval =
      Evaluator::create(module, store, options);
  for (auto &[op, record] : llvm::reverse(saved))
    op.setPrecisionRecord(record);
  return eval;
}

Expected<std::vector<std::vector<float>>>
SensitivityMeasurer::run(Evaluator &eval) {
  std::vector<std::vector<float>> logits;
  for (const std::vector<int32_t> &sequence : sequences) {
    eval.reset();
    Expected<std::vector<float>> out = eval.forward(sequence);
    if (!out)
      return out.takeError();
    logits.push_back(std::move(*out));
  }
  return logits;
}

Expected<LogitComparison> SensitivityMeasurer::compare(Evaluator &eval) {
  LogitComparison total;
  for (size_t i = 0; i < sequences.size(); ++i) {
    eval.reset();
    Expected<std::vector<float>> logits = eval.forward(sequences[i]);
    if (!logits)
      return logits.takeError();
    total.add(compareLogits(reference[i].data(), logits->data(),
                            sequences[i].size(), vocab, sequences[i].data()));
  }
  return total;
}

Expected<LogitComparison>
SensitivityMeasurer::measure(const Assignment &assignment) {
  Expected<std::unique_ptr<Evaluator>> eval = prepare(assignment, threads);
  if (!eval)
    return eval.takeError();
  return compare(**eval);
}

Expected<std::vector<LogitComparison>>
SensitivityMeasurer::measureAll(ArrayRef<Assignment> assignments,
                                llvm::function_ref<void(size_t)> onDone) {
  std::vector<LogitComparison> results(assignments.size());
  if (threads <= 1) {
    for (auto [i, assignment] : llvm::enumerate(assignments)) {
      Expected<LogitComparison> result = measure(assignment);
      if (!result)
        return result.takeError();
      results[i] = *result;
      if (onDone)
        onDone(i + 1);
    }
    return results;
  }
  // Evaluators are created one after another (creating one sets records on
  // the shared module); their runs only read the IR and go in parallel.
  llvm::StdThreadPool pool(llvm::hardware_concurrency(threads));
  for (size_t begin = 0; begin < assignments.size(); begin += threads) {
    size_t end = std::min(assignments.size(), begin + threads);
    std::vector<std::unique_ptr<Evaluator>> evals;
    for (size_t i = begin; i < end; ++i) {
      Expected<std::unique_ptr<Evaluator>> eval =
          prepare(assignments[i], /*evaluatorThreads=*/1);
      if (!eval)
        return eval.takeError();
      evals.push_back(std::move(*eval));
    }
    std::vector<std::optional<Expected<LogitComparison>>> outcomes(end - begin);
    for (size_t i = begin; i < end; ++i)
      pool.async([&, i] { outcomes[i - begin] = compare(*evals[i - begin]); });
    pool.wait();
    Error firstError = Error::success();
    for (size_t i = begin; i < end; ++i) {
      Expected<LogitComparison> &outcome = *outcomes[i - begin];
      if (!outcome) {
        firstError =
            llvm::joinErrors(std::move(firstError), outcome.takeError());
        continue;
      }
      results[i] = *outcome;
    }
    if (firstError)
      return std::move(firstError);
    if (onDone)
      onDone(end);
  }
  return results;
}

//===----------------------------------------------------------------------===//
// Local sensitivity
//===----------------------------------------------------------------------===//

/// What the local model keeps of one weight-bearing op.
struct LocalErrorModel::Layer {
  /// The weights, [outputs, cols] (an embedding: [vocab, dim]).
  ArrayRef<float> weights;
  std::vector<float> ownedWeights;
  int64_t outputs = 0, cols = 0;
  /// Outputs of the product per output kept here (1 unless sampled).
  double outputsPerKept = 1;
  /// When sampled: the weight the rows came from, and the whole tensor's
  /// largest magnitude (for per-tensor scales), found when first needed.
  xfmr::WeightOp sampledFrom;
  std::optional<float> tensorMaxAbs;
  bool isEmbedding = false;
  /// Sampled FP32 inputs [rows, cols] and their FP32 outputs [rows, outputs].
  std::vector<float> inputs, reference;
  int64_t rows = 0, seenRows = 0;
};

LocalErrorModel::~LocalErrorModel() = default;

/// The weights of `op` as f32 [outputs, cols] matrices stacked by batch:
/// an xfmr.weight from the store, or a float constant (copied into `owned`,
/// transposed when stored [K, N]).
static Expected<ArrayRef<float>> weightData(xfmr::PrecisionOpInterface op,
                                            WeightStore &store,
                                            std::vector<float> &owned) {
  Value weight = op.getWeightOperand();
  bool outputMajor = op.isWeightOutputMajor();
  if (auto weightOp = weight.getDefiningOp<xfmr::WeightOp>();
      weightOp && outputMajor)
    return store.get(weightOp);
  DenseElementsAttr dense;
  if (!matchPattern(weight, m_Constant(&dense)) ||
      !isa<FloatType>(dense.getElementType()))
    return llvm::createStringError(
        "local sensitivity: weights must be xfmr.weight or float constants");
  owned.clear();
  owned.reserve(dense.getNumElements());
  for (const llvm::APFloat &value : dense.getValues<llvm::APFloat>())
    owned.push_back(value.convertToDouble());
  if (!outputMajor) {
    // [batch, K, N] -> [batch, N, K].
    int64_t n = op.getOutputFeatures(), k = op.getReductionSize();
    std::vector<float> transposed(owned.size());
    for (int64_t b = 0; b < int64_t(owned.size()) / (n * k); ++b)
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < n; ++j)
          transposed[b * n * k + j * k + i] = owned[b * n * k + i * n + j];
    owned = std::move(transposed);
  }
  return ArrayRef<float>(owned);
}

/// `count` of `total` rows, one uniformly at random from each of `count`
/// equal strata: distinct, ascending, spread over the whole matrix.
static std::vector<int64_t> stratifiedRows(int64_t total, int64_t count,
                                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> rows(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t begin = i * total / count, end = (i + 1) * total / count;
    rows[i] = begin + int64_t(rng() % uint64_t(end - begin));
  }
  return rows;
}

Error LocalErrorModel::sampleOutputs(xfmr::PrecisionOpInterface op,
                                     Layer &layer, int64_t maxOutputs,
                                     uint64_t seed) {
  std::vector<int64_t> rows =
      stratifiedRows(layer.outputs, maxOutputs,
                     seed ^ llvm::xxh3_64bits(xfmr::getLayerName(op)));
  std::vector<float> kept;
  kept.reserve(rows.size() * layer.cols);
  auto weightOp = op.getWeightOperand().getDefiningOp<xfmr::WeightOp>();
  if (weightOp && op.isWeightOutputMajor()) {
    if (Error err = store->getRows(weightOp, rows, kept))
      return err;
    layer.sampledFrom = weightOp;
  } else {
    Expected<ArrayRef<float>> data = weightData(op, *store, layer.ownedWeights);
    if (!data)
      return data.takeError();
    for (int64_t row : rows)
      kept.insert(kept.end(), data->begin() + row * layer.cols,
                  data->begin() + (row + 1) * layer.cols);
    layer.tensorMaxAbs = numerics::maxFiniteAbs(data->data(), data->size());
  }
  layer.outputsPerKept = double(layer.outputs) / maxOutputs;
  layer.outputs = maxOutputs;
  layer.ownedWeights = std::move(kept);
  layer.weights = layer.ownedWeights;
  return Error::success();
}

Error LocalErrorModel::addLayers(ArrayRef<LayerGroup> groups,
                                 int64_t maxOutputs, uint64_t seed) {
  for (const LayerGroup &group : groups)
    for (xfmr::PrecisionOpInterface op : group.ops) {
      auto layer = std::make_unique<Layer>();
      auto type = cast<RankedTensorType>(op.getWeightOperand().getType());
      layer->isEmbedding = isa<xfmr::EmbeddingOp>(op.getOperation());
      layer->cols =
          layer->isEmbedding ? type.getDimSize(1) : op.getReductionSize();
      if (layer->cols <= 0)
        return llvm::createStringError("local sensitivity: '" +
                                       xfmr::getLayerName(op) +
                                       "' has no static reduction size");
      layer->outputs = type.getNumElements() / layer->cols;
      if (maxOutputs > 0 && layer->outputs > maxOutputs) {
        if (Error err = sampleOutputs(op, *layer, maxOutputs, seed))
          return err;
      } else {
        Expected<ArrayRef<float>> data =
            weightData(op, *store, layer->ownedWeights);
        if (!data)
          return data.takeError();
        layer->weights = *data;
      }
      layers[op] = std::move(layer);
    }
  return Error::success();
}

void LocalErrorModel::computeReferences() {
  for (auto &[op, layer] : layers) {
    if (layer->isEmbedding)
      continue;
    layer->reference.resize(layer->rows * layer->outputs);
    kernels::PackedMatrix w(layer->weights.data(), layer->outputs, layer->cols);
    kernels::linear(layer->inputs.data(), layer->rows, w, nullptr,
                    layer->reference.data(), nullptr);
  }
}

Expected<std::unique_ptr<LocalErrorModel>>
LocalErrorModel::create(ModuleOp module, WeightStore &store,
                        const std::vector<std::vector<int32_t>> &sequences,
                        int64_t maxRows) {
  std::unique_ptr<LocalErrorModel> model(new LocalErrorModel);
  model->store = &store;
  int64_t totalRows = 0;
  for (const std::vector<int32_t> &s : sequences)
    totalRows += s.size();
  // Every linear layer sees one row per token; keep every stride-th one.
  int64_t stride = std::max<int64_t>(1, (totalRows + maxRows - 1) /
                                            std::max<int64_t>(1, maxRows));
  if (Error err = model->addLayers(groupLayers(module), /*maxOutputs=*/0,
                                   /*seed=*/0))
    return std::move(err);
  EvaluatorOptions options;
  options.observeLinearInput = [&](Operation *op, const float *rows,
                                   int64_t numRows, int64_t cols) {
    auto it = model->layers.find(op);
    if (it == model->layers.end())
      return;
    Layer &layer = *it->second;
    for (int64_t r = 0; r < numRows; ++r, ++layer.seenRows)
      if (layer.seenRows % stride == 0) {
        layer.inputs.insert(layer.inputs.end(), rows + r * cols,
                            rows + (r + 1) * cols);
        ++layer.rows;
      }
  };
  Error error = withoutRecords(module, [&]() -> Error {
    Expected<std::unique_ptr<Evaluator>> eval =
        Evaluator::create(module, store, options);
    if (!eval)
      return eval.takeError();
    for (const std::vector<int32_t> &sequence : sequences) {
      (*eval)->reset();
      if (Expected<std::vector<float>> out = (*eval)->forward(sequence); !out)
        return out.takeError();
    }
    return Error::success();
  });
  if (error)
    return std::move(error);
  model->computeReferences();
  return model;
}

Expected<std::unique_ptr<LocalErrorModel>>
LocalErrorModel::createFromProbes(ArrayRef<LayerGroup> groups,
                                  WeightStore &store, int64_t rows,
                                  uint64_t seed, int64_t maxOutputs) {
  std::unique_ptr<LocalErrorModel> model(new LocalErrorModel);
  model->store = &store;
  if (Error err = model->addLayers(groups, maxOutputs, seed))
    return std::move(err);
  // Box-Muller over a 64-bit Mersenne Twister: the same probes on every
  // platform (std::normal_distribution is not specified bit for bit).
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return (double(rng() >> 11) + 0.5) * 0x1.0p-53; };
  for (const LayerGroup &group : groups)
    for (xfmr::PrecisionOpInterface op : group.ops) {
      Layer &layer = *model->layers[op];
      layer.rows = rows;
      layer.inputs.resize(rows * layer.cols);
      for (size_t i = 0; i < layer.inputs.size(); i += 2) {
        double radius = std::sqrt(-2 * std::log(uniform()));
        double angle = 2 * M_PI * uniform();
        layer.inputs[i] = radius * std::cos(angle);
        if (i + 1 < layer.inputs.size())
          layer.inputs[i + 1] = radius * std::sin(angle);
      }
    }
  model->computeReferences();
  return model;
}

/// Sum of squared differences and of squared references.
static std::pair<double, double> squaredError(ArrayRef<float> reference,
                                              ArrayRef<float> candidate) {
  double error = 0, norm = 0;
  for (auto [r, c] : llvm::zip_equal(reference, candidate)) {
    double d = double(c) - r;
    error += d * d;
    norm += double(r) * r;
  }
  return {error, norm};
}

/// For a layer that keeps sampled rows and a scheme with a per-tensor
/// scale, the whole tensor's largest magnitude; nullopt otherwise.
Expected<std::optional<float>>
LocalErrorModel::sampledTensorMaxAbs(Layer &layer,
                                     const numerics::QuantScheme &scheme) {
  if (layer.outputsPerKept == 1 || !numerics::hasTensorScale(scheme))
    return std::optional<float>();
  if (!layer.tensorMaxAbs) {
    Expected<float> largest = store->maxFiniteAbs(layer.sampledFrom);
    if (!largest)
      return largest.takeError();
    layer.tensorMaxAbs = *largest;
  }
  return layer.tensorMaxAbs;
}

Expected<double> LocalErrorModel::relativeError(const LayerGroup &group,
                                                xfmr::PrecisionAttr record) {
  Expected<OperandSchemes> schemes = getOperandSchemes(record);
  if (!schemes)
    return schemes.takeError();
  double error = 0, norm = 0;
  for (xfmr::PrecisionOpInterface op : group.ops) {
    auto it = layers.find(op);
    if (it == layers.end())
      return llvm::createStringError("local sensitivity: layer '" +
                                     xfmr::getLayerName(op) +
                                     "' is not part of the model");
    Layer &layer = *it->second;
    std::vector<float> w(layer.weights.begin(), layer.weights.end());
    if (schemes->weights) {
      Expected<std::optional<float>> tensorMaxAbs =
          sampledTensorMaxAbs(layer, *schemes->weights);
      if (!tensorMaxAbs)
        return tensorMaxAbs.takeError();
      if (*tensorMaxAbs)
        numerics::fakeQuantizeRows(layer.weights.data(), w.data(),
                                   layer.outputs, layer.cols, *schemes->weights,
                                   **tensorMaxAbs);
      else
        numerics::fakeQuantize(layer.weights.data(), w.data(), layer.outputs,
                               layer.cols, *schemes->weights);
    }
    if (layer.isEmbedding) {
      auto [e, n] = squaredError(layer.weights, w);
      error += e * layer.outputsPerKept;
      norm += n * layer.outputsPerKept;
      continue;
    }
    std::vector<float> x = layer.inputs;
    if (schemes->activations)
      for (int64_t r = 0; r < layer.rows; ++r)
        numerics::fakeQuantize(layer.inputs.data() + r * layer.cols,
                               x.data() + r * layer.cols, 1, layer.cols,
                               *schemes->activations);
    std::vector<float> y(layer.rows * layer.outputs);
    kernels::linear(x.data(), layer.rows,
                    kernels::PackedMatrix(w.data(), layer.outputs, layer.cols),
                    nullptr, y.data(), nullptr);
    auto [e, n] = squaredError(layer.reference, y);
    error += e * layer.outputsPerKept;
    norm += n * layer.outputsPerKept;
  }
  return norm > 0 ? error / norm : 0;
}

/// Ranks of `values` from 1, ties sharing their mean rank.
static std::vector<double> ranks(ArrayRef<double> values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](size_t a, size_t b) {
    return values[a] < values[b] || (values[a] == values[b] && a < b);
  });
  std::vector<double> result(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]])
      ++j;
    for (size_t k = i; k <= j; ++k)
      result[order[k]] = (i + j) / 2.0 + 1;
    i = j + 1;
  }
  return result;
}

double mixtile::spearmanCorrelation(ArrayRef<double> a, ArrayRef<double> b) {
  assert(a.size() == b.size() && "samples differ in length");
  std::vector<double> ra = ranks(a), rb = ranks(b);
  double n = ra.size();
  if (n < 2)
    return 0;
  double meanA = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  double meanB = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double cov = 0, varA = 0, varB = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    cov += (ra[i] - meanA) * (rb[i] - meanB);
    varA += (ra[i] - meanA) * (ra[i] - meanA);
    varB += (rb[i] - meanB) * (rb[i] - meanB);
  }
  return varA > 0 && varB > 0 ? cov / std::sqrt(varA * varB) : 0;
}
