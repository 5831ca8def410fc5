//===- AssignPrecision.cpp - choose per-layer formats under a budget ------===//
//
// The xfmr-assign-precision pass: groups, sensitivities, costs, the exact
// solver, and the solve-verify loop.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Analysis/MultipleChoiceKnapsack.h"
#include "mixtile/Dialect/Xfmr/IR/PrecisionSchemes.h"
#include "mixtile/Import/WeightStore.h"
#include "mixtile/Precision/Passes.h"
#include "mixtile/Precision/Sensitivity.h"
#include "mixtile/Target/CostModel.h"
#include "mixtile/Target/TargetAttr.h"

#include "mlir/AsmParser/AsmParser.h"
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
/// damage (KL; 1 - top-1 agreement; relative L2 of logits), so that
/// per-group errors add up to a predicted plan error.
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
    return c.meanKL();
  }
};

/// The measured metrics of a run, for the plan file.
llvm::json::Object metricsJSON(const LogitComparison &c) {
  return llvm::json::Object{{"kl", c.meanKL()},
                            {"top1", c.top1Agreement()},
                            {"rel_l2", c.relativeL2()}};
}

/// Per group and candidate: weight bytes, and modeled seconds when a target
/// is attached.
struct CostTables {
  std::vector<std::vector<double>> bytes;
  std::optional<std::vector<std::vector<double>>> seconds;
};

/// A plan that passed verification.
struct VerifiedPlan {
  KnapsackSolution solution;
  std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>> assignment;
  double measured;
  std::optional<LogitComparison> calibration, heldOut;
};

/// One point of a budget sweep.
struct SweepPoint {
  std::string budget;
  double cost, metric;
};

/// Writes the Pareto frontier (cost vs measured metric) as an SVG plot.
void writeSweepSvg(llvm::raw_ostream &os, const std::vector<SweepPoint> &points,
                   StringRef metric) {
  const double width = 640, height = 400, margin = 60;
  double maxCost = 0, maxMetric = 0;
  for (const SweepPoint &p : points) {
    maxCost = std::max(maxCost, p.cost);
    maxMetric = std::max(maxMetric, p.metric);
  }
  if (maxCost <= 0)
    maxCost = 1;
  if (maxMetric <= 0)
    maxMetric = 1;
  auto x = [&](double cost) {
    return margin + (width - 2 * margin) * cost / maxCost;
  };
  auto y = [&](double value) {
    return height - margin - (height - 2 * margin) * value / maxMetric;
  };
  os << llvm::formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"{0}\" height=\"{1}\">\n",
                      width, height);
  os << llvm::formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" "
                      "stroke=\"black\"/>\n",
                      margin, height - margin, width - margin);
  os << llvm::formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" "
                      "stroke=\"black\"/>\n",
                      margin, height - margin, margin);
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">cost (max {2:e3})</text>\n",
                      width / 2 - 60, height - 20, maxCost);
  os << llvm::formatv("<text x=\"10\" y=\"30\">{0} (max {1:e3})</text>\n",
                      metric, maxMetric);
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
                        x(p.cost), y(p.metric), p.budget);
  os << "</svg>\n";
}

/// A format candidate: its name as written and the record it stands for.
struct Candidate {
  std::string name;
  xfmr::PrecisionAttr record;
};

/// What the solve-and-verify loop needs.
struct SearchState {
  const std::vector<LayerGroup> &groups;
  const std::vector<Candidate> &menu;
  const std::vector<std::vector<size_t>> &allowed;
  const std::vector<std::vector<KnapsackCandidate>> &instance;
  double leastError;
  SensitivityMeasurer *measurer, *holdoutMeasurer;
};

const char *const kDefaultCandidates[] = {"bf16",  "fp8-e4m3",
                                          "mxfp8-e4m3", "nvfp4",
                                          "mxfp4", "mxfp4/mxfp8-e4m3"};

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

