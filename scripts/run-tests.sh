#!/usr/bin/env bash
# Installs what is missing, builds, and runs every Mixtile test (lit +
# FileCheck, tool tests and the GoogleTest units through lit). The last line
# is "N passed, M failed".

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mixtile_install_packages
mixtile_build all mixtile-test-depends

set +e
/usr/lib/llvm-22/bin/lit -sv "$MIXTILE_BUILD/test" "$@" | tee "$MIXTILE_BUILD/lit.log"
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
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
