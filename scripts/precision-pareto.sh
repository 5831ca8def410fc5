#!/usr/bin/env bash
# Measures the precision search on stories260K: for each objective (modeled
# latency of a 64 x 512-token prefill on maia200, and weight bytes) a sweep
# over KL budgets, calibrated on ../shared/data/tinystories_calib.txt and
# checked on ../shared/data/tinystories_holdout.txt. Prints each sweep's
# Pareto table and writes plans, frontiers and plots to $OUT.
#
#   scripts/precision-pareto.sh [max-calibration-stories]   (default: all)
#
# SENSITIVITIES=FILE reuses a table an earlier run wrote (OUT/sensitivities.json)
# instead of measuring it again.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mixtile_build mixtile-opt mixtile-translate >/dev/null

shared="$MIXTILE_ROOT/../shared"
bin="$MIXTILE_BUILD/bin"
out="${OUT:-$MIXTILE_BUILD/pareto}"
mkdir -p "$out"
"$bin/mixtile-translate" --import-llama2c "$shared/models/stories260K.bin" \
  -o "$out/stories260K.mlir"

# The first sweep measures the sensitivities; the second reuses them.
sens="sensitivities-out=$out/sensitivities.json"
[ -n "${SENSITIVITIES:-}" ] && sens="sensitivities-in=$SENSITIVITIES"
for objective in latency bytes; do
  echo "== objective=$objective (budgets: mean KL, nats/token) =="
  start=$(date +%s)
  "$bin/mixtile-opt" "$out/stories260K.mlir" --xfmr-attach-target \
    --xfmr-assign-precision="budget=kl=0.01 objective=$objective \
calibration=$shared/data/tinystories_calib.txt \
holdout=$shared/data/tinystories_holdout.txt \
tokenizer=$shared/models/tok512.bin max-sequences=${1:-0} \
sweep=0.005,0.01,0.02,0.05 sweep-out=$out/sweep-$objective.json \
sweep-svg=$out/sweep-$objective.svg plan=$out/plan-$objective.json $sens print-table" \
    -o "$out/annotated-$objective.mlir" | sed -n '1,5p'
  echo "(sweep with measurements: $(( $(date +%s) - start )) s)"
  sens="sensitivities-in=$out/sensitivities.json"
  python3 - "$out/sweep-$objective.json" "$out/plan-$objective.json" <<'PY'
import json, sys
sweep, plan = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
unit = "us" if plan["objective"] == "latency" else "bytes"
scale = 1e6 if unit == "us" else 1
print(f"{'budget':>7} {'plan ' + unit:>12} {'best uniform':>22} {'held-out KL':>12} {'KL/budget':>9} {'calib KL':>9}")
for p in sweep:
    b = p.get("best_uniform")
    uni = f"{b['candidate']} {b['cost'] * scale:.4g}" if b else "none"
    kl = p["holdout"]["kl"]
    print(f"{p['budget']:>7} {p['cost'] * scale:>12.4g} {uni:>22} {kl:>12.5f} {kl / float(p['budget']):>9.2f} {p['measured_calibration_error']:>9.5f}")
print("uniform baselines (held-out KL, cost):")
for name, u in sorted(plan["uniform"].items()):
    print(f"  {name:<18} {u['holdout']['kl']:.5f}  {u['cost'] * scale:.4g} {unit}")
print(f"calibration tokens {plan['calibration_tokens']}, held-out tokens {plan['holdout_tokens']}, workload {plan['workload_tokens']} tokens")
PY
done
