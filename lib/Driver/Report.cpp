//===- Report.cpp - the compile report as one HTML page -------------------===//
//
// Plain HTML with inline SVG charts: the page renders the same in any
// browser, offline, and can be mailed or archived as one file.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Driver/Report.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace mixtile;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

std::string escape(StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '&':
      out += "&amp;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

/// A fixed colour per candidate format, so every chart agrees.
std::string formatColor(StringRef format) {
  static const std::map<std::string, std::string, std::less<>> colors = {
      {"f32", "#79706e"},
      {"bf16", "#4e79a7"},
      {"fp8-e4m3", "#59a14f"},
      {"fp8-e5m2", "#8cd17d"},
      {"mxfp8-e4m3", "#f28e2b"},
      {"mxfp8-e5m2", "#ffbe7d"},
      {"mxfp6-e2m3", "#9c755f"},
      {"mxfp6-e3m2", "#d7b5a6"},
      {"nvfp4", "#e15759"},
      {"mxfp4", "#b07aa1"},
      {"mxfp4/mxfp8-e4m3", "#ff9da7"}};
  auto it = colors.find(format);
  if (it != colors.end())
    return it->second;
  // Formats outside the table (user schemes) get a stable hashed hue.
  return llvm::formatv("hsl({0},55%,50%)", llvm::xxh3_64bits(format) % 360)
      .str();
}

std::string formatBytes(double bytes) {
  if (bytes >= 1e9)
    return llvm::formatv("{0:f2} GB", bytes / 1e9).str();
  if (bytes >= 1e6)
    return llvm::formatv("{0:f2} MB", bytes / 1e6).str();
  if (bytes >= 1e3)
    return llvm::formatv("{0:f1} kB", bytes / 1e3).str();
  return llvm::formatv("{0:f0} B", bytes).str();
}

/// One axis of a chart: linear or log10, mapping data to pixels.
struct Axis {
  double lo = 0, hi = 1;
  double from = 0, to = 100; // pixels
  bool log = false;

  double map(double v) const {
    double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
    double x = log ? std::log10(std::max(v, lo)) : v;
    return from + (to - from) * (b == a ? 0.5 : (x - a) / (b - a));
  }
  /// Tick values: powers of ten on log axes, 5 steps on linear ones.
  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      for (double p = std::floor(std::log10(lo)); p <= std::log10(hi) + 1e-9;
           ++p)
        if (std::pow(10, p) >= lo * 0.999)
          out.push_back(std::pow(10, p));
    } else {
      for (int i = 0; i <= 5; ++i)
        out.push_back(lo + (hi - lo) * i / 5);
    }
    return out;
  }
};

/// Widens [lo, hi] so points do not sit on the frame.
Axis makeAxis(double lo, double hi, double from, double to, bool log) {
  Axis axis;
  axis.log = log;
  axis.from = from;
  axis.to = to;
  if (log) {
    lo = std::max(lo, 1e-12);
    hi = std::max(hi, lo * 10);
    axis.lo = std::pow(10, std::floor(std::log10(lo)));
    axis.hi = std::pow(10, std::ceil(std::log10(hi)));
  } else {
    double pad = (hi - lo) * 0.08 + (hi == lo ? std::fabs(hi) * 0.1 + 1 : 0);
    axis.lo = lo - pad;
    axis.hi = hi + pad;
  }
  return axis;
}

std::string tickLabel(double v) {
  if (v != 0 && (std::fabs(v) >= 1e4 || std::fabs(v) < 1e-2))
    return llvm::formatv("{0:e0}", v).str();
  return llvm::formatv("{0:g}", v).str();
}

