//===- AssignPrecision.cpp - choose per-layer formats under a budget ------===//
//
// The xfmr-assign-precision pass: groups, sensitivities, costs, the exact
// solver, and the solve-verify loop.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/MultipleChoiceKnapsack.h"
#include "mixtile/Dialect/Xfmr/IR/PrecisionSchemes.h"
#include "mixtile/Import/Tokenizer.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Precision/Passes.h"
#include "mixtile/Precision/Sensitivity.h"
#include "mixtile/Target/CostModel.h"
#include "mixtile/Target/TargetAttr.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

namespace mixtile::precision {
#define GEN_PASS_DEF_XFMRASSIGNPRECISION
#include "mixtile/Precision/Passes.h.inc"
} // namespace mixtile::precision

using namespace mlir;
using namespace mixtile;
using llvm::Expected;

namespace {

/// The budget: a metric and its bound, kept as an "error" that grows with
/// damage (KL; 1 - top-1 agreement; log of the perplexity ratio; relative
/// L2 of logits), so that per-group errors add up to a predicted plan error.
struct Budget {
  std::string metric;
  double bound = 0;
  /// The bound as the user wrote it (top1=0.99 stores error bound 0.01).
  std::string option;

  double errorOf(const LogitComparison &c) const {
    if (metric == "top1")
      return 1 - c.top1Agreement();
    if (metric == "rel-l2")
      return c.relativeL2();
    if (metric == "ppl-ratio")
      return std::log(c.perplexityRatio());
    return c.meanKL();
  }

  /// How the error grows with a layer's relative squared output error e, as
  /// e^p (local sensitivity): KL and log-perplexity are second order in a
  /// small logit perturbation, so linear in e; the L2 norm and the chance of
  /// an arg-max flip grow with the perturbation's size, sqrt(e).
  double localExponent() const {
    return metric == "top1" || metric == "rel-l2" ? 0.5 : 1.0;
  }

  /// What a calibration run must measure to be accepted: the bound shrunk
  /// by the held-out margin.
  double target = 0;

  /// The bound in the metric's own terms (top1=0.99, ppl-ratio=1.01).
  double stated(double error) const {
    if (metric == "top1")
      return 1 - error;
    if (metric == "ppl-ratio")
      return std::exp(error);
    return error;
  }
};

/// The measured metrics of a run, for the plan file.
llvm::json::Object metricsJSON(const LogitComparison &c) {
  return llvm::json::Object{{"kl", c.meanKL()},
                            {"top1", c.top1Agreement()},
                            {"ppl_ratio", c.perplexityRatio()},
                            {"rel_l2", c.relativeL2()}};
}

/// Per group and candidate: weight bytes, and modeled seconds when a target
/// is attached.
struct CostTables {
  std::vector<std::vector<double>> bytes;
  std::optional<std::vector<std::vector<double>>> seconds;
  /// What the solver minimizes (seconds, bytes, or the weighted mix).
  std::vector<std::vector<double>> cost;
};

/// Every group given one candidate: the baselines a plan is judged against.
struct UniformBaseline {
  std::string name;
  size_t candidate;
  double bytes = 0, seconds = 0, cost = 0, predicted = 0;
  /// Whether every group may take this candidate (pins allow it).
  bool allowed = true;
  std::optional<LogitComparison> calibration, heldOut;
};

/// A plan that passed verification.
struct VerifiedPlan {
  KnapsackSolution solution;
  std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>> assignment;
  double measured;
  std::optional<LogitComparison> calibration, heldOut;
};

/// One point of a budget sweep, or a uniform baseline in the plot.
struct SweepPoint {
  std::string label;
  double cost, metric;
};

/// Writes the Pareto frontier (cost vs measured metric, a log axis) as an
/// SVG plot: the sweep's plans as a line of circles, the uniform baselines
/// as labeled squares.
void writeSweepSvg(llvm::raw_ostream &os, const std::vector<SweepPoint> &points,
                   const std::vector<SweepPoint> &uniform, StringRef metric) {
  const double width = 720, height = 440, margin = 70;
  double maxCost = 0, minMetric = INFINITY, maxMetric = 0;
  for (const std::vector<SweepPoint> *set : {&points, &uniform})
    for (const SweepPoint &p : *set) {
      maxCost = std::max(maxCost, p.cost);
      maxMetric = std::max(maxMetric, p.metric);
      if (p.metric > 0)
        minMetric = std::min(minMetric, p.metric);
    }
  if (maxCost <= 0)
    maxCost = 1;
  if (!(maxMetric > 0))
    maxMetric = 1;
  if (!std::isfinite(minMetric) || minMetric >= maxMetric)
    minMetric = maxMetric / 10;
  double logLow = std::floor(std::log10(minMetric)),
         logHigh = std::ceil(std::log10(maxMetric));
  if (logHigh <= logLow)
    logHigh = logLow + 1;
  auto x = [&](double cost) {
    return margin + (width - 2 * margin) * cost / maxCost;
  };
  auto y = [&](double value) {
    // Zero errors sit on the bottom axis.
    double v = value > 0 ? std::log10(value) : logLow;
    v = std::clamp(v, logLow, logHigh);
    return height - margin -
           (height - 2 * margin) * (v - logLow) / (logHigh - logLow);
  };
  os << llvm::formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"{0}\" height=\"{1}\" font-family=\"sans-serif\" "
                      "font-size=\"12\">\n",
                      width, height);
  os << llvm::formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" "
                      "stroke=\"black\"/>\n",
                      margin, height - margin, width - margin);
  os << llvm::formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" "
                      "stroke=\"black\"/>\n",
                      margin, height - margin, margin);
  for (double e = logLow; e <= logHigh; ++e)
    os << llvm::formatv("<text x=\"8\" y=\"{0:F1}\">1e{1}</text>\n",
                        y(std::pow(10, e)) + 4, int(e));
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">cost (max {2:e3})</text>\n",
                      width / 2 - 60, height - 20, maxCost);
  os << llvm::formatv("<text x=\"10\" y=\"30\">{0} (log scale)</text>\n",
                      metric);
  std::vector<SweepPoint> sorted = points;
  llvm::sort(sorted, [](const SweepPoint &a, const SweepPoint &b) {
    return a.cost < b.cost;
  });
  os << "<polyline fill=\"none\" stroke=\"steelblue\" points=\"";
  for (const SweepPoint &p : sorted)
    os << llvm::formatv("{0:F1},{1:F1} ", x(p.cost), y(p.metric));
  os << "\"/>\n";
  for (const SweepPoint &p : sorted)
    os << llvm::formatv("<circle cx=\"{0:F1}\" cy=\"{1:F1}\" r=\"4\" "
                        "fill=\"steelblue\"><title>budget {2}</title>"
                        "</circle>\n",
                        x(p.cost), y(p.metric), p.label);
  for (const SweepPoint &p : uniform)
    os << llvm::formatv("<rect x=\"{0:F1}\" y=\"{1:F1}\" width=\"8\" "
                        "height=\"8\" fill=\"darkorange\"><title>uniform {2}"
                        "</title></rect><text x=\"{3:F1}\" y=\"{4:F1}\">{2}"
                        "</text>\n",
                        x(p.cost) - 4, y(p.metric) - 4, p.label, x(p.cost) + 6,
                        y(p.metric) - 6);
  os << "</svg>\n";
}

