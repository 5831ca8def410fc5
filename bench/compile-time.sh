#!/usr/bin/env bash
# Compile time and peak memory of the whole pipeline on synthetic
# Llama-shaped models of 8, 16, 32 and 80 layers: Llama-3-8B's layer shape
# for 8/16/32, Llama-3-70B's for 80, with seeded synthetic weights. Per
# size: synthesize; attach the target and choose the plan from measured
# local sensitivities (xfmr-assign-precision sensitivity=probe: every
# product's output error per candidate format on 16 seeded probe rows, 64
# of its output features sampled, only those weight rows generated; budget
# local=E, objective latency); lower one decode step at position 1024 to a
# Maia program, encode it, simulate it in timing mode; and lower the
# annotated IR through mixtile-cpu-pipeline to the LLVM dialect. Each
# step's time and peak RSS come from /usr/bin/time; the last columns are
# per-layer figures, which stay flat when growth is linear in layers.
#
# An 8B model's f32 weights (32 GB) exceed this machine's memory, which is
# why the sensitivities sample output rows (docs/Precision.md); the
# per-tensor scales of fp8 and nvfp4 still come from every weight.
#
#   bench/compile-time.sh [build-dir] [layers...]     (build, 8 16 32 80)
set -euo pipefail
build="${1:-$(dirname "$0")/../build}"
shift || true
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(8 16 32 80)
bin="$build/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

shape() { # layers -> synthesis request
  if [ "$1" -ge 80 ]; then
    echo "{\"arch\":\"llama\",\"dim\":8192,\"hidden_dim\":28672,\"n_layers\":$1,\"n_heads\":64,\"n_kv_heads\":8,\"vocab_size\":128256,\"max_seq_len\":2048,\"weights\":\"seeded\"}"
  else
    echo "{\"arch\":\"llama\",\"dim\":4096,\"hidden_dim\":14336,\"n_layers\":$1,\"n_heads\":32,\"n_kv_heads\":8,\"vocab_size\":128256,\"max_seq_len\":2048,\"weights\":\"seeded\"}"
  fi
}

# Runs a step under /usr/bin/time; appends "seconds peak_kb" to $stats.
timed() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
  read -r s kb < "$work/time"
  total_s=$(awk -v a="$total_s" -v b="$s" 'BEGIN { print a + b }')
  [ "$kb" -gt "$peak_kb" ] && peak_kb=$kb
  step_times+=("$s")
}

printf "%-7s %-9s %9s %10s %9s %9s %9s %9s %11s %12s %12s %12s\n" layers shape \
  import calib+plan maia encode sim cpu total_s peak_MB s/layer MB/layer
for layers in "${sizes[@]}"; do
  total_s=0 peak_kb=0 step_times=()
  m="$work/m$layers"
  timed sh -c "echo '$(shape "$layers")' | '$bin/mixtile-translate' --synthesize -o '$m.mlir'"
  # The budget grows with the number of products it is summed over.
  budget=$(awk -v l="$layers" 'BEGIN { print 0.0125 * l }')
  timed "$bin/mixtile-opt" "$m.mlir" --xfmr-attach-target \
    --xfmr-assign-precision="budget=local=$budget sensitivity=probe probe-rows=16 probe-outputs=64 objective=latency" \
    -o "$m.annotated.mlir"
  timed "$bin/mixtile-opt" "$m.annotated.mlir" \
    --convert-xfmr-to-maia="num-tokens=1 start=1024" -o "$m.maia.mlir"
  timed "$bin/mixtile-translate" --maia-to-bin "$m.maia.mlir" -o "$m.mbin"
  timed "$bin/mixtile-sim" --mode=timing "$m.mbin"
  timed "$bin/mixtile-opt" "$m.annotated.mlir" --mixtile-cpu-pipeline \
    -o "$m.llvm.mlir"
  name=$([ "$layers" -ge 80 ] && echo 70B || echo 8B)
  printf "%-7s %-9s %9s %10s %9s %9s %9s %9s %11.1f %12.0f %12.3f %12.1f\n" \
    "$layers" "$name" "${step_times[@]}" "$total_s" \
    "$(awk -v k="$peak_kb" 'BEGIN { print k / 1024 }')" \
    "$(awk -v t="$total_s" -v l="$layers" 'BEGIN { print t / l }')" \
    "$(awk -v k="$peak_kb" -v l="$layers" 'BEGIN { print k / 1024 / l }')"
  rm -f "$m".*
done