/// Frame, ticks and axis titles of a chart.
void drawAxes(llvm::raw_ostream &os, const Axis &x, const Axis &y,
              StringRef xTitle, StringRef yTitle) {
  os << llvm::formatv("<rect x='{0}' y='{1}' width='{2}' height='{3}' "
                      "fill='none' stroke='#999'/>\n",
                      x.from, y.to, x.to - x.from, y.from - y.to);
  for (double t : x.ticks())
    os << llvm::formatv("<line x1='{0}' x2='{0}' y1='{1}' y2='{2}' "
                        "stroke='#eee'/><text x='{0}' y='{3}' "
                        "text-anchor='middle' class='tick'>{4}</text>\n",
                        x.map(t), y.from, y.to, y.from + 14, tickLabel(t));
  for (double t : y.ticks())
    os << llvm::formatv("<line x1='{0}' x2='{1}' y1='{2}' y2='{2}' "
                        "stroke='#eee'/><text x='{3}' y='{2}' "
                        "text-anchor='end' class='tick'>{4}</text>\n",
                        x.from, x.to, y.map(t), x.from - 4, tickLabel(t));
  os << llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle'>{2}</text>\n",
                      (x.from + x.to) / 2, y.from + 32, escape(xTitle));
  os << llvm::formatv("<text transform='translate(14,{0}) rotate(-90)' "
                      "text-anchor='middle'>{1}</text>\n",
                      (y.from + y.to) / 2, escape(yTitle));
}

//===----------------------------------------------------------------------===//
// Sections
//===----------------------------------------------------------------------===//

struct PlanLayer {
  std::string group, candidate;
  double bytes = 0, seconds = 0, predicted = 0;
};

std::vector<PlanLayer> planLayers(const json::Object &plan) {
  std::vector<PlanLayer> layers;
  if (const json::Array *entries = plan.getArray("layers"))
    for (const json::Value &entry : *entries)
      if (const json::Object *o = entry.getAsObject()) {
        PlanLayer layer;
        layer.group = o->getString("group").value_or("?").str();
        layer.candidate = o->getString("candidate").value_or("?").str();
        layer.bytes = o->getNumber("weight_bytes").value_or(0);
        layer.seconds = o->getNumber("modeled_seconds").value_or(0);
        layer.predicted = o->getNumber("predicted_error").value_or(0);
        layers.push_back(std::move(layer));
      }
  return layers;
}

void writeLegend(llvm::raw_ostream &os,
                 const std::vector<std::string> &formats) {
  os << "<p class='legend'>";
  for (const std::string &f : formats)
    os << llvm::formatv("<span><i style='background:{0}'></i>{1}</span>",
                        formatColor(f), escape(f));
  os << "</p>\n";
}

void writeSummary(const ReportInputs &in, llvm::raw_ostream &os) {
  os << "<h2>Summary</h2>\n<table class='summary'>\n";
  auto row = [&](StringRef key, const std::string &value) {
    os << "<tr><th>" << escape(key) << "</th><td>" << escape(value)
       << "</td></tr>\n";
  };
  const json::Object *s = in.summary;
  const json::Object *p = in.plan;
  if (s) {
    row("model", s->getString("model").value_or("?").str());
    row("parameters",
        llvm::formatv("{0}", s->getInteger("parameters").value_or(0)));
  }
  row("target", in.target.name);
  if (p) {
    const json::Object *budget = p->getObject("budget");
    row("budget",
        budget ? budget->getString("option").value_or("?").str() : "?");
    row("objective", p->getString("objective").value_or("?").str());
    row("plan: modeled latency",
        llvm::formatv("{0:f2} us (workload of {1} tokens)",
                      1e6 * p->getNumber("total_modeled_seconds").value_or(0),
                      p->getInteger("workload_tokens").value_or(0)));
    row("plan: weight bytes",
        formatBytes(p->getNumber("total_weight_bytes").value_or(0)));
    if (const json::Object *h = p->getObject("holdout"))
      row("held-out accuracy",
          llvm::formatv("kl {0:e3}, top-1 {1:f2}%, ppl-ratio {2:f4}, rel-l2 "
                        "{3:e3} over {4} tokens",
                        h->getNumber("kl").value_or(NAN),
                        100 * h->getNumber("top1").value_or(NAN),
                        h->getNumber("ppl_ratio").value_or(NAN),
                        h->getNumber("rel_l2").value_or(NAN),
                        p->getInteger("holdout_tokens").value_or(0)));
  }
  if (s) {
    if (const json::Object *m = s->getObject("maia")) {
      const json::Object *pre = m->getObject("prefill");
      const json::Object *dec = m->getObject("decode_step");
      const json::Object *par = m->getObject("parity");
      if (pre && dec)
        row("maia (simulated)",
            llvm::formatv("prefill {0} tokens: {1:f2} us; decode step: "
                          "{2:f2} us",
                          pre->getInteger("tokens").value_or(0),
                          1e6 * pre->getNumber("seconds").value_or(0),
                          1e6 * dec->getNumber("seconds").value_or(0)));
      if (par)
        row("maia logits vs evaluator",
            par->getBoolean("bit_identical").value_or(false)
                ? "bit-identical"
                : llvm::formatv(
                      "max |diff| {0:e3}",
                      par->getNumber("max_abs_difference").value_or(NAN))
                      .str());
    }
    if (const json::Object *c = s->getObject("cpu"))
      if (const json::Object *par = c->getObject("parity"))
        row("cpu logits vs evaluator",
            par->getBoolean("bit_identical").value_or(false)
                ? "bit-identical"
                : llvm::formatv(
                      "max |diff| {0:e3}",
                      par->getNumber("max_abs_difference").value_or(NAN))
                      .str());
  }
  os << "</table>\n";
}