/// A format candidate: its name as written and the record it stands for.
struct Candidate {
  std::string name;
  xfmr::PrecisionAttr record;
};

/// Everything the solve-and-verify loop and the reports read.
struct Search {
  Budget budget;
  std::vector<LayerGroup> groups;
  std::vector<Candidate> menu;
  /// Menu indices each group may take (pins restrict them).
  std::vector<std::vector<size_t>> allowed;
  CostTables tables;
  /// Predicted error of each group under each candidate.
  std::vector<std::vector<double>> errors;
  /// The solver's instance over the allowed candidates.
  std::vector<std::vector<KnapsackCandidate>> instance;
  double leastError = 0;
  std::vector<UniformBaseline> uniform;
  std::unique_ptr<SensitivityMeasurer> measurer, holdoutMeasurer;
};

const char *const kDefaultCandidates[] = {
    "bf16", "fp8-e4m3", "mxfp8-e4m3", "nvfp4", "mxfp4", "mxfp4/mxfp8-e4m3"};

/// Element bits and scale storage of one operand of `record`.
OperandStorage storageOf(Type element, xfmr::PrecisionAttr record) {
  OperandStorage s;
  s.elementBits = cast<FloatType>(element).getWidth();
  if (xfmr::PrecisionAttr::needsScale(element) && record.getBlock() > 0) {
    s.scaleBits = cast<FloatType>(record.getScale()).getWidth();
    s.block = record.getBlock();
  }
  return s;
}

/// The number of positions the model's KV caches hold (0: unbounded).
int64_t contextLength(ModuleOp module) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward)
    return 0;
  for (Type input : forward.getFunctionType().getInputs().drop_front(3))
    if (auto cache = dyn_cast<RankedTensorType>(input);
        cache && cache.hasStaticShape())
      return cache.getDimSize(0);
  return 0;
}

/// The vocabulary of the model's logits (@forward's first result), or 0.
int64_t vocabSize(ModuleOp module) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.getFunctionType().getNumResults() == 0)
    return 0;
  auto logits =
      dyn_cast<RankedTensorType>(forward.getFunctionType().getResult(0));
  return logits && logits.getRank() == 2 ? logits.getDimSize(1) : 0;
}

/// objective=mix: modeled seconds and weight bytes, each relative to its
/// costliest uniform plan, weighted `latencyWeight` : 1 - latencyWeight.
std::vector<std::vector<double>> mixedCost(const CostTables &tables,
                                           double latencyWeight) {
  size_t groups = tables.bytes.size(), candidates = tables.bytes[0].size();
  double maxBytes = 0, maxSeconds = 0;
  for (size_t c = 0; c < candidates; ++c) {
    double bytes = 0, seconds = 0;
    for (size_t g = 0; g < groups; ++g) {
      bytes += tables.bytes[g][c];
      seconds += (*tables.seconds)[g][c];
    }
    maxBytes = std::max(maxBytes, bytes);
    maxSeconds = std::max(maxSeconds, seconds);
  }
  std::vector<std::vector<double>> cost(groups,
                                        std::vector<double>(candidates));
  for (size_t g = 0; g < groups; ++g)
    for (size_t c = 0; c < candidates; ++c)
      cost[g][c] =
          latencyWeight * (*tables.seconds)[g][c] /
              std::max(maxSeconds, 1e-30) +
          (1 - latencyWeight) * tables.bytes[g][c] / std::max(maxBytes, 1e-30);
  return cost;
}

/// Writes a progress line when stderr is a terminal.
class Progress {
public:
  Progress(StringRef what, size_t total) : what(what), total(total) {}
  void update(size_t done) {
    if (!llvm::errs().is_displayed())
      return;
    llvm::errs() << llvm::formatv("\rxfmr-assign-precision: {0} {1}/{2}", what,
                                  done, total);
    if (done == total)
      llvm::errs() << "\n";
    llvm::errs().flush();
  }

private:
  std::string what;
  size_t total;
};

/// The chosen plan as a table: one row per group, then the totals.
void printPlanTable(llvm::raw_ostream &os, const Search &search,
                    const VerifiedPlan &plan) {
  const Budget &budget = search.budget;
  os << llvm::formatv("{0,-64} {1,-18} {2,10} {3,12} {4,12}\n", "layer group",
                      "format", "bytes", "model (us)",
                      "predicted " + budget.metric);
  double bytes = 0, seconds = 0;
  const CostTables &tables = search.tables;
  for (size_t g = 0; g < search.groups.size(); ++g) {
    int c = plan.solution.choice[g];
    double s = tables.seconds ? (*tables.seconds)[g][c] : 0;
    bytes += tables.bytes[g][c];
    seconds += s;
    os << llvm::formatv("{0,-64} {1,-18} {2,10:F0} {3,12:F3} {4,12:e3}\n",
                        search.groups[g].name, search.menu[c].name,
                        tables.bytes[g][c], s * 1e6, search.errors[g][c]);
  }
  os << llvm::formatv("{0,-64} {1,-18} {2,10:F0} {3,12:F3} {4,12:e3}\n",
                      "total", "", bytes, seconds * 1e6, plan.solution.error);
  if (budget.metric == "local")
    os << llvm::formatv("probe error (no model run): {0:e3} (budget "
                        "local={1})\n",
                        plan.measured, budget.option);
  else
    os << llvm::formatv("measured {0} error on calibration: {1:e3} (budget "
                        "{2}={3})\n",
                        budget.metric, plan.measured, budget.metric,
                        budget.option);
  if (plan.heldOut)
    os << llvm::formatv("held-out: kl {0:e3}, top-1 {1:P2}, ppl-ratio {2:F5}, "
                        "rel-l2 {3:e3}\n",
                        plan.heldOut->meanKL(), plan.heldOut->top1Agreement(),
                        plan.heldOut->perplexityRatio(),
                        plan.heldOut->relativeL2());
}

/// The metric a sweep point or baseline is shown with: held-out when
/// measured, else calibration, else (test hook) the prediction.
double shownError(const Budget &budget,
                  const std::optional<LogitComparison> &heldOut,
                  const std::optional<LogitComparison> &calibration,
                  double predicted) {
  if (heldOut)
    return budget.errorOf(*heldOut);
  if (calibration)
    return budget.errorOf(*calibration);
  return predicted;
}

/// The calibration error a plan was verified with (the prediction under the
/// test hook, which has no model to run).
double verifiedError(const Budget &budget, const UniformBaseline &u) {
  return u.calibration ? budget.errorOf(*u.calibration) : u.predicted;
}

