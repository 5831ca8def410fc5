//===- Passes.td - xfmr transformation passes --------------*- tablegen -*-===//
//
// Passes that work on xfmr IR.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_DIALECT_XFMR_TRANSFORMS_PASSES_TD
#define MIXTILE_DIALECT_XFMR_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def XfmrSetPrecision : Pass<"xfmr-set-precision"> {
  let summary = "Give matching layers one hand-chosen precision record";
  let description = [{
    Annotates every op implementing `PrecisionOpInterface` whose layer name
    matches `match` with a `#xfmr.precision` record built from named schemes.
    This is how a user (or a test) states a uniform or hand-made plan without
    running the precision search; lowerings read the record the same way.

    A layer's name is the key of the `xfmr.weight` feeding its weight
    operand, or else the name of its location (`loc("name")`).

    Schemes: `f32`, `bf16`, `fp8-e4m3` and `fp8-e5m2` (FP32 per-tensor
    scale), `mxfp8-e4m3`, `mxfp8-e5m2`, `mxfp6-e2m3`, `mxfp6-e3m2`, `mxfp4`
    (OCP MX: E8M0 scale per 32 elements), `nvfp4` (E4M3 scale per 16 plus an
    FP32 tensor scale). Weights and activations may use different element
    formats but share one scale kind and block size (W4A8 is
    `weights=mxfp4 activations=mxfp8-e4m3`).

    Example: `--xfmr-set-precision="weights=mxfp4 match=feed_forward"`.
  }];
  // Records and targets are xfmr attributes, also on IR without xfmr ops.
  let dependentDialects = ["::mixtile::xfmr::XfmrDialect"];
  let options = [
    Option<"weights", "weights", "std::string", /*default=*/"\"bf16\"",
           "Scheme of the weight operand">,
    Option<"activations", "activations", "std::string", /*default=*/"\"\"",
           "Scheme of the activation operand (default: bf16, or the weight "
           "scheme when that is 8 bits or wider)">,
    Option<"kvCache", "kv-cache", "std::string", /*default=*/"\"\"",
           "Scheme whose element type attention KV caches are stored in "
           "(f32, bf16, fp8-e4m3, fp8-e5m2); empty leaves the cache at the "
           "compute type">,
    Option<"match", "match", "std::string", /*default=*/"\"\"",
           "Regular expression searched in layer names; empty matches all">,
    Option<"overwrite", "overwrite", "bool", /*default=*/"true",
           "Replace records that are already set">,
  ];
}

def XfmrAttachTarget : Pass<"xfmr-attach-target", "mlir::ModuleOp"> {
  let summary = "Attach a target description to the module";
  let description = [{
    Loads a target description, the built-in `maia200` or a JSON file a user
    copied and edited (see targets/maia200.json), and stores it as the
    module attribute `xfmr.target`. Every later pass that needs a hardware
    fact reads it from there; no pass hard-codes one.

    Example: `--xfmr-attach-target="target=my-chip.json"`.
  }];
  // Records and targets are xfmr attributes, also on IR without xfmr ops.
  let dependentDialects = ["::mixtile::xfmr::XfmrDialect"];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"maia200\"",
           "A built-in target name (maia200) or a target description file">,
  ];
}

#endif // MIXTILE_DIALECT_XFMR_TRANSFORMS_PASSES_TD
