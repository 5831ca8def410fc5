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