class AssignPrecisionPass
    : public mixtile::precision::impl::XfmrAssignPrecisionBase<
          AssignPrecisionPass> {
public:
  using XfmrAssignPrecisionBase::XfmrAssignPrecisionBase;

  void runOnOperation() override {
    if (failed(assign()))
      signalPassFailure();
  }

private:
  LogicalResult fail(const llvm::Twine &message) {
    return getOperation().emitError("xfmr-assign-precision: ") << message;
  }

  LogicalResult assign();
  LogicalResult prepareSearch(Search &search, WeightStore &store);
  FailureOr<VerifiedPlan> solveAndVerify(const Search &search,
                                         const Budget &bound);
  /// solveAndVerify without the error: nullopt when no plan of the menu is
  /// verified within `bound`.
  FailureOr<std::optional<VerifiedPlan>> findPlan(const Search &search,
                                                  const Budget &bound);
  /// The function named by function=, else @forward, else the only one.
  FailureOr<std::string> entryFunction();
  /// sensitivity=probe: every group's error on probe inputs.
  FailureOr<std::vector<std::vector<double>>>
  probeSensitivities(const Search &search, WeightStore &store);
  std::optional<VerifiedPlan>
  cheaperUniform(const Search &search, const Budget &bound, double cost) const;
  LogicalResult writeSweep(const Search &search);
  LogicalResult applyPlan();
  FailureOr<xfmr::PrecisionAttr> planRecord(const llvm::json::Object &layer,
                                            StringRef group);
  FailureOr<Budget> parseBudget();
  FailureOr<std::vector<Candidate>> parseCandidates();
  FailureOr<std::vector<std::vector<size_t>>>
  allowedCandidates(const std::vector<LayerGroup> &groups,
                    const std::vector<Candidate> &menu);
  FailureOr<CostTables> groupCosts(const std::vector<LayerGroup> &groups,
                                   const std::vector<Candidate> &candidates);
  FailureOr<std::vector<std::vector<int32_t>>> loadSequences(StringRef path,
                                                             StringRef what);
  FailureOr<std::vector<std::vector<double>>>
  readSensitivities(StringRef path, const std::vector<LayerGroup> &groups,
                    const std::vector<Candidate> &candidates, StringRef metric);
  LogicalResult writeSensitivities(const Search &search);
  FailureOr<std::vector<std::vector<double>>>
  exactSensitivities(const Search &search);
  FailureOr<std::vector<std::vector<double>>>
  localSensitivities(const Search &search, WeightStore &store,
                     const std::vector<std::vector<int32_t>> &sequences);
  LogicalResult
  compareSensitivities(const Search &search,
                       const std::vector<std::vector<double>> &local);
  FailureOr<std::vector<LogitComparison>>
  measureMany(SensitivityMeasurer &measurer, ArrayRef<Assignment> assignments,
              StringRef what);
  LogicalResult measureUniform(Search &search);
  LogicalResult writePlan(const Search &search, const VerifiedPlan &chosen);
  llvm::json::Object uniformJSON(const Search &search) const;

  /// With sensitivity=compare: how local predictions agree with exact ones.
  std::optional<llvm::json::Object> agreement;
};

FailureOr<Budget> AssignPrecisionPass::parseBudget() {
  std::pair<StringRef, StringRef> parts = StringRef(budget).split('=');
  Budget result{parts.first.str(), 0, parts.second.str()};
  double value;
  if (result.metric != "kl" && result.metric != "top1" &&
      result.metric != "rel-l2" && result.metric != "ppl-ratio" &&
      result.metric != "local")
    return fail("unsupported budget metric '" + parts.first +
                "' (supported: kl, top1, ppl-ratio, rel-l2, local)");
  // Probe errors are not a model-level metric, and model-level metrics
  // cannot be probed.
  if ((result.metric == "local") != (sensitivity == "probe"))
    return fail("budget local= goes with sensitivity=probe, and "
                "sensitivity=probe with budget local=");
  bool inRange = !parts.second.getAsDouble(value) && value >= 0 &&
                 (result.metric != "top1" || value <= 1) &&
                 (result.metric != "ppl-ratio" || value >= 1);
  if (!inRange || !std::isfinite(value))
    return fail("budget '" + budget +
                "' needs a non-negative bound (top1: at most 1; ppl-ratio: "
                "at least 1), e.g. kl=0.01, top1=0.99 or ppl-ratio=1.01");
  // top1=A allows a disagreement of 1 - A; ppl-ratio=R a log-ratio of ln R.
  result.bound = result.metric == "top1"        ? 1 - value
                 : result.metric == "ppl-ratio" ? std::log(value)
                                                : value;
  if (!(margin >= 0))
    return fail("margin must be non-negative");
  result.target = result.bound / (1 + margin);
  return result;
}

FailureOr<std::vector<Candidate>> AssignPrecisionPass::parseCandidates() {
  std::vector<std::string> names(candidates.begin(), candidates.end());
  if (names.empty())
    names.assign(std::begin(kDefaultCandidates), std::end(kDefaultCandidates));
  std::vector<Candidate> result;
  for (const std::string &name : names) {
    auto [weights, activations] = StringRef(name).split('/');
    auto emitError = [&] {
      return getOperation().emitError("xfmr-assign-precision: candidate '")
             << name << "': ";
    };
    FailureOr<xfmr::PrecisionAttr> record = xfmr::buildPrecisionRecord(
        &getContext(), weights, activations, "", emitError);
    if (failed(record))
      return failure();
    result.push_back({name, *record});
  }
  return result;
}

FailureOr<std::vector<std::vector<size_t>>>
AssignPrecisionPass::allowedCandidates(const std::vector<LayerGroup> &groups,
                                       const std::vector<Candidate> &menu) {
  std::vector<std::vector<size_t>> allowed(groups.size());
  for (std::vector<size_t> &a : allowed)
    for (size_t c = 0; c < menu.size(); ++c)
      a.push_back(c);
  for (const std::string &pin : pins) {
    std::pair<StringRef, StringRef> parts = StringRef(pin).rsplit('=');
    StringRef pattern = parts.first, name = parts.second;
    auto it =
        llvm::find_if(menu, [&](const Candidate &c) { return c.name == name; });
    if (pattern.empty() || it == menu.end())
      return fail("pin '" + pin +
                  "' must be REGEX=CANDIDATE with a candidate of the menu");
    llvm::Regex regex(pattern);
    if (std::string error; !regex.isValid(error))
      return fail("pin '" + pin + "': invalid regex: " + error);
    bool matched = false;
    for (size_t g = 0; g < groups.size(); ++g)
      if (regex.match(groups[g].name)) {
        allowed[g] = {static_cast<size_t>(it - menu.begin())};
        matched = true;
      }
    if (!matched)
      return fail("pin '" + pin + "' matches no layer group");
  }
  return allowed;
}

