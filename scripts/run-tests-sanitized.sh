#!/usr/bin/env bash
# Builds Mixtile with AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan (MIXTILE_SANITIZERS="address;undefined") and runs the whole lit
# suite under them. Any sanitizer report aborts the process that made it, so
# the test fails. The last line is "N passed, M failed" as in run-tests.sh.
#
#   scripts/run-tests-sanitized.sh [lit arguments...]
#
# Environment: MIXTILE_ASAN_BUILD (default build-asan), MIXTILE_JOBS (ninja
# jobs, default 1: the machine is shared), LIT_JOBS (default: lit's).

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MIXTILE_BUILD="${MIXTILE_ASAN_BUILD:-$MIXTILE_ROOT/build-asan}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$MIXTILE_ROOT}"

mixtile_install_packages
if [ ! -f "$MIXTILE_BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$MIXTILE_ROOT" -B "$MIXTILE_BUILD" \
    -DCMAKE_BUILD_TYPE=Release -DMIXTILE_SANITIZERS="address;undefined"
fi
ninja -C "$MIXTILE_BUILD" -j "${MIXTILE_JOBS:-1}" mixtile-test-depends

# halt_on_error: the first report ends the process (nonzero exit).
# detect_leaks: LeakSanitizer runs at exit of every instrumented tool.
# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs from
# the inline code compiled into our (instrumented) objects, but allocations
# made inside the uninstrumented libMLIR.so never unpoison them: a shared
# StorageUniquer slab would report use-after-poison on valid memory
# (docs/Reliability.md).
# UBSan prints a stack for each report; -fno-sanitize-recover=all already
# makes every UBSan check fatal.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:allow_user_poisoning=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

lit_args=(-sv)
[ -n "${LIT_JOBS:-}" ] && lit_args+=(-j "$LIT_JOBS")

set +e
/usr/lib/llvm-22/bin/lit "${lit_args[@]}" "$MIXTILE_BUILD/test" "$@" \
  | tee "$MIXTILE_BUILD/lit.log"
lit_status=${PIPESTATUS[0]}
set -e

python3 - "$MIXTILE_BUILD/lit.log" "$lit_status" <<'PY'
import re, sys
log, status = open(sys.argv[1]).read(), int(sys.argv[2])
counts = {k: int(v) for k, v in re.findall(r"^\s+([A-Za-z ]+?)\s*:\s+(\d+)", log, re.M)}
passed = counts.get("Passed", 0) + counts.get("Expectedly Failed", 0)
failed = sum(counts.get(k, 0) for k in
             ("Failed", "Unresolved", "Timed Out", "Unexpectedly Passed"))
if status != 0 and failed == 0:
    failed = 1  # lit itself failed (e.g. a broken config): never report green.
unsupported = counts.get("Unsupported", 0)
if unsupported:
    print(f"{unsupported} unsupported (missing ../shared or features)")
print(f"{passed} passed, {failed} failed (ASan + UBSan)")
sys.exit(1 if failed else 0)
PY
