#!/usr/bin/env bash
# Installs what is missing, builds, and runs every Mixtile test (lit +
# FileCheck, tool tests and the GoogleTest units through lit). The last line
# is "N passed, M failed".

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mixtile_install_packages
mixtile_build all mixtile-test-depends

lit_args=(-sv)
mixtile_run_lit "" "$@"