FailureOr<CostTables>
AssignPrecisionPass::groupCosts(const std::vector<LayerGroup> &groups,
                                const std::vector<Candidate> &candidates) {
  if (objective != "latency" && objective != "bytes" && objective != "mix")
    return fail("unknown objective '" + objective +
                "' (expected latency, bytes or mix)");
  if (objective == "mix" && !(mixWeight >= 0 && mixWeight <= 1))
    return fail(
        llvm::formatv("mix-weight {0:F2} is not in [0, 1]", double(mixWeight))
            .str());
  std::optional<TargetModel> target;
  Expected<TargetModel> attached = getAttachedTarget(getOperation());
  if (attached)
    target = *attached;
  else if (objective != "bytes")
    return fail("the " + objective + " objective needs a target: " +
                llvm::toString(attached.takeError()));
  else
    llvm::consumeError(attached.takeError());
  CostTables tables;
  if (target)
    tables.seconds.emplace();
  for (const LayerGroup &group : groups) {
    tables.bytes.emplace_back();
    if (target)
      tables.seconds->emplace_back();
    for (const Candidate &c : candidates) {
      double bytes = 0, seconds = 0;
      for (xfmr::PrecisionOpInterface op : group.ops) {
        auto weight = cast<RankedTensorType>(op.getWeightOperand().getType());
        bool embedding = isa<xfmr::EmbeddingOp>(op.getOperation());
        // A weight holds `batch` matrices of [rows, cols] (rows = N).
        int64_t cols = embedding ? weight.getDimSize(1) : op.getReductionSize();
        int64_t rows =
            embedding ? weight.getDimSize(0) : op.getOutputFeatures();
        int64_t batch = weight.getNumElements() / (rows * cols);
        bytes +=
            weight.getNumElements() * xfmr::weightBitsPerElement(c.record) / 8;
        if (!target)
          continue;
        ProductFormats formats{storageOf(c.record.getWeights(), c.record),
                               storageOf(c.record.getActivations(), c.record),
                               16};
        // An embedding reads one row per token: a [tokens, dim] gather.
        seconds +=
            isa<xfmr::EmbeddingOp>(op.getOperation())
                ? estimateMatmul(*target, workloadTokens, cols, 1, formats)
                      .memorySeconds
                : batch * estimateMatmul(*target, workloadTokens, rows, cols,
                                         formats)
                              .seconds;
      }
      tables.bytes.back().push_back(bytes);
      if (target)
        tables.seconds->back().push_back(seconds);
    }
  }
  if (objective == "latency")
    tables.cost = *tables.seconds;
  else if (objective == "bytes")
    tables.cost = tables.bytes;
  else
    tables.cost = mixedCost(tables, mixWeight);
  return tables;
}

FailureOr<std::vector<std::vector<int32_t>>>
AssignPrecisionPass::loadSequences(StringRef path, StringRef what) {
  Expected<std::vector<std::vector<int32_t>>> sequences =
      std::vector<std::vector<int32_t>>();
  if (tokenizer.empty()) {
    sequences = readTokenSequences(path);
  } else {
    Expected<Tokenizer> tok =
        Tokenizer::loadLlama2C(tokenizer, vocabSize(getOperation()));
    if (!tok)
      return fail(llvm::toString(tok.takeError()));
    sequences = readTextSequences(path, *tok);
  }
  if (!sequences)
    return fail(what + " " + llvm::toString(sequences.takeError()));
  if (maxSequences && sequences->size() > maxSequences)
    sequences->resize(maxSequences);
  if (int64_t context = contextLength(getOperation()))
    for (std::vector<int32_t> &sequence : *sequences)
      if (int64_t(sequence.size()) > context)
        sequence.resize(context);
  return std::move(*sequences);
}

FailureOr<std::vector<std::vector<double>>>
AssignPrecisionPass::readSensitivities(StringRef path,
                                       const std::vector<LayerGroup> &groups,
                                       const std::vector<Candidate> &candidates,
                                       StringRef metric) {
  auto buffer = llvm::MemoryBuffer::getFile(path, true);
  if (!buffer)
    return fail("cannot read '" + path + "'");
  Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  const llvm::json::Object *root = json ? json->getAsObject() : nullptr;
  if (!root) {
    if (!json)
      llvm::consumeError(json.takeError());
    return fail("'" + path + "' is not a JSON object");
  }
  // Files written by sensitivities-out say which metric they measured; the
  // test hook's are the bare table.
  if (std::optional<StringRef> saved = root->getString("metric"))
    if (!metric.empty() && *saved != metric)
      return fail("'" + path + "' holds " + *saved +
                  " sensitivities, but the budget is " + metric);
  if (const llvm::json::Object *table = root->getObject("groups"))
    root = table;
  std::vector<std::vector<double>> errors;
  for (const LayerGroup &group : groups) {
    const llvm::json::Object *row = root->getObject(group.name);
    if (!row)
      return fail("'" + path + "' has no entry for group '" + group.name + "'");
    errors.emplace_back();
    for (const Candidate &c : candidates) {
      std::optional<double> value = row->getNumber(c.name);
      if (!value)
        return fail("'" + path + "' has no value for '" + group.name + "' / '" +
                    c.name + "'");
      errors.back().push_back(*value);
    }
  }
  return errors;
}

LogicalResult AssignPrecisionPass::writeSensitivities(const Search &search) {
  llvm::json::Object table;
  for (auto [group, row] : llvm::zip_equal(search.groups, search.errors)) {
    llvm::json::Object entry;
    for (auto [c, error] : llvm::zip_equal(search.menu, row))
      entry[c.name] = error;
    table[group.name] = std::move(entry);
  }
  llvm::json::Object root{{"metric", search.budget.metric},
                          {"mode", sensitivity},
                          {"calibration", calibration},
                          {"groups", std::move(table)}};
  if (llvm::Error error =
          llvm::writeToOutput(sensitivitiesOut, [&](llvm::raw_ostream &os) {
            os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
               << "\n";
            return llvm::Error::success();
          }))
    return fail(llvm::toString(std::move(error)));
  return success();
}

FailureOr<std::vector<LogitComparison>>
AssignPrecisionPass::measureMany(SensitivityMeasurer &measurer,
                                 ArrayRef<Assignment> assignments,
                                 StringRef what) {
  Progress progress(what, assignments.size());
  Expected<std::vector<LogitComparison>> results = measurer.measureAll(
      assignments, [&](size_t done) { progress.update(done); });
  if (!results)
    return fail(llvm::toString(results.takeError()));
  return std::move(*results);
}

/// One assignment per group and candidate, group-major.
static std::vector<Assignment> singleGroupAssignments(const Search &search) {
  std::vector<Assignment> assignments;
  for (const LayerGroup &group : search.groups)
    for (const Candidate &c : search.menu)
      assignments.push_back({{&group, c.record}});
  return assignments;
}

