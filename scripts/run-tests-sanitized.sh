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

mixtile_run_lit " (ASan + UBSan)" "$@"