/// Reads token sequences: one id per line, a new sequence at each BOS (1).
Expected<std::vector<std::vector<int32_t>>> readSequences(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createFileError(path, buffer.getError());
  std::vector<std::vector<int32_t>> sequences;
  SmallVector<StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (auto [n, line] : llvm::enumerate(lines)) {
    int32_t id;
    if (line.trim().getAsInteger(10, id) || id < 0)
      return llvm::createFileError(
          path, n + 1,
          llvm::createStringError("expected a token id, got '" + line.trim() +
                                  "'"));
    if (id == 1 || sequences.empty())
      sequences.emplace_back();
    sequences.back().push_back(id);
  }
  if (sequences.empty())
    return llvm::createFileError(path, llvm::createStringError("no tokens"));
  return sequences;
}

/// The chosen plan as a table: one row per group, then the totals.
void printPlanTable(llvm::raw_ostream &os, const std::vector<LayerGroup> &groups,
                    const std::vector<Candidate> &menu,
                    const VerifiedPlan &plan, const CostTables &tables,
                    const std::vector<std::vector<double>> &errors,
                    const Budget &budget) {
  os << llvm::formatv("{0,-64} {1,-18} {2,10} {3,12} {4,12}\n", "layer group",
                      "format", "bytes", "model (us)",
                      "predicted " + budget.metric);
  double bytes = 0, seconds = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    int c = plan.solution.choice[g];
    double s = tables.seconds ? (*tables.seconds)[g][c] : 0;
    bytes += tables.bytes[g][c];
    seconds += s;
    os << llvm::formatv("{0,-64} {1,-18} {2,10:F0} {3,12:F3} {4,12:e3}\n",
                        groups[g].name, menu[c].name, tables.bytes[g][c],
                        s * 1e6, errors[g][c]);
  }
  os << llvm::formatv("{0,-64} {1,-18} {2,10:F0} {3,12:F3} {4,12:e3}\n",
                      "total", "", bytes, seconds * 1e6, plan.solution.error);
  os << llvm::formatv("measured {0} error on calibration: {1:e3} (budget "
                      "{2}={3})\n",
                      budget.metric, plan.measured, budget.metric,
                      budget.option);
  if (plan.heldOut)
    os << llvm::formatv("held-out: kl {0:e3}, top-1 {1:P2}, rel-l2 {2:e3}\n",
                        plan.heldOut->meanKL(), plan.heldOut->top1Agreement(),
                        plan.heldOut->relativeL2());
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
  FailureOr<VerifiedPlan> solveAndVerify(const SearchState &state,
                                         const Budget &bound);
  LogicalResult writeSweep(const SearchState &state, const CostTables &tables,
                           const Budget &base);
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
  FailureOr<std::vector<std::vector<double>>>
  readTestSensitivities(const std::vector<LayerGroup> &groups,
                        const std::vector<Candidate> &candidates);
  FailureOr<std::vector<std::vector<double>>>
  measureSensitivities(const Budget &budget, SensitivityMeasurer &measurer,
                       const std::vector<LayerGroup> &groups,
                       const std::vector<Candidate> &candidates);
  FailureOr<std::optional<LogitComparison>> measureHoldout(
      SensitivityMeasurer *holdoutMeasurer,
      const std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>>
          &assignment);
  LogicalResult writePlan(const std::vector<LayerGroup> &groups,
                          const std::vector<Candidate> &candidates,
                          const KnapsackSolution &solution,
                          const CostTables &tables,
                          const std::vector<std::vector<double>> &errors,
                          const Budget &budget, double measured,
                          const std::optional<LogitComparison> &calibration,
                          const std::optional<LogitComparison> &heldOut,
                          SensitivityMeasurer *measurer,
                          SensitivityMeasurer *holdoutMeasurer);
  FailureOr<llvm::json::Object>
  uniformBaselines(const std::vector<LayerGroup> &groups,
                   const std::vector<Candidate> &candidates,
                   const CostTables &tables,
                   const std::vector<std::vector<double>> &errors,
                   SensitivityMeasurer *measurer,
                   SensitivityMeasurer *holdoutMeasurer);
};