FailureOr<std::vector<std::vector<double>>>
AssignPrecisionPass::exactSensitivities(const Search &search) {
  FailureOr<std::vector<LogitComparison>> results = measureMany(
      *search.measurer, singleGroupAssignments(search), "exact sensitivity");
  if (failed(results))
    return failure();
  std::vector<std::vector<double>> errors(search.groups.size());
  size_t next = 0;
  for (std::vector<double> &row : errors)
    for (size_t c = 0; c < search.menu.size(); ++c)
      row.push_back(search.budget.errorOf((*results)[next++]));
  return errors;
}

FailureOr<std::vector<std::vector<double>>>
AssignPrecisionPass::localSensitivities(
    const Search &search, WeightStore &store,
    const std::vector<std::vector<int32_t>> &sequences) {
  Expected<std::unique_ptr<LocalErrorModel>> local =
      LocalErrorModel::create(getOperation(), store, sequences, localRows);
  if (!local)
    return fail(llvm::toString(local.takeError()));
  // Each group's relative output error per candidate, and its probe: the
  // candidate that disturbs it most, run through the whole model once.
  std::vector<std::vector<double>> outputError(search.groups.size());
  std::vector<size_t> probe(search.groups.size());
  std::vector<Assignment> probes;
  for (auto [g, group] : llvm::enumerate(search.groups)) {
    for (const Candidate &c : search.menu) {
      Expected<double> e = (*local)->relativeError(group, c.record);
      if (!e)
        return fail(llvm::toString(e.takeError()));
      outputError[g].push_back(*e);
    }
    probe[g] = llvm::max_element(outputError[g]) - outputError[g].begin();
    probes.push_back({{&group, search.menu[probe[g]].record}});
  }
  FailureOr<std::vector<LogitComparison>> measured =
      measureMany(*search.measurer, probes, "local sensitivity probes");
  if (failed(measured))
    return failure();
  // The model-level error grows like (output error)^p around the probe.
  double p = search.budget.localExponent();
  std::vector<std::vector<double>> errors(search.groups.size());
  for (size_t g = 0; g < search.groups.size(); ++g) {
    double probeError = search.budget.errorOf((*measured)[g]);
    double probeOutput = outputError[g][probe[g]];
    for (double e : outputError[g])
      errors[g].push_back(
          probeOutput > 0 ? probeError * std::pow(e / probeOutput, p) : 0);
  }
  return errors;
}

LogicalResult AssignPrecisionPass::compareSensitivities(
    const Search &search, const std::vector<std::vector<double>> &local) {
  std::vector<double> exactAll, localAll, deviations;
  for (size_t g = 0; g < search.groups.size(); ++g)
    for (size_t c = 0; c < search.menu.size(); ++c) {
      double exact = search.errors[g][c], approx = local[g][c];
      exactAll.push_back(exact);
      localAll.push_back(approx);
      // Relative deviation where the exact error is meaningful: at least a
      // thousandth of the budget.
      if (exact > 1e-3 * search.budget.bound)
        deviations.push_back(std::fabs(approx - exact) / exact);
    }
  llvm::sort(deviations);
  double median = deviations.empty() ? 0 : deviations[deviations.size() / 2];
  double worst = deviations.empty() ? 0 : deviations.back();
  // The plan each would choose at the budget, judged by the exact errors and
  // by running it.
  std::vector<std::vector<KnapsackCandidate>> localInstance;
  for (size_t g = 0; g < search.groups.size(); ++g) {
    localInstance.emplace_back();
    for (size_t c : search.allowed[g])
      localInstance.back().push_back({search.tables.cost[g][c], local[g][c]});
  }
  llvm::json::Object report{
      {"spearman", spearmanCorrelation(exactAll, localAll)},
      {"median_relative_deviation", median},
      {"max_relative_deviation", worst},
      {"pairs", int64_t(exactAll.size())}};
  std::optional<KnapsackSolution> exactPlan =
      solveMultipleChoiceKnapsack(search.instance, search.budget.bound);
  std::optional<KnapsackSolution> localPlan =
      solveMultipleChoiceKnapsack(localInstance, search.budget.bound);
  if (exactPlan && localPlan) {
    Assignment assignment;
    double exactPredicted = 0;
    for (size_t g = 0; g < search.groups.size(); ++g) {
      size_t c = search.allowed[g][localPlan->choice[g]];
      assignment.push_back({&search.groups[g], search.menu[c].record});
      exactPredicted += search.errors[g][c];
    }
    Expected<LogitComparison> run = search.measurer->measure(assignment);
    if (!run)
      return fail(llvm::toString(run.takeError()));
    report["exact_plan_cost"] = exactPlan->cost;
    report["local_plan_cost"] = localPlan->cost;
    report["local_plan_exact_predicted_error"] = exactPredicted;
    report["local_plan_measured_error"] = search.budget.errorOf(*run);
  }
  llvm::errs() << llvm::formatv(
      "xfmr-assign-precision: local vs exact sensitivity over {0} pairs: "
      "Spearman {1:F3}, median relative deviation {2:P1}, max {3:P1}\n",
      exactAll.size(), spearmanCorrelation(exactAll, localAll), median, worst);
  agreement = std::move(report);
  return success();
}

LogicalResult AssignPrecisionPass::measureUniform(Search &search) {
  std::vector<Assignment> assignments;
  for (size_t c = 0; c < search.menu.size(); ++c) {
    UniformBaseline u;
    u.name = search.menu[c].name;
    u.candidate = c;
    Assignment assignment;
    for (size_t g = 0; g < search.groups.size(); ++g) {
      u.bytes += search.tables.bytes[g][c];
      u.seconds += search.tables.seconds ? (*search.tables.seconds)[g][c] : 0;
      u.cost += search.tables.cost[g][c];
      u.predicted += search.errors[g][c];
      u.allowed &= llvm::is_contained(search.allowed[g], c);
      assignment.push_back({&search.groups[g], search.menu[c].record});
    }
    search.uniform.push_back(std::move(u));
    assignments.push_back(std::move(assignment));
  }
  if (!search.measurer)
    return success();
  FailureOr<std::vector<LogitComparison>> calibration =
      measureMany(*search.measurer, assignments, "uniform baselines");
  if (failed(calibration))
    return failure();
  for (auto [u, run] : llvm::zip_equal(search.uniform, *calibration))
    u.calibration = run;
  if (!search.holdoutMeasurer)
    return success();
  FailureOr<std::vector<LogitComparison>> heldOut = measureMany(
      *search.holdoutMeasurer, assignments, "uniform baselines (held-out)");
  if (failed(heldOut))
    return failure();
  for (auto [u, run] : llvm::zip_equal(search.uniform, *heldOut))
    u.heldOut = run;
  return success();
}