/// Every layer group as a cell coloured by its format, in model order,
/// and the plan as a table.
void writePrecisionMap(const std::vector<PlanLayer> &layers,
                       llvm::raw_ostream &os) {
  os << "<h2>Per-layer precision</h2>\n";
  if (layers.empty()) {
    os << "<p>No plan.</p>\n";
    return;
  }
  std::vector<std::string> formats;
  for (const PlanLayer &l : layers)
    if (!llvm::is_contained(formats, l.candidate))
      formats.push_back(l.candidate);
  writeLegend(os, formats);
  const int cell = 22, perRow = 32;
  int rows = (int(layers.size()) + perRow - 1) / perRow;
  os << llvm::formatv("<svg id='precision-map' width='{0}' height='{1}' "
                      "xmlns='http://www.w3.org/2000/svg'>\n",
                      perRow * cell + 4, rows * cell + 4);
  for (auto [i, l] : llvm::enumerate(layers))
    os << llvm::formatv("<rect x='{0}' y='{1}' width='{2}' height='{2}' "
                        "fill='{3}' stroke='white'><title>{4}: {5}</title>"
                        "</rect>\n",
                        2 + (i % perRow) * cell, 2 + (i / perRow) * cell,
                        cell - 2, formatColor(l.candidate), escape(l.group),
                        escape(l.candidate));
  os << "</svg>\n";
  os << "<table class='plan'><tr><th>layer group</th><th>format</th>"
        "<th>weight bytes</th><th>modeled us</th><th>predicted error</th>"
        "</tr>\n";
  for (const PlanLayer &l : layers)
    os << llvm::formatv("<tr><td>{0}</td><td><i class='chip' "
                        "style='background:{1}'></i>{2}</td><td>{3}</td>"
                        "<td>{4:f3}</td><td>{5:e2}</td></tr>\n",
                        escape(l.group), formatColor(l.candidate),
                        escape(l.candidate), formatBytes(l.bytes),
                        1e6 * l.seconds, l.predicted);
  os << "</table>\n";
}