FailureOr<Budget> AssignPrecisionPass::parseBudget() {
  std::pair<StringRef, StringRef> parts = StringRef(budget).split('=');
  Budget result{parts.first.str(), 0, parts.second.str()};
  double value;
  if (result.metric != "kl" && result.metric != "top1" &&
      result.metric != "rel-l2")
    return fail("unsupported budget metric '" + parts.first +
                "' (supported: kl, top1, rel-l2)");
  if (parts.second.getAsDouble(value) || !(value >= 0) ||
      (result.metric == "top1" && value > 1))
    return fail("budget '" + budget +
                "' needs a non-negative bound (top1: at most 1), e.g. "
                "kl=0.01 or top1=0.99");
  // top1=A allows a disagreement of 1 - A.
  result.bound = result.metric == "top1" ? 1 - value : value;
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
    auto it = llvm::find_if(menu, [&](const Candidate &c) {
      return c.name == name;
    });
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
  if (objective != "latency" && objective != "bytes")
    return fail("unknown objective '" + objective +
                "' (expected latency or bytes)");
  std::optional<TargetModel> target;
  Expected<TargetModel> attached = getAttachedTarget(getOperation());
  if (attached)
    target = *attached;
  else if (objective == "latency")
    return fail("the latency objective needs a target: " +
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
        int64_t rows = weight.getDimSize(0), cols = weight.getDimSize(1);
        bytes += rows * cols * xfmr::weightBitsPerElement(c.record) / 8;
        if (!target)
          continue;
        ProductFormats formats{storageOf(c.record.getWeights(), c.record),
                               storageOf(c.record.getActivations(), c.record),
                               16};
        // An embedding reads one row per token: a [tokens, dim] gather.
        seconds += isa<xfmr::EmbeddingOp>(op.getOperation())
                       ? estimateMatmul(*target, workloadTokens, cols, 1,
                                        formats)
                             .memorySeconds
                       : estimateMatmul(*target, workloadTokens, rows, cols,
                                        formats)
                             .seconds;
      }
      tables.bytes.back().push_back(bytes);
      if (target)
        tables.seconds->back().push_back(seconds);
    }
  }
  return tables;
}

FailureOr<std::vector<std::vector<double>>>
AssignPrecisionPass::readTestSensitivities(
    const std::vector<LayerGroup> &groups,
    const std::vector<Candidate> &candidates) {
  auto buffer = llvm::MemoryBuffer::getFile(testSensitivities, true);
  if (!buffer)
    return fail("cannot read '" + testSensitivities + "'");
  Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  const llvm::json::Object *root = json ? json->getAsObject() : nullptr;
  if (!root) {
    if (!json)
      llvm::consumeError(json.takeError());
    return fail("'" + testSensitivities + "' is not a JSON object");
  }
  std::vector<std::vector<double>> errors;
  for (const LayerGroup &group : groups) {
    const llvm::json::Object *row = root->getObject(group.name);
    if (!row)
      return fail("'" + testSensitivities + "' has no entry for group '" +
                  group.name + "'");
    errors.emplace_back();
    for (const Candidate &c : candidates) {
      std::optional<double> value = row->getNumber(c.name);
      if (!value)
        return fail("'" + testSensitivities + "' has no value for '" +
                    group.name + "' / '" + c.name + "'");
      errors.back().push_back(*value);
    }
  }
  return errors;
}