LogicalResult AssignPrecisionPass::applyPlan() {
  auto buffer = llvm::MemoryBuffer::getFile(planIn, /*IsText=*/true);
  if (!buffer)
    return fail("cannot read plan '" + planIn + "'");
  Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  const llvm::json::Object *root = json ? json->getAsObject() : nullptr;
  const llvm::json::Array *layers = root ? root->getArray("layers") : nullptr;
  if (!layers) {
    if (!json)
      llvm::consumeError(json.takeError());
    return fail("plan '" + planIn + "' is not a JSON object with \"layers\"");
  }
  FailureOr<std::string> function = entryFunction();
  if (failed(function))
    return failure();
  std::vector<LayerGroup> groups = groupLayers(getOperation(), *function);
  llvm::StringMap<const LayerGroup *> byName;
  for (const LayerGroup &g : groups)
    byName[g.name] = &g;
  std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>> assignment;
  for (const llvm::json::Value &entry : *layers) {
    const llvm::json::Object *layer = entry.getAsObject();
    std::optional<StringRef> name =
        layer ? layer->getString("group") : std::nullopt;
    if (!name)
      return fail("plan '" + planIn + "': every layer needs a \"group\"");
    const LayerGroup *group = byName.lookup(*name);
    if (!group)
      return fail("plan '" + planIn + "' names layer group '" + *name +
                  "', which the model does not have");
    FailureOr<xfmr::PrecisionAttr> record = planRecord(*layer, *name);
    if (failed(record))
      return failure();
    assignment.push_back({group, *record});
  }
  for (auto &[group, record] : assignment)
    for (xfmr::PrecisionOpInterface op : group->ops)
      op.setPrecisionRecord(record);
  return success();
}

FailureOr<xfmr::PrecisionAttr>
AssignPrecisionPass::planRecord(const llvm::json::Object &layer,
                                StringRef group) {
  if (std::optional<StringRef> text = layer.getString("record")) {
    auto record = dyn_cast_or_null<xfmr::PrecisionAttr>(
        parseAttribute(*text, &getContext()));
    if (!record)
      return fail("plan '" + planIn + "': layer group '" + group +
                  "' has record '" + *text +
                  "', which is not a valid #xfmr.precision");
    return record;
  }
  std::optional<StringRef> candidate = layer.getString("candidate");
  if (!candidate)
    return fail("plan '" + planIn + "': layer group '" + group +
                "' needs a \"record\" or a \"candidate\"");
  std::pair<StringRef, StringRef> parts = candidate->split('/');
  auto emitError = [&] {
    return getOperation().emitError("xfmr-assign-precision: plan '")
           << planIn << "': layer group '" << group << "': ";
  };
  return xfmr::buildPrecisionRecord(&getContext(), parts.first, parts.second,
                                    "", emitError);
}

FailureOr<std::string> AssignPrecisionPass::entryFunction() {
  if (!function.empty()) {
    if (!getOperation().lookupSymbol<func::FuncOp>(function))
      return fail("no function @" + function + " in the module");
    return std::string(function);
  }
  if (getOperation().lookupSymbol<func::FuncOp>("forward"))
    return std::string("forward");
  auto functions = getOperation().getOps<func::FuncOp>();
  if (llvm::range_size(functions) == 1)
    return (*functions.begin()).getSymName().str();
  return fail("the module has no @forward; name the function to assign "
              "with function=");
}

FailureOr<std::vector<std::vector<double>>>
AssignPrecisionPass::probeSensitivities(const Search &search,
                                        WeightStore &store) {
  if (probeRows <= 0)
    return fail("probe-rows must be positive");
  if (probeOutputs < 0)
    return fail("probe-outputs must be 0 (every output) or positive");
  Expected<std::unique_ptr<LocalErrorModel>> model =
      LocalErrorModel::createFromProbes(search.groups, store, probeRows,
                                        probeSeed, probeOutputs);
  if (!model)
    return fail(llvm::toString(model.takeError()));
  std::vector<std::vector<double>> errors;
  for (const LayerGroup &group : search.groups) {
    errors.emplace_back();
    for (const Candidate &c : search.menu) {
      Expected<double> error = (*model)->relativeError(group, c.record);
      if (!error)
        return fail(llvm::toString(error.takeError()));
      errors.back().push_back(*error);
    }
  }
  return errors;
}

LogicalResult AssignPrecisionPass::prepareSearch(Search &search,
                                                 WeightStore &store) {
  FailureOr<Budget> bound = parseBudget();
  FailureOr<std::vector<Candidate>> menu = parseCandidates();
  if (failed(bound) || failed(menu))
    return failure();
  if (sensitivity != "exact" && sensitivity != "local" &&
      sensitivity != "compare" && sensitivity != "probe")
    return fail("unknown sensitivity mode '" + sensitivity +
                "' (expected exact, local, compare or probe)");
  FailureOr<std::string> entry = entryFunction();
  if (failed(entry))
    return failure();
  search.budget = *bound;
  search.menu = std::move(*menu);
  search.groups = groupLayers(getOperation(), *entry);
  if (search.groups.empty())
    return fail("@" + *entry + " has no layers with weights to assign");
  FailureOr<CostTables> tables = groupCosts(search.groups, search.menu);
  if (failed(tables))
    return failure();
  FailureOr<std::vector<std::vector<size_t>>> allowed =
      allowedCandidates(search.groups, search.menu);
  if (failed(allowed))
    return failure();
  search.tables = std::move(*tables);
  search.allowed = std::move(*allowed);

  FailureOr<std::vector<std::vector<double>>> errors = failure();
  if (!testSensitivities.empty()) {
    errors =
        readSensitivities(testSensitivities, search.groups, search.menu, "");
  } else if (sensitivity == "probe") {
    if (!calibration.empty() || !holdout.empty())
      return fail("sensitivity=probe uses no data; drop calibration= and "
                  "holdout=");
    errors = probeSensitivities(search, store);
  } else {
    if (calibration.empty())
      return fail("needs calibration tokens (calibration=FILE)");
    // Saved sensitivities are checked before anything runs.
    if (!sensitivitiesIn.empty()) {
      errors = readSensitivities(sensitivitiesIn, search.groups, search.menu,
                                 search.budget.metric);
      if (failed(errors))
        return failure();
    }
    FailureOr<std::vector<std::vector<int32_t>>> sequences =
        loadSequences(calibration, "calibration");
    if (failed(sequences))
      return failure();
    Expected<std::unique_ptr<SensitivityMeasurer>> created =
        SensitivityMeasurer::create(getOperation(), store, *sequences, threads);
    if (!created)
      return fail(llvm::toString(created.takeError()));
    search.measurer = std::move(*created);
    if (sensitivitiesIn.empty())
      errors = sensitivity == "local"
                   ? localSensitivities(search, store, *sequences)
                   : exactSensitivities(search);
    if (succeeded(errors) && sensitivity == "compare" &&
        sensitivitiesIn.empty()) {
      search.errors = *errors;
      FailureOr<std::vector<std::vector<double>>> local =
          localSensitivities(search, store, *sequences);
      if (failed(local))
        return failure();
      // compareSensitivities solves with the exact instance, built below.
      errors = std::move(search.errors);
      search.errors = {};
      search.instance.clear();
      for (size_t g = 0; g < search.groups.size(); ++g) {
        search.instance.emplace_back();
        for (size_t c : search.allowed[g])
          search.instance.back().push_back(
              {search.tables.cost[g][c], (*errors)[g][c]});
      }
      search.errors = *errors;
      if (failed(compareSensitivities(search, *local)))
        return failure();
    }
  }
  if (failed(errors))
    return failure();
  search.errors = std::move(*errors);
  if (!sensitivitiesOut.empty() && failed(writeSensitivities(search)))
    return failure();

  search.instance.clear();
  search.leastError = 0;
  for (size_t g = 0; g < search.groups.size(); ++g) {
    search.instance.emplace_back();
    double least = INFINITY;
    for (size_t c : search.allowed[g]) {
      search.instance.back().push_back(
          {search.tables.cost[g][c], search.errors[g][c]});
      least = std::min(least, search.errors[g][c]);
    }
    search.leastError += least;
  }

  if (!holdout.empty()) {
    FailureOr<std::vector<std::vector<int32_t>>> sequences =
        loadSequences(holdout, "held-out");
    if (failed(sequences))
      return failure();
    Expected<std::unique_ptr<SensitivityMeasurer>> created =
        SensitivityMeasurer::create(getOperation(), store,
                                    std::move(*sequences), threads);
    if (!created)
      return fail(llvm::toString(created.takeError()));
    search.holdoutMeasurer = std::move(*created);
  }
  return measureUniform(search);
}

