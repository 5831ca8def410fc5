#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, MIXTILE_ENABLE_FUZZERS=ON) in their own
# build directory, seeds them from the test inputs (scripts/fuzz-seeds.sh),
# runs each for a given time and prints a table: target, executions, exec/s,
# corpus size, findings (crash / leak / timeout / oom files). Runs unattended;
# the table also goes to $FUZZ_BUILD/fuzz-report.txt.
#
#   scripts/fuzz.sh [seconds-per-target] [targets...]
#
# Defaults: 60 seconds, every target. Environment: MIXTILE_FUZZ_BUILD (default
# build-fuzz), MIXTILE_JOBS (ninja jobs, default 1), FUZZ_RSS_LIMIT_MB
# (default 2048), MIXTILE_FUZZ_SKIP_BUILD=1 (use the fuzzers and seeds
# already built). The corpus of each target grows in
# $FUZZ_BUILD/fuzz-corpus/<target> from run to run; findings land in
# $FUZZ_BUILD/fuzz-findings/<target>/ and each one's log in
# $FUZZ_BUILD/fuzz-logs/<target>.log. Reproduce one with
#   $FUZZ_BUILD/fuzz/mixtile-fuzz-<target> <finding file>
# The exit status is 1 when any target has findings.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_BUILD="${MIXTILE_FUZZ_BUILD:-$ROOT/build-fuzz}"
SECONDS_PER_TARGET="${1:-60}"
shift || true
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

ALL_TARGETS=(import-llama2c import-safetensors import-gguf synthesize
             tokenizer maia-binary maia-asm target-description plan
             mlir-verify mlir-pipelines)
if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=("${ALL_TARGETS[@]}")
fi
for target in "${TARGETS[@]}"; do
  if [[ ! " ${ALL_TARGETS[*]} " == *" $target "* ]]; then
    echo "fuzz.sh: unknown target '$target' (known: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

# The largest input worth mutating, per target: a few small models, Maia
# programs or IR files; larger inputs only slow each execution down.
max_len() {
  case "$1" in
    synthesize) echo 1024 ;;
    target-description | plan) echo 8192 ;;
    tokenizer | mlir-pipelines) echo 16384 ;;
    mlir-verify) echo 32768 ;;
    maia-binary | maia-asm) echo 65536 ;;
    *) echo 131072 ;; # model files (the GPT-2 seeds are 110 KB)
  esac
}
# Seconds one input may take before libFuzzer reports a timeout: the
# compiling targets run whole pipelines under ASan on a shared machine.
timeout_for() {
  case "$1" in
    mlir-pipelines | target-description | plan) echo 30 ;;
    *) echo 10 ;;
  esac
}

SEEDS="$FUZZ_BUILD/fuzz-seeds"
# MIXTILE_FUZZ_SKIP_BUILD=1 runs the fuzzers and seeds as they are (e.g.
# while the tree is being edited).
if [ "${MIXTILE_FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
    cmake -G Ninja -S "$ROOT" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DMIXTILE_ENABLE_FUZZERS=ON
  fi
  ninja -C "$FUZZ_BUILD" -j "${MIXTILE_JOBS:-1}" mixtile-fuzzers
  "$ROOT/scripts/fuzz-seeds.sh" "$FUZZ_BUILD" "$SEEDS"
fi

# Leaks are findings; ASan and UBSan reports abort the input (libFuzzer
# saves it). The fuzzers' own -rss_limit_mb guards memory. For
# allow_user_poisoning=0 see scripts/run-tests-sanitized.sh.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:allow_user_poisoning=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

REPORT="$FUZZ_BUILD/fuzz-report.txt"
mkdir -p "$FUZZ_BUILD/fuzz-logs"
rows=()
status=0
for target in "${TARGETS[@]}"; do
  corpus="$FUZZ_BUILD/fuzz-corpus/$target"
  findings="$FUZZ_BUILD/fuzz-findings/$target"
  log="$FUZZ_BUILD/fuzz-logs/$target.log"
  mkdir -p "$corpus" "$findings"
  stamp="$findings/.started"
  touch "$stamp"
  echo "fuzz.sh: $target for ${SECONDS_PER_TARGET}s" >&2
  set +e
  "$FUZZ_BUILD/fuzz/mixtile-fuzz-$target" \
    -max_total_time="$SECONDS_PER_TARGET" \
    -max_len="$(max_len "$target")" \
    -timeout="$(timeout_for "$target")" \
    -rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}" \
    -print_final_stats=1 \
    -artifact_prefix="$findings/" \
    "$corpus" "$SEEDS/$target" > "$log" 2>&1
  fuzz_status=$?
  set -e
  final_stat() {
    grep -E "^stat::$1:" "$log" | tail -1 | awk '{print $2}'
  }
  executions="$(final_stat number_of_executed_units)"
  per_second="$(final_stat average_exec_per_sec)"
  corpus_size="$(find "$corpus" -type f | wc -l)"
  # Only this run's findings (earlier ones stay in the directory).
  count() { find "$findings" -name "$1-*" -type f -newer "$stamp" | wc -l; }
  crashes="$(count crash)" leaks="$(count leak)" timeouts="$(count timeout)"
  ooms="$(count oom)"
  total=$((crashes + leaks + timeouts + ooms))
  if [ "$total" -gt 0 ] || [ "$fuzz_status" -ne 0 ]; then
    status=1
  fi
  # A run that stopped without final stats (e.g. a crash in a seed) still
  # gets a row; its log says what happened.
  rows+=("$(printf '%-20s %12s %8s %8s   crash %d, leak %d, timeout %d, oom %d%s' \
    "$target" "${executions:-?}" "${per_second:-?}" "$corpus_size" \
    "$crashes" "$leaks" "$timeouts" "$ooms" \
    "$([ "$fuzz_status" -ne 0 ] && echo "  (exit $fuzz_status, see $log)")")")
done

{
  echo "Mixtile fuzzing: ${SECONDS_PER_TARGET}s per target, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf '%-20s %12s %8s %8s   %s\n' target executions exec/s corpus findings
  printf '%s\n' "${rows[@]}"
} | tee "$REPORT"
echo "fuzz.sh: table written to $REPORT" >&2
exit "$status"
