//===- Passes.td - precision selection passes --------------*- tablegen -*-===//
//
// Passes that choose number formats (they annotate; they never lower).
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_PRECISION_PASSES_TD
#define MIXTILE_PRECISION_PASSES_TD

include "mlir/Pass/PassBase.td"

def XfmrAssignPrecision : Pass<"xfmr-assign-precision", "mlir::ModuleOp"> {
  let summary = "Choose per-layer formats under an accuracy budget";
  let description = [{
    Groups the weight-bearing layers (Q/K/V together, gate/up together),
    measures on calibration tokens how far each group's format candidates move
    the next-token distributions from FP32 (mean KL divergence; exact mode:
    one evaluator run per group and candidate, in parallel; local mode: the
    group's own output error per candidate, scaled by one run per group),
    and picks the cheapest
    assignment whose summed predicted divergence fits the budget (an exact
    multiple-choice knapsack). It then runs the chosen mixed model; if the
    measured divergence exceeds the bound it tightens the predicted budget
    and solves again, and fails with an error when no plan in the menu meets
    the bound. The result is a `#xfmr.precision` record on every grouped op
    and, with `plan=`, a JSON plan (docs/Precision.md describes it).

    Candidates are scheme names, `W` or `W/A` (weights / activations), e.g.
    `mxfp4/mxfp8-e4m3` for W4A8. Objectives: `bytes` (weight storage) or
    `latency` (the roofline cost model of the attached target, for a forward
    pass over `workload-tokens` tokens; needs xfmr-attach-target).

    IR already lowered to linalg (torch-mlir, IREE input) works through the
    op interface: linalg.matmul and linalg.batch_matmul (any indexing maps,
    so transposed B too) whose B is a constant are weight-bearing products,
    and their records land in the `xfmr.precision` attribute. Such IR
    cannot be run by the evaluator, so `sensitivity=probe` measures each
    group's relative squared output error on seeded standard-normal probe
    inputs (no data), and the budget is `local=E`: the sum of those errors
    over the groups. `function=` names the function to annotate.

    Example:
    `--xfmr-attach-target --xfmr-assign-precision="budget=kl=0.01 calibration=calib.tokens plan=plan.json"`
  }];
  // Records and targets are xfmr attributes, also on IR without xfmr ops.
  let dependentDialects = ["::mixtile::xfmr::XfmrDialect"];
  let options = [
    Option<"budget", "budget", "std::string", /*default=*/"\"kl=0.01\"",
           "Accuracy budget as metric=bound: kl (mean KL divergence from "
           "FP32, nats/token), top1 (fraction of positions whose arg-max "
           "matches FP32, e.g. top1=0.99), ppl-ratio (perplexity on the "
           "actual next tokens over FP32's, e.g. ppl-ratio=1.01), rel-l2 "
           "(relative L2 of logits), or local (sensitivity=probe: summed relative "
           "squared output error of the products)">,
    ListOption<"candidates", "candidates", "std::string",
               "Format candidates, W or W/A scheme names (default: bf16, "
               "fp8-e4m3, mxfp8-e4m3, nvfp4, mxfp4, mxfp4/mxfp8-e4m3)">,
    ListOption<"pins", "pins", "std::string",
               "Fix the format of matching layer groups: REGEX=CANDIDATE "
               "(the regex is searched in the group name; the candidate must "
               "be in the menu), e.g. output=bf16">,
    Option<"objective", "objective", "std::string", /*default=*/"\"latency\"",
           "What to minimize: latency (needs a target), bytes, or mix "
           "(mix-weight x latency + (1 - mix-weight) x bytes, each relative "
           "to the costliest uniform plan)">,
    Option<"mixWeight", "mix-weight", "double", /*default=*/"0.5",
           "Weight of latency in objective=mix, in [0, 1]">,
    Option<"workloadTokens", "workload-tokens", "int64_t",
           /*default=*/"32768",
           "Tokens per forward pass for the latency objective (default: "
           "prefill of 64 sequences x 512 tokens)">,
    Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
           "Calibration token file: one id per line, a new sequence at "
           "every BOS (1); with tokenizer=, a text file of stories "
           "separated by <|endoftext|> lines">,
    Option<"tokenizer", "tokenizer", "std::string", /*default=*/"\"\"",
           "llama2.c tokenizer.bin: calibration and held-out files are text, "
           "each story encoded with BOS">,
    Option<"maxSequences", "max-sequences", "unsigned", /*default=*/"0",
           "Use at most this many calibration (and held-out) sequences "
           "(0: all); sequences longer than the model's context are cut">,
    Option<"sensitivity", "sensitivity", "std::string",
           /*default=*/"\"exact\"",
           "exact (one model run per group and candidate), local (each "
           "group's output error per candidate on recorded inputs, scaled by "
           "one model run per group at its coarsest candidate), compare "
           "(both; plans with exact, reports their agreement), or probe "
           "(each group's output error on random probe inputs; no data, no "
           "model run; budget local=E)">,
    Option<"localRows", "local-rows", "int64_t", /*default=*/"4096",
           "Local sensitivity: input rows sampled per layer">,
    Option<"probeRows", "probe-rows", "int64_t", /*default=*/"256",
           "sensitivity=probe: probe input rows per product">,
    Option<"probeSeed", "probe-seed", "uint64_t", /*default=*/"1",
           "sensitivity=probe: seed of the probe inputs">,
    Option<"probeOutputs", "probe-outputs", "int64_t", /*default=*/"0",
           "sensitivity=probe: output features (weight rows) sampled per "
           "product, stratified, only those rows read (0: every one)">,
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "The function whose products are assigned (default: @forward, "
           "or the module's only function)">,
    Option<"threads", "threads", "unsigned", /*default=*/"0",
           "Model runs measured at once (0: one per core); results do not "
           "depend on it">,
    Option<"holdout", "holdout", "std::string", /*default=*/"\"\"",
           "Held-out token file (same format): the chosen plan's divergence "
           "on it is reported in the plan">,
    Option<"plan", "plan", "std::string", /*default=*/"\"\"",
           "Write the plan as JSON to this file">,
    Option<"planIn", "plan-in", "std::string", /*default=*/"\"\"",
           "Apply a saved or hand-edited plan (the schema plan= writes; "
           "each layer's \"record\", or else its \"candidate\") instead of "
           "searching">,
    ListOption<"sweep", "sweep", "std::string",
               "Also solve and verify these bounds of the budget's metric "
               "(measurements are shared) and write the frontier">,
    Option<"sweepOut", "sweep-out", "std::string", /*default=*/"\"\"",
           "Write the sweep's frontier as JSON to this file">,
    Option<"sweepSvg", "sweep-svg", "std::string", /*default=*/"\"\"",
           "Plot the sweep's frontier (cost vs measured metric, held-out "
           "when given) as SVG to this file">,
    Option<"printTable", "print-table", "bool", /*default=*/"false",
           "Print the chosen plan as a table on stdout (write the IR with "
           "-o then)">,
    Option<"margin", "margin", "double", /*default=*/"0.25",
           "Held-out margin: a plan is accepted when its calibration error "
           "is at most bound / (1 + margin), so that text unlike the "
           "calibration set stays within the bound (0: the bound itself)">,
    Option<"maxRounds", "max-rounds", "unsigned", /*default=*/"4",
           "Solve-and-verify rounds before giving up">,
    Option<"sensitivitiesOut", "sensitivities-out", "std::string",
           /*default=*/"\"\"",
           "Write the measured per-group sensitivities (JSON) to this file">,
    Option<"sensitivitiesIn", "sensitivities-in", "std::string",
           /*default=*/"\"\"",
           "Read per-group sensitivities written by sensitivities-out "
           "instead of measuring them (same menu and metric); plans are "
           "still verified on the calibration set">,
    Option<"testSensitivities", "test-sensitivities", "std::string",
           /*default=*/"\"\"",
           "Testing only: read per-group sensitivities from this JSON file "
           "({group: {candidate: kl}}) instead of measuring, and accept the "
           "predicted divergence as measured">,
  ];
}

#endif // MIXTILE_PRECISION_PASSES_TD