/// Per group, one bar per candidate: its measured error (log scale); the
/// chosen candidate's bar is outlined.
void writeSensitivityBars(const json::Object *table,
                          const std::vector<PlanLayer> &layers,
                          llvm::raw_ostream &os) {
  os << "<h2>Sensitivity of each layer group</h2>\n";
  const json::Object *groups = table ? table->getObject("groups") : nullptr;
  if (!groups || groups->empty()) {
    os << "<p>No sensitivity table.</p>\n";
    return;
  }
  std::vector<std::string> candidates;
  double lo = INFINITY, hi = 0;
  for (const auto &[group, values] : *groups)
    if (const json::Object *v = values.getAsObject())
      for (const auto &[candidate, error] : *v) {
        if (!llvm::is_contained(candidates, candidate.str()))
          candidates.push_back(candidate.str());
        if (std::optional<double> e = error.getAsNumber(); e && *e > 0) {
          lo = std::min(lo, *e);
          hi = std::max(hi, *e);
        }
      }
  llvm::sort(candidates);
  if (!(hi > 0)) {
    os << "<p>Every measured error is zero.</p>\n";
    return;
  }
  std::map<std::string, std::string> chosen;
  for (const PlanLayer &l : layers)
    chosen[l.group] = l.candidate;
  // Groups in model order when the plan names them, else by name.
  std::vector<std::string> order;
  for (const PlanLayer &l : layers)
    if (groups->get(l.group))
      order.push_back(l.group);
  if (order.empty())
    for (const auto &[group, values] : *groups)
      order.push_back(group.str());
  writeLegend(os, candidates);
  const double left = 330, right = 860, bar = 5;
  const double groupHeight = bar * candidates.size() + 6;
  Axis x = makeAxis(lo, hi, left, right, /*log=*/true);
  double height = 30 + groupHeight * order.size() + 40;
  os << llvm::formatv("<svg id='sensitivity' width='900' height='{0}' "
                      "xmlns='http://www.w3.org/2000/svg'>\n",
                      height);
  Axis y = makeAxis(0, 1, height - 40, 20, false);
  y.lo = 0;
  y.hi = 1;
  for (double t : x.ticks())
    os << llvm::formatv("<line x1='{0}' x2='{0}' y1='20' y2='{1}' "
                        "stroke='#eee'/><text x='{0}' y='{2}' "
                        "text-anchor='middle' class='tick'>{3}</text>\n",
                        x.map(t), height - 40, height - 26, tickLabel(t));
  os << llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle'>measured "
                      "error of the group alone ({2})</text>\n",
                      (left + right) / 2, height - 8,
                      table->getString("metric").value_or("kl"));
  for (auto [g, group] : llvm::enumerate(order)) {
    double top = 20 + g * groupHeight;
    os << llvm::formatv(
        "<text x='{0}' y='{1}' text-anchor='end' "
        "class='tick'>{2}</text>\n",
        left - 6, top + groupHeight / 2 + 3,
        escape(group.size() > 48 ? group.substr(0, 45) + "..." : group));
    const json::Object *values = groups->getObject(group);
    for (auto [c, candidate] : llvm::enumerate(candidates)) {
      std::optional<double> e =
          values ? values->getNumber(candidate) : std::nullopt;
      if (!e)
        continue;
      bool picked = chosen.count(group) && chosen[group] == candidate;
      os << llvm::formatv(
          "<rect x='{0}' y='{1}' width='{2}' height='{3}' fill='{4}'{5}>"
          "<title>{6} at {7}: {8:e3}</title></rect>\n",
          left, top + c * bar, std::max(1.0, x.map(*e) - left), bar - 1,
          formatColor(candidate), picked ? " stroke='black'" : "",
          escape(group), escape(candidate), *e);
    }
  }
  os << "</svg>\n";
}

struct FrontierPoint {
  double cost, error;
  std::string label;
};

