#!/usr/bin/env bash
# Shared set-up for Mixtile's scripts: install missing Debian packages, then
# configure and build (incrementally when a build already exists).

set -euo pipefail

MIXTILE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIXTILE_BUILD="${MIXTILE_BUILD:-$MIXTILE_ROOT/build}"

# Everything the build and the tests need, from Debian 12's archive.
MIXTILE_PACKAGES=(
  cmake ninja-build ccache python3 python3-numpy
  clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libgtest-dev libbenchmark-dev libopenblas-dev
  chromium python3-pil time
)

mixtile_install_packages() {
  local missing=()
  for pkg in "${MIXTILE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "mixtile: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

mixtile_build() {
  if [ ! -f "$MIXTILE_BUILD/build.ninja" ]; then
    cmake -G Ninja -S "$MIXTILE_ROOT" -B "$MIXTILE_BUILD" \
      -DCMAKE_BUILD_TYPE=Release
  fi
  ninja -C "$MIXTILE_BUILD" -j "${MIXTILE_JOBS:-2}" "$@"
}

# Runs lit on the build's test tree with `lit_args` and the given extra
# arguments, then prints "N passed, M failed<suffix>" and fails when any
# test failed or lit itself did.
mixtile_run_lit() {
  local suffix="$1"
  shift
  set +e
  /usr/lib/llvm-22/bin/lit "${lit_args[@]:--sv}" "$MIXTILE_BUILD/test" "$@" \
    | tee "$MIXTILE_BUILD/lit.log"
  local lit_status=${PIPESTATUS[0]}
  set -e
  python3 - "$MIXTILE_BUILD/lit.log" "$lit_status" "$suffix" <<'PY'
import re, sys
log, status, suffix = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[3]
counts = {k: int(v) for k, v in re.findall(r"^\s+([A-Za-z ]+?)\s*:\s+(\d+)", log, re.M)}
passed = counts.get("Passed", 0) + counts.get("Expectedly Failed", 0)
failed = sum(counts.get(k, 0) for k in
             ("Failed", "Unresolved", "Timed Out", "Unexpectedly Passed"))
if status != 0 and failed == 0:
    failed = 1  # lit itself failed (e.g. a broken config): never report green.
unsupported = counts.get("Unsupported", 0)
if unsupported:
    print(f"{unsupported} unsupported (missing ../shared or features)")
print(f"{passed} passed, {failed} failed{suffix}")
sys.exit(1 if failed else 0)
PY
}