FailureOr<std::vector<std::vector<double>>>
AssignPrecisionPass::measureSensitivities(
    const Budget &budget, SensitivityMeasurer &measurer,
    const std::vector<LayerGroup> &groups,
    const std::vector<Candidate> &candidates) {
  std::vector<std::vector<double>> errors;
  for (const LayerGroup &group : groups) {
    errors.emplace_back();
    for (const Candidate &c : candidates) {
      Expected<LogitComparison> result = measurer.measure({{&group, c.record}});
      if (!result)
        return fail(llvm::toString(result.takeError()));
      errors.back().push_back(budget.errorOf(*result));
    }
  }
  return errors;
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
  std::vector<LayerGroup> groups = groupLayers(getOperation());
  llvm::StringMap<const LayerGroup *> byName;
  for (const LayerGroup &g : groups)
    byName[g.name] = &g;
  std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>> assignment;
  for (const llvm::json::Value &entry : *layers) {
    const llvm::json::Object *layer = entry.getAsObject();
    std::optional<StringRef> name = layer ? layer->getString("group")
                                          : std::nullopt;
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

LogicalResult AssignPrecisionPass::assign() {
  if (!planIn.empty())
    return applyPlan();
  FailureOr<Budget> bound = parseBudget();
  FailureOr<std::vector<Candidate>> menu = parseCandidates();
  if (failed(bound) || failed(menu))
    return failure();
  std::vector<LayerGroup> groups = groupLayers(getOperation());
  if (groups.empty())
    return fail("@forward has no layers with weights to assign");
  FailureOr<CostTables> tables = groupCosts(groups, *menu);
  if (failed(tables))
    return failure();
  const std::vector<std::vector<double>> *costs =
      objective == "latency" ? &*tables->seconds : &tables->bytes;

  std::unique_ptr<SensitivityMeasurer> measurer;
  WeightStore store;
  FailureOr<std::vector<std::vector<double>>> errors = failure();
  if (!testSensitivities.empty()) {
    errors = readTestSensitivities(groups, *menu);
  } else {
    if (calibration.empty())
      return fail("needs calibration tokens (calibration=FILE)");
    Expected<std::vector<std::vector<int32_t>>> sequences =
        readSequences(calibration);
    if (!sequences)
      return fail(llvm::toString(sequences.takeError()));
    Expected<std::unique_ptr<SensitivityMeasurer>> created =
        SensitivityMeasurer::create(getOperation(), store,
                                    std::move(*sequences));
    if (!created)
      return fail(llvm::toString(created.takeError()));
    measurer = std::move(*created);
    errors = measureSensitivities(*bound, *measurer, groups, *menu);
  }
  if (failed(errors))
    return failure();

  FailureOr<std::vector<std::vector<size_t>>> allowed =
      allowedCandidates(groups, *menu);
  if (failed(allowed))
    return failure();
  std::vector<std::vector<KnapsackCandidate>> instance;
  double leastError = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    instance.emplace_back();
    double least = INFINITY;
    for (size_t c : (*allowed)[g]) {
      instance.back().push_back({(*costs)[g][c], (*errors)[g][c]});
      least = std::min(least, (*errors)[g][c]);
    }
    leastError += least;
  }

  std::unique_ptr<SensitivityMeasurer> holdoutMeasurer;
  if (!holdout.empty()) {
    Expected<std::vector<std::vector<int32_t>>> sequences =
        readSequences(holdout);
    if (!sequences)
      return fail(llvm::toString(sequences.takeError()));
    Expected<std::unique_ptr<SensitivityMeasurer>> created =
        SensitivityMeasurer::create(getOperation(), store,
                                    std::move(*sequences));
    if (!created)
      return fail(llvm::toString(created.takeError()));
    holdoutMeasurer = std::move(*created);
  }

  SearchState state{groups, *menu, *allowed, instance, leastError,
                    measurer.get(), holdoutMeasurer.get()};
  if (!sweep.empty())
    if (failed(writeSweep(state, *tables, *bound)))
      return failure();
  FailureOr<VerifiedPlan> chosen = solveAndVerify(state, *bound);
  if (failed(chosen))
    return failure();
  for (auto &[group, record] : chosen->assignment)
    for (xfmr::PrecisionOpInterface op : group->ops)
      op.setPrecisionRecord(record);
  if (printTable)
    printPlanTable(llvm::outs(), groups, *menu, *chosen, *tables, *errors,
                   *bound);
  return writePlan(groups, *menu, chosen->solution, *tables, *errors, *bound,
                   chosen->measured, chosen->calibration, chosen->heldOut,
                   measurer.get(), holdoutMeasurer.get());
}

FailureOr<VerifiedPlan>
AssignPrecisionPass::solveAndVerify(const SearchState &state,
                                    const Budget &bound) {
  // Solve, run the plan, and tighten the predicted budget while the measured
  // error is over the bound.
  double predictedBudget = bound.bound;
  for (unsigned round = 0; round < maxRounds; ++round) {
    std::optional<KnapsackSolution> plan =
        solveMultipleChoiceKnapsack(state.instance, predictedBudget);
    if (!plan)
      break;
    // Back from positions among the allowed candidates to menu indices.
    for (size_t g = 0; g < state.groups.size(); ++g)
      plan->choice[g] = state.allowed[g][plan->choice[g]];
    VerifiedPlan verified{*plan, {}, plan->error, std::nullopt, std::nullopt};
    for (size_t g = 0; g < state.groups.size(); ++g)
      verified.assignment.push_back(
          {&state.groups[g], state.menu[plan->choice[g]].record});
    if (state.measurer) {
      Expected<LogitComparison> result =
          state.measurer->measure(verified.assignment);
      if (!result)
        return fail(llvm::toString(result.takeError()));
      verified.measured = bound.errorOf(*result);
      verified.calibration = *result;
    }
    if (verified.measured <= bound.bound) {
      FailureOr<std::optional<LogitComparison>> heldOut =
          measureHoldout(state.holdoutMeasurer, verified.assignment);
      if (failed(heldOut))
        return failure();
      verified.heldOut = *heldOut;
      return verified;
    }
    if (predictedBudget <= state.leastError)
      break;
    predictedBudget = std::max(state.leastError, predictedBudget * 0.9 *
                                                     (bound.bound /
                                                      verified.measured));
  }
  return fail(llvm::formatv("no plan in the menu meets {0}={1} (least "
                            "predicted {0} error {2:e3})",
                            bound.metric, bound.option, state.leastError)
                  .str());
}

LogicalResult AssignPrecisionPass::writeSweep(const SearchState &state,
                                              const CostTables &tables,
                                              const Budget &base) {
  llvm::json::Array frontier;
  std::vector<SweepPoint> points;
  for (const std::string &value : sweep) {
    double number;
    if (StringRef(value).getAsDouble(number) || !(number >= 0))
      return fail("sweep value '" + value + "' is not a non-negative number");
    Budget bound = base;
    bound.option = value;
    bound.bound = base.metric == "top1" ? 1 - number : number;
    FailureOr<VerifiedPlan> verified = solveAndVerify(state, bound);
    if (failed(verified))
      return failure();
    double bytes = 0, seconds = 0;
    for (size_t g = 0; g < state.groups.size(); ++g) {
      int c = verified->solution.choice[g];
      bytes += tables.bytes[g][c];
      seconds += tables.seconds ? (*tables.seconds)[g][c] : 0;
    }
    const std::optional<LogitComparison> &shown =
        verified->heldOut ? verified->heldOut : verified->calibration;
    double metric = shown ? bound.errorOf(*shown) : verified->measured;
    points.push_back({value, verified->solution.cost, metric});
    llvm::json::Object entry{{"budget", value},
                             {"cost", verified->solution.cost},
                             {"weight_bytes", bytes},
                             {"predicted_error", verified->solution.error},
                             {"measured_calibration_error", verified->measured}};
    if (tables.seconds)
      entry["modeled_seconds"] = seconds;
    if (verified->heldOut)
      entry["holdout"] = metricsJSON(*verified->heldOut);
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
              writeSweepSvg(os, points, base.metric);
              return llvm::Error::success();
            }))
      return fail(llvm::toString(std::move(error)));
  return success();
}