/// Modeled latency against held-out error: the budget sweep's plans as a
/// line, the uniform plans as squares, the chosen plan as a ring.
void writePareto(const ReportInputs &in, llvm::raw_ostream &os) {
  os << "<h2>Pareto frontier: modeled latency vs held-out error</h2>\n";
  const json::Object *plan = in.plan;
  const json::Object *budget = plan ? plan->getObject("budget") : nullptr;
  std::string metric =
      budget ? budget->getString("metric").value_or("kl").str() : "kl";
  auto errorOf = [&](const json::Object *held) -> std::optional<double> {
    std::optional<double> v = held ? held->getNumber(metric) : std::nullopt;
    if (v && metric == "top1")
      return 1.0 - *v;
    return v;
  };
  std::vector<FrontierPoint> sweep, uniform;
  if (in.sweep)
    for (const json::Value &entry : *in.sweep)
      if (const json::Object *o = entry.getAsObject()) {
        std::optional<double> cost = o->getNumber("modeled_seconds");
        std::optional<double> error = errorOf(o->getObject("holdout"));
        if (cost && error)
          sweep.push_back(
              {*cost * 1e6, *error,
               "budget " + o->getString("budget").value_or("?").str()});
      }
  if (const json::Object *u = plan ? plan->getObject("uniform") : nullptr)
    for (const auto &[name, entry] : *u)
      if (const json::Object *o = entry.getAsObject()) {
        std::optional<double> cost = o->getNumber("modeled_seconds");
        std::optional<double> error = errorOf(o->getObject("holdout"));
        if (cost && error)
          uniform.push_back({*cost * 1e6, *error, "uniform " + name.str()});
      }
  std::optional<FrontierPoint> chosen;
  if (plan)
    if (std::optional<double> cost = plan->getNumber("total_modeled_seconds"))
      if (std::optional<double> error = errorOf(plan->getObject("holdout")))
        chosen = FrontierPoint{*cost * 1e6, *error, "chosen plan"};
  if (sweep.empty() && uniform.empty() && !chosen) {
    os << "<p>No measured plans.</p>\n";
    return;
  }
  double xlo = INFINITY, xhi = 0, ylo = INFINITY, yhi = 0;
  auto extend = [&](const FrontierPoint &p) {
    xlo = std::min(xlo, p.cost);
    xhi = std::max(xhi, p.cost);
    if (p.error > 0) {
      ylo = std::min(ylo, p.error);
      yhi = std::max(yhi, p.error);
    }
  };
  llvm::for_each(sweep, extend);
  llvm::for_each(uniform, extend);
  if (chosen)
    extend(*chosen);
  if (!(yhi > 0))
    ylo = yhi = 1e-6;
  Axis x = makeAxis(xlo, xhi, 70, 860, false);
  Axis y = makeAxis(ylo, yhi, 400, 20, true);
  os << "<svg id='pareto' width='900' height='450' "
        "xmlns='http://www.w3.org/2000/svg'>\n";
  drawAxes(os, x, y, "modeled latency on " + in.target.name + " (us)",
           "held-out " + metric + (metric == "top1" ? " disagreement" : ""));
  llvm::sort(sweep, [](const FrontierPoint &a, const FrontierPoint &b) {
    return a.cost < b.cost;
  });
  if (sweep.size() > 1) {
    os << "<polyline fill='none' stroke='#4e79a7' points='";
    for (const FrontierPoint &p : sweep)
      os << llvm::formatv("{0},{1} ", x.map(p.cost), y.map(p.error));
    os << "'/>\n";
  }
  for (const FrontierPoint &p : sweep)
    os << llvm::formatv("<circle cx='{0}' cy='{1}' r='5' fill='#4e79a7'>"
                        "<title>{2}: {3:f2} us, {4:e3}</title></circle>\n",
                        x.map(p.cost), y.map(p.error), escape(p.label), p.cost,
                        p.error);
  for (const FrontierPoint &p : uniform)
    os << llvm::formatv(
        "<rect x='{0}' y='{1}' width='9' height='9' "
        "fill='{2}'><title>{3}: {4:f2} us, {5:e3}</title>"
        "</rect><text x='{6}' y='{7}' class='tick'>{8}</text>\n",
        x.map(p.cost) - 4.5, y.map(p.error) - 4.5,
        formatColor(StringRef(p.label).drop_front(8)), escape(p.label), p.cost,
        p.error, x.map(p.cost) + 7, y.map(p.error) + 4,
        escape(StringRef(p.label).drop_front(8)));
  if (chosen)
    os << llvm::formatv("<circle cx='{0}' cy='{1}' r='9' fill='none' "
                        "stroke='black' stroke-width='2'><title>chosen plan: "
                        "{2:f2} us, {3:e3}</title></circle>\n",
                        x.map(chosen->cost), y.map(chosen->error), chosen->cost,
                        chosen->error);
  if (budget)
    if (std::optional<double> bound = budget->getNumber("error_bound");
        bound && metric != "top1" && *bound >= y.lo && *bound <= y.hi)
      os << llvm::formatv("<line x1='{0}' x2='{1}' y1='{2}' y2='{2}' "
                          "stroke='#e15759' stroke-dasharray='4 3'/><text "
                          "x='{1}' y='{3}' text-anchor='end' class='tick'>"
                          "budget</text>\n",
                          x.from, x.to, y.map(*bound), y.map(*bound) - 3);
  os << "</svg>\n<p class='note'>Circles: plans of the budget sweep "
        "(line); squares: one format everywhere; ring: the chosen plan; "
        "dashed: the budget. Latency from the cost model of the emitted "
        "kernels.</p>\n";
}