LogicalResult AssignPrecisionPass::assign() {
  if (!planIn.empty())
    return applyPlan();
  Search search;
  WeightStore store;
  if (failed(prepareSearch(search, store)))
    return failure();
  if (!sweep.empty())
    if (failed(writeSweep(search)))
      return failure();
  FailureOr<VerifiedPlan> chosen = solveAndVerify(search, search.budget);
  if (failed(chosen))
    return failure();
  for (auto &[group, record] : chosen->assignment)
    for (xfmr::PrecisionOpInterface op : group->ops)
      op.setPrecisionRecord(record);
  if (printTable)
    printPlanTable(llvm::outs(), search, *chosen);
  return writePlan(search, *chosen);
}

std::optional<VerifiedPlan>
AssignPrecisionPass::cheaperUniform(const Search &search, const Budget &bound,
                                    double cost) const {
  const UniformBaseline *best = nullptr;
  for (const UniformBaseline &u : search.uniform)
    if (u.allowed && verifiedError(bound, u) <= bound.target && u.cost < cost &&
        (!best || u.cost < best->cost))
      best = &u;
  if (!best)
    return std::nullopt;
  VerifiedPlan plan;
  plan.solution.choice.assign(search.groups.size(), int(best->candidate));
  plan.solution.cost = best->cost;
  plan.solution.error = best->predicted;
  for (const LayerGroup &group : search.groups)
    plan.assignment.push_back({&group, search.menu[best->candidate].record});
  plan.measured = verifiedError(bound, *best);
  plan.calibration = best->calibration;
  plan.heldOut = best->heldOut;
  return plan;
}

static std::string infeasibleMessage(const Search &search,
                                     const Budget &bound) {
  return llvm::formatv("no plan in the menu meets {0}={1} (least predicted "
                       "{0} error {2:e3})",
                       bound.metric, bound.option,
                       bound.stated(search.leastError))
      .str();
}

FailureOr<std::optional<VerifiedPlan>>
AssignPrecisionPass::findPlan(const Search &search, const Budget &bound) {
  // Solve, run the plan, and tighten the predicted budget while the measured
  // error is over the bound. Predicted errors only add approximately, so a
  // uniform plan measured within the bound may beat the solver's choice; the
  // cheapest verified plan wins.
  double predictedBudget = bound.target;
  for (unsigned round = 0; round < maxRounds; ++round) {
    std::optional<KnapsackSolution> plan =
        solveMultipleChoiceKnapsack(search.instance, predictedBudget);
    if (!plan)
      break;
    // Back from positions among the allowed candidates to menu indices.
    for (size_t g = 0; g < search.groups.size(); ++g)
      plan->choice[g] = search.allowed[g][plan->choice[g]];
    VerifiedPlan verified{*plan, {}, plan->error, std::nullopt, std::nullopt};
    for (size_t g = 0; g < search.groups.size(); ++g)
      verified.assignment.push_back(
          {&search.groups[g], search.menu[plan->choice[g]].record});
    if (search.measurer) {
      Expected<LogitComparison> result =
          search.measurer->measure(verified.assignment);
      if (!result)
        return fail(llvm::toString(result.takeError()));
      verified.measured = bound.errorOf(*result);
      verified.calibration = *result;
    }
    if (verified.measured <= bound.target) {
      if (std::optional<VerifiedPlan> uniform =
              cheaperUniform(search, bound, plan->cost))
        return std::optional<VerifiedPlan>(*uniform);
      if (search.holdoutMeasurer) {
        Expected<LogitComparison> heldOut =
            search.holdoutMeasurer->measure(verified.assignment);
        if (!heldOut)
          return fail(llvm::toString(heldOut.takeError()));
        verified.heldOut = *heldOut;
      }
      return std::optional<VerifiedPlan>(std::move(verified));
    }
    if (predictedBudget <= search.leastError)
      break;
    predictedBudget =
        std::max(search.leastError,
                 predictedBudget * 0.9 * (bound.target / verified.measured));
  }
  return cheaperUniform(search, bound, INFINITY);
}

FailureOr<VerifiedPlan>
AssignPrecisionPass::solveAndVerify(const Search &search, const Budget &bound) {
  FailureOr<std::optional<VerifiedPlan>> plan = findPlan(search, bound);
  if (failed(plan))
    return failure();
  if (*plan)
    return **plan;
  return fail(infeasibleMessage(search, bound));
}

/// The plan's weight bytes and modeled seconds.
static std::pair<double, double> planTotals(const Search &search,
                                            const KnapsackSolution &solution) {
  double bytes = 0, seconds = 0;
  for (size_t g = 0; g < search.groups.size(); ++g) {
    int c = solution.choice[g];
    bytes += search.tables.bytes[g][c];
    seconds += search.tables.seconds ? (*search.tables.seconds)[g][c] : 0;
  }
  return {bytes, seconds};
}