FailureOr<std::optional<LogitComparison>> AssignPrecisionPass::measureHoldout(
    SensitivityMeasurer *holdoutMeasurer,
    const std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>>
        &assignment) {
  if (!holdoutMeasurer)
    return std::optional<LogitComparison>();
  Expected<LogitComparison> result = holdoutMeasurer->measure(assignment);
  if (!result)
    return fail(llvm::toString(result.takeError()));
  return std::optional<LogitComparison>(*result);
}

FailureOr<llvm::json::Object> AssignPrecisionPass::uniformBaselines(
    const std::vector<LayerGroup> &groups,
    const std::vector<Candidate> &candidates, const CostTables &tables,
    const std::vector<std::vector<double>> &errors,
    SensitivityMeasurer *measurer, SensitivityMeasurer *holdoutMeasurer) {
  llvm::json::Object uniform;
  for (size_t c = 0; c < candidates.size(); ++c) {
    double bytes = 0, seconds = 0, predicted = 0;
    std::vector<std::pair<const LayerGroup *, xfmr::PrecisionAttr>> assignment;
    for (size_t g = 0; g < groups.size(); ++g) {
      bytes += tables.bytes[g][c];
      seconds += tables.seconds ? (*tables.seconds)[g][c] : 0;
      predicted += errors[g][c];
      assignment.push_back({&groups[g], candidates[c].record});
    }
    llvm::json::Object entry{{"weight_bytes", bytes},
                             {"predicted_error", predicted}};
    if (tables.seconds)
      entry["modeled_seconds"] = seconds;
    if (measurer) {
      Expected<LogitComparison> run = measurer->measure(assignment);
      if (!run)
        return fail(llvm::toString(run.takeError()));
      entry["calibration"] = metricsJSON(*run);
      FailureOr<std::optional<LogitComparison>> heldOut =
          measureHoldout(holdoutMeasurer, assignment);
      if (failed(heldOut))
        return failure();
      if (*heldOut)
        entry["holdout"] = metricsJSON(**heldOut);
    }
    uniform[candidates[c].name] = std::move(entry);
  }
  return uniform;
}