/// Achieved FLOP/s against arithmetic intensity (per HBM byte) of each
/// simulated product, under the HBM slope and the tensor unit's ceilings.
void writeRoofline(const ReportInputs &in, llvm::raw_ostream &os) {
  os << "<h2>Roofline of the simulated kernels</h2>\n";
  if (in.kernels.empty()) {
    os << "<p>No simulated kernels.</p>\n";
    return;
  }
  double bandwidth = in.target.sustainedHbmBytesPerSecond();
  double peaks[3] = {2 * in.target.peakMacsPerSecond(ComputeClass::FP4),
                     2 * in.target.peakMacsPerSecond(ComputeClass::FP8),
                     2 * in.target.peakMacsPerSecond(ComputeClass::BF16)};
  const char *classNames[3] = {"FP4", "FP8", "BF16"};
  double ilo = INFINITY, ihi = 0, plo = INFINITY;
  for (const RooflineKernel &k : in.kernels) {
    double intensity = k.flops / std::max(k.hbmBytes, 1.0);
    ilo = std::min(ilo, intensity);
    ihi = std::max(ihi, intensity);
    plo = std::min(plo, k.flops / k.seconds);
  }
  // The ridge points belong in the chart.
  ihi = std::max(ihi, peaks[0] / bandwidth * 2);
  Axis x = makeAxis(ilo / 2, ihi, 70, 860, true);
  Axis y = makeAxis(plo / 2, peaks[0] * 1.5, 400, 20, true);
  os << "<svg id='roofline' width='900' height='450' "
        "xmlns='http://www.w3.org/2000/svg'>\n";
  drawAxes(os, x, y, "arithmetic intensity (FLOP per HBM byte)",
           "achieved FLOP/s");
  for (int c = 0; c < 3; ++c) {
    double ridge = peaks[c] / bandwidth;
    os << llvm::formatv("<polyline fill='none' stroke='#aaa' points='{0},{1} "
                        "{2},{3} {4},{3}'/><text x='{4}' y='{5}' "
                        "text-anchor='end' class='tick'>{6} peak</text>\n",
                        x.map(x.lo), y.map(x.lo * bandwidth), x.map(ridge),
                        y.map(peaks[c]), x.map(x.hi), y.map(peaks[c]) - 3,
                        classNames[c]);
  }
  std::vector<std::string> formats;
  for (const RooflineKernel &k : in.kernels) {
    if (!llvm::is_contained(formats, k.format))
      formats.push_back(k.format);
    double intensity = k.flops / std::max(k.hbmBytes, 1.0);
    double achieved = k.flops / k.seconds;
    double bound = std::min(peaks[int(k.computeClass)], intensity * bandwidth);
    os << llvm::formatv("<circle cx='{0}' cy='{1}' r='5' fill='{2}' "
                        "fill-opacity='0.8'><title>{3} ({4}): {5:f2} us, "
                        "{6:f1}% of its roofline</title></circle>\n",
                        x.map(intensity), y.map(achieved),
                        formatColor(k.format), escape(k.label),
                        escape(k.format), k.seconds * 1e6,
                        100 * achieved / bound);
  }
  os << "</svg>\n";
  writeLegend(os, formats);
  os << "<table class='plan'><tr><th>kernel</th><th>format</th>"
        "<th>simulated us</th><th>HBM bytes</th><th>% of roofline</th></tr>\n";
  for (const RooflineKernel &k : in.kernels) {
    double intensity = k.flops / std::max(k.hbmBytes, 1.0);
    double bound = std::min(peaks[int(k.computeClass)], intensity * bandwidth);
    os << llvm::formatv("<tr><td>{0}</td><td>{1}</td><td>{2:f3}</td>"
                        "<td>{3}</td><td>{4:f1}</td></tr>\n",
                        escape(k.label), escape(k.format), k.seconds * 1e6,
                        formatBytes(k.hbmBytes),
                        100 * (k.flops / k.seconds) / bound);
  }
  os << "</table>\n";
}

