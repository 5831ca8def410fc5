#!/usr/bin/env bash
# Installs what is missing, builds, and runs Mixtile's main job on the
# built-in default model (a seeded synthetic Llama of stories260K's shape):
# synthesize it, annotate a mixed precision plan (MXFP4 weights with MXFP8
# activations in the feed-forward layers, per-tensor FP8 in attention, BF16
# elsewhere), and measure what the plan costs in accuracy against FP32 with
# the reference evaluator.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mixtile_install_packages
mixtile_build mixtile-opt mixtile-translate mixtile-run

bin="$MIXTILE_BUILD/bin"
out="$MIXTILE_BUILD/default"
mkdir -p "$out"

echo '{"preset": "tiny", "seed": 1}' |
  "$bin/mixtile-translate" --synthesize -o "$out/model.mlir"
"$bin/mixtile-opt" "$out/model.mlir" \
  --xfmr-set-precision="weights=bf16" \
  --xfmr-set-precision="weights=fp8-e4m3 match=attention" \
  --xfmr-set-precision="weights=mxfp4 activations=mxfp8-e4m3 match=feed_forward" \
  -o "$out/mixed.mlir"

echo "== annotated IR: $out/mixed.mlir (first layer) =="
grep -m 7 'xfmr.linear' "$out/mixed.mlir" | sed 's/^ *//' | cut -c1-150

# A fixed 256-token sequence (BOS first) for the comparison.
{ echo 1; seq 1 255 | awk '{ print ($1 * 37 + 11) % 512 }'; } > "$out/tokens.txt"
echo "== FP32 reference =="
"$bin/mixtile-run" "$out/model.mlir" --tokens "$out/tokens.txt" \
  --dump-logits "$out/fp32.f32"
echo "== mixed precision plan against FP32 =="
"$bin/mixtile-run" "$out/mixed.mlir" --tokens "$out/tokens.txt" \
  --reference-logits "$out/fp32.f32"