LogicalResult AssignPrecisionPass::writeSweep(const Search &search) {
  const Budget &base = search.budget;
  llvm::json::Array frontier;
  std::vector<SweepPoint> points, uniform;
  for (const UniformBaseline &u : search.uniform)
    uniform.push_back(
        {u.name, u.cost,
         shownError(base, u.heldOut, u.calibration, u.predicted)});
  if (printTable)
    llvm::outs() << llvm::formatv("{0,-10} {1,14} {2,-18} {3,14} {4,14}\n",
                                  "budget", "plan cost", "best uniform",
                                  "uniform cost", "shown " + base.metric);
  for (const std::string &value : sweep) {
    double number;
    Budget bound = base;
    bound.option = value;
    bound.metric = base.metric;
    if (StringRef(value).getAsDouble(number) || !(number >= 0) ||
        (base.metric == "top1" && number > 1) ||
        (base.metric == "ppl-ratio" && number < 1))
      return fail("sweep value '" + value + "' is not a valid " + base.metric +
                  " bound");
    bound.bound = base.metric == "top1"        ? 1 - number
                  : base.metric == "ppl-ratio" ? std::log(number)
                                               : number;
    bound.target = bound.bound / (1 + margin);
    FailureOr<std::optional<VerifiedPlan>> found = findPlan(search, bound);
    if (failed(found))
      return failure();
    // A sweep reaching past what the menu can meet records the point and
    // goes on, so one tight budget does not lose the rest of the frontier.
    if (!*found) {
      getOperation().emitWarning("sweep: ") << infeasibleMessage(search, bound);
      frontier.push_back(llvm::json::Object{
          {"budget", value},
          {"infeasible", true},
          {"least_predicted_error", bound.stated(search.leastError)}});
      if (printTable)
        llvm::outs() << llvm::formatv("{0,-10} {1,14}\n", value,
                                      "(infeasible)");
      continue;
    }
    std::optional<VerifiedPlan> &verified = *found;
    auto [bytes, seconds] = planTotals(search, verified->solution);
    double shown = shownError(bound, verified->heldOut, verified->calibration,
                              verified->measured);
    points.push_back({value, verified->solution.cost, shown});
    llvm::json::Object entry{
        {"budget", value},
        {"cost", verified->solution.cost},
        {"weight_bytes", bytes},
        {"predicted_error", verified->solution.error},
        {"measured_calibration_error", verified->measured}};
    if (search.tables.seconds)
      entry["modeled_seconds"] = seconds;
    if (verified->heldOut)
      entry["holdout"] = metricsJSON(*verified->heldOut);
    // The cheapest uniform plan verified within this bound, for comparison.
    const UniformBaseline *best = nullptr;
    for (const UniformBaseline &u : search.uniform)
      if (verifiedError(bound, u) <= bound.target &&
          (!best || u.cost < best->cost))
        best = &u;
    if (best)
      entry["best_uniform"] =
          llvm::json::Object{{"candidate", best->name}, {"cost", best->cost}};
    if (printTable)
      llvm::outs() << llvm::formatv(
          "{0,-10} {1,14:e4} {2,-18} {3,14} {4,14:e3}\n", value,
          verified->solution.cost, best ? best->name : "(none)",
          best ? llvm::formatv("{0:e4}", best->cost).str() : "-",
          bound.stated(shown));
    frontier.push_back(std::move(entry));
  }
  if (!sweepOut.empty())
    if (llvm::Error error =
            llvm::writeToOutput(sweepOut, [&](llvm::raw_ostream &os) {
              os << llvm::formatv("{0:2}",
                                  llvm::json::Value(std::move(frontier)))
                 << "\n";
              return llvm::Error::success();
            }))
      return fail(llvm::toString(std::move(error)));
  if (!sweepSvg.empty())
    if (llvm::Error error =
            llvm::writeToOutput(sweepSvg, [&](llvm::raw_ostream &os) {
              writeSweepSvg(os, points, uniform, base.metric);
              return llvm::Error::success();
            }))
      return fail(llvm::toString(std::move(error)));
  return success();
}

llvm::json::Object
AssignPrecisionPass::uniformJSON(const Search &search) const {
  llvm::json::Object uniform;
  for (const UniformBaseline &u : search.uniform) {
    llvm::json::Object entry{{"weight_bytes", u.bytes},
                             {"cost", u.cost},
                             {"predicted_error", u.predicted}};
    if (search.tables.seconds)
      entry["modeled_seconds"] = u.seconds;
    if (u.calibration)
      entry["calibration"] = metricsJSON(*u.calibration);
    if (u.heldOut)
      entry["holdout"] = metricsJSON(*u.heldOut);
    uniform[u.name] = std::move(entry);
  }
  return uniform;
}

LogicalResult AssignPrecisionPass::writePlan(const Search &search,
                                             const VerifiedPlan &chosen) {
  if (plan.empty())
    return success();
  const KnapsackSolution &solution = chosen.solution;
  llvm::json::Array layers;
  for (size_t g = 0; g < search.groups.size(); ++g) {
    int c = solution.choice[g];
    std::string record;
    llvm::raw_string_ostream(record) << Attribute(search.menu[c].record);
    llvm::json::Object layer{{"group", search.groups[g].name},
                             {"candidate", search.menu[c].name},
                             {"record", record},
                             {"weight_bytes", search.tables.bytes[g][c]},
                             {"predicted_error", search.errors[g][c]}};
    if (search.tables.seconds)
      layer["modeled_seconds"] = (*search.tables.seconds)[g][c];
    layers.push_back(std::move(layer));
  }
  auto [totalBytes, totalSeconds] = planTotals(search, solution);
  llvm::json::Object root{
      {"budget",
       llvm::json::Object{{"metric", search.budget.metric},
                          {"option", std::string(this->budget)},
                          {"error_bound", search.budget.bound},
                          {"margin", double(margin)},
                          {"calibration_target", search.budget.target}}},
      {"objective", objective},
      {"workload_tokens", int64_t(workloadTokens)},
      {"sensitivity_mode", sensitivity},
      {"layers", std::move(layers)},
      {"total_cost", solution.cost},
      {"total_weight_bytes", totalBytes},
      {"uniform", uniformJSON(search)},
      {"predicted_error", solution.error},
      {"measured_calibration_error", chosen.measured}};
  if (objective == "mix")
    root["mix_weight"] = double(mixWeight);
  if (search.tables.seconds)
    root["total_modeled_seconds"] = totalSeconds;
  if (chosen.calibration)
    root["calibration"] = metricsJSON(*chosen.calibration);
  if (chosen.heldOut)
    root["holdout"] = metricsJSON(*chosen.heldOut);
  if (agreement)
    root["sensitivity_agreement"] = llvm::json::Object(*agreement);
  if (search.measurer)
    root["calibration_tokens"] = search.measurer->numTokens();
  if (search.holdoutMeasurer)
    root["holdout_tokens"] = search.holdoutMeasurer->numTokens();
  if (llvm::Error error = llvm::writeToOutput(plan, [&](llvm::raw_ostream &os) {
        os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
           << "\n";
        return llvm::Error::success();
      }))
    return fail(llvm::toString(std::move(error)));
  return success();
}

} // namespace