LogicalResult AssignPrecisionPass::writePlan(
    const std::vector<LayerGroup> &groups,
    const std::vector<Candidate> &candidates, const KnapsackSolution &solution,
    const CostTables &tables, const std::vector<std::vector<double>> &errors,
    const Budget &budget, double measured,
    const std::optional<LogitComparison> &calibration,
    const std::optional<LogitComparison> &heldOut,
    SensitivityMeasurer *measurer, SensitivityMeasurer *holdoutMeasurer) {
  if (plan.empty())
    return success();
  llvm::json::Array layers;
  double totalBytes = 0, totalSeconds = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    int c = solution.choice[g];
    std::string record;
    llvm::raw_string_ostream(record) << Attribute(candidates[c].record);
    llvm::json::Object layer{{"group", groups[g].name},
                             {"candidate", candidates[c].name},
                             {"record", record},
                             {"weight_bytes", tables.bytes[g][c]},
                             {"predicted_error", errors[g][c]}};
    totalBytes += tables.bytes[g][c];
    if (tables.seconds) {
      layer["modeled_seconds"] = (*tables.seconds)[g][c];
      totalSeconds += (*tables.seconds)[g][c];
    }
    layers.push_back(std::move(layer));
  }
  FailureOr<llvm::json::Object> uniform =
      uniformBaselines(groups, candidates, tables, errors, measurer,
                       holdoutMeasurer);
  if (failed(uniform))
    return failure();
  llvm::json::Object root{
      {"budget", llvm::json::Object{{"metric", budget.metric},
                                    {"option", std::string(this->budget)},
                                    {"error_bound", budget.bound}}},
      {"objective", objective},
      {"workload_tokens", int64_t(workloadTokens)},
      {"layers", std::move(layers)},
      {"total_cost", solution.cost},
      {"total_weight_bytes", totalBytes},
      {"uniform", std::move(*uniform)},
      {"predicted_error", solution.error},
      {"measured_calibration_error", measured}};
  if (tables.seconds)
    root["total_modeled_seconds"] = totalSeconds;
  if (calibration)
    root["calibration"] = metricsJSON(*calibration);
  if (heldOut)
    root["holdout"] = metricsJSON(*heldOut);
  if (llvm::Error error = llvm::writeToOutput(plan, [&](llvm::raw_ostream &os) {
        os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
           << "\n";
        return llvm::Error::success();
      }))
    return fail(llvm::toString(std::move(error)));
  return success();
}

} // namespace
