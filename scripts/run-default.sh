#!/usr/bin/env bash
# Installs what is missing, builds, and runs Mixtile's main job on the
# built-in default model (a seeded synthetic Llama of stories260K's shape):
# choose per-layer number formats under an accuracy budget (mean KL <= 0.05
# nats/token against FP32 on calibration tokens, cheapest modeled latency on
# the built-in maia200 target), print the plan, check it on held-out tokens
# with the reference evaluator, and run it on the simulated maia200.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mixtile_install_packages
mixtile_build mixtile-opt mixtile-translate mixtile-run

bin="$MIXTILE_BUILD/bin"
out="$MIXTILE_BUILD/default"
mkdir -p "$out"

echo '{"preset": "tiny", "seed": 1}' |
  "$bin/mixtile-translate" --synthesize -o "$out/model.mlir"

# Fixed token sequences (BOS first): two for calibration, one held out.
{ echo 1; seq 1 255 | awk '{ print ($1 * 37 + 11) % 512 }';
  echo 1; seq 1 255 | awk '{ print ($1 * 91 + 5) % 512 }'; } > "$out/calibration.tokens"
{ echo 1; seq 1 255 | awk '{ print ($1 * 53 + 7) % 512 }'; } > "$out/holdout.tokens"

echo "== precision plan: kl <= 0.05, objective latency on maia200 =="
"$bin/mixtile-opt" "$out/model.mlir" --xfmr-attach-target \
  --xfmr-assign-precision="budget=kl=0.05 calibration=$out/calibration.tokens holdout=$out/holdout.tokens plan=$out/plan.json print-table" \
  -o "$out/mixed.mlir"
echo "(annotated IR: $out/mixed.mlir, plan: $out/plan.json)"

echo "== held-out check with mixtile-run =="
"$bin/mixtile-run" "$out/model.mlir" --tokens "$out/holdout.tokens" \
  --dump-logits "$out/fp32.f32" > /dev/null
"$bin/mixtile-run" "$out/mixed.mlir" --tokens "$out/holdout.tokens" \
  --reference-logits "$out/fp32.f32"

echo "== the same plan on the simulated maia200 (logits equal the evaluator's) =="
"$bin/mixtile-run" "$out/mixed.mlir" --backend=maia --tokens "$out/holdout.tokens" \
  --dump-logits "$out/maia.f32" > /dev/null
"$bin/mixtile-run" "$out/mixed.mlir" --tokens "$out/holdout.tokens" \
  --dump-logits "$out/reference.f32" > /dev/null
cmp "$out/maia.f32" "$out/reference.f32" && echo "maia200 logits: identical to the reference evaluator's"