/// Weight bytes by format in the plan, next to the uniform plans.
void writeMemory(const ReportInputs &in, const std::vector<PlanLayer> &layers,
                 llvm::raw_ostream &os) {
  os << "<h2>Weight footprint by format</h2>\n";
  std::map<std::string, double> byFormat;
  double total = 0;
  for (const PlanLayer &l : layers) {
    byFormat[l.candidate] += l.bytes;
    total += l.bytes;
  }
  if (!(total > 0)) {
    os << "<p>No plan.</p>\n";
    return;
  }
  std::vector<std::pair<std::string, double>> bars;
  if (const json::Object *u = in.plan ? in.plan->getObject("uniform") : nullptr)
    for (const auto &[name, entry] : *u)
      if (const json::Object *o = entry.getAsObject())
        bars.emplace_back("uniform " + name.str(),
                          o->getNumber("weight_bytes").value_or(0));
  double widest = total;
  for (auto &[name, bytes] : bars)
    widest = std::max(widest, bytes);
  const double left = 170, right = 760, rowHeight = 26;
  double height = rowHeight * (bars.size() + 1) + 20;
  os << llvm::formatv("<svg id='memory' width='900' height='{0}' "
                      "xmlns='http://www.w3.org/2000/svg'>\n",
                      height);
  auto scale = [&](double bytes) { return (right - left) * bytes / widest; };
  // The plan: one stacked bar, a segment per format.
  double at = left;
  os << llvm::formatv("<text x='{0}' y='22' text-anchor='end'>this plan"
                      "</text>\n",
                      left - 6);
  for (auto &[format, bytes] : byFormat) {
    os << llvm::formatv("<rect x='{0}' y='8' width='{1}' height='20' "
                        "fill='{2}'><title>{3}: {4}</title></rect>\n",
                        at, scale(bytes), formatColor(format), escape(format),
                        formatBytes(bytes));
    at += scale(bytes);
  }
  os << llvm::formatv("<text x='{0}' y='22' class='tick'>{1}</text>\n", at + 6,
                      formatBytes(total));
  for (auto [i, bar] : llvm::enumerate(bars)) {
    double y = 8 + rowHeight * (i + 1);
    StringRef format = StringRef(bar.first).drop_front(8);
    os << llvm::formatv("<text x='{0}' y='{1}' text-anchor='end'>{2}</text>"
                        "<rect x='{3}' y='{4}' width='{5}' height='20' "
                        "fill='{6}' fill-opacity='0.6'/><text x='{7}' "
                        "y='{1}' class='tick'>{8}</text>\n",
                        left - 6, y + 14, escape(bar.first), left, y,
                        scale(bar.second), formatColor(format),
                        left + scale(bar.second) + 6, formatBytes(bar.second));
  }
  os << "</svg>\n";
  std::vector<std::string> formats;
  for (auto &[format, bytes] : byFormat)
    formats.push_back(format);
  writeLegend(os, formats);
}

constexpr StringRef kStyle = R"(
body { font: 14px/1.4 sans-serif; margin: 24px auto; max-width: 960px;
       color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 32px;
     border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }
table.plan td, table.plan th { border-bottom: 1px solid #eee;
                               font-size: 12px; }
svg text { font: 12px sans-serif; } svg text.tick { font-size: 10px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i, i.chip { display: inline-block; width: 11px; height: 11px;
                    margin-right: 4px; vertical-align: -1px; }
.note { color: #666; font-size: 12px; }
)";

} // namespace

void mixtile::writeReport(const ReportInputs &in, llvm::raw_ostream &os) {
  std::vector<PlanLayer> layers =
      in.plan ? planLayers(*in.plan) : std::vector<PlanLayer>();
  os << "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
     << "<title>Mixtile report: " << escape(in.title) << "</title>\n<style>"
     << kStyle
     << "</style>\n</head>\n<body>\n<h1>Mixtile report: " << escape(in.title)
     << "</h1>\n";
  writeSummary(in, os);
  writePrecisionMap(layers, os);
  writeSensitivityBars(in.sensitivities, layers, os);
  writePareto(in, os);
  writeRoofline(in, os);
  writeMemory(in, layers, os);
  os << "</body>\n</html>\n";
}
