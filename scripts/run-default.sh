#!/usr/bin/env bash
# Installs what is missing, builds, and runs Mixtile's main job on the
# built-in default model (a seeded synthetic Llama of stories260K's shape):
# mixtile-compile chooses per-layer number formats under an accuracy budget
# (mean KL <= 0.01 nats/token against FP32, cheapest modeled latency on the
# built-in maia200 target), checks the plan on held-out sequences, lowers it
# to a Maia program (simulated; logits checked against the reference
# evaluator) and to a native CPU library (checked too), and writes
# build/default/report.html. Extra arguments go to mixtile-compile.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mixtile_install_packages
mixtile_build mixtile-compile

"$MIXTILE_BUILD/bin/mixtile-compile" -o "$MIXTILE_BUILD/default" "$@"
echo "report: $MIXTILE_BUILD/default/report.html"
