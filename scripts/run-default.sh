#!/usr/bin/env bash
# Installs what is missing, builds, and runs Mixtile's main job on the
# built-in default model: today, annotate the stories260K-shaped example
# block with a mixed precision plan (MXFP4 feed-forward, FP8 attention,
# BF16 output head) and print the annotated IR.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mixtile_install_packages
mixtile_build mixtile-opt

"$MIXTILE_BUILD/bin/mixtile-opt" "$MIXTILE_ROOT/examples/stories260K-block.mlir" \
  --xfmr-set-precision="weights=bf16" \
  --xfmr-set-precision="weights=fp8-e4m3 match=attention" \
  --xfmr-set-precision="weights=mxfp4 activations=mxfp8-e4m3 match=feed_forward"
