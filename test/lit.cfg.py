# -*- Python -*-
# lit configuration of Mixtile's FileCheck and tool tests.

import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "Mixtile"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mixtile_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py"]

llvm_config.use_default_substitutions()
# Our tools first, then FileCheck, not, split-file... from LLVM.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.mixtile_tools_dir,
                             append_path=True)
llvm_config.add_tool_substitutions(
    ["mixtile-opt", "mixtile-quantize", "mixtile-translate", "mixtile-run",
     "mixtile-sim", "mixtile-compile"],
    [config.mixtile_tools_dir])
# Helper scripts run with Debian's python3 (which has numpy), the one lit
# itself runs on.
config.substitutions.append(("%python", sys.executable))

# Tests on the real trained model declare REQUIRES: shared-models and report
# UNSUPPORTED where ../shared is absent.
shared = os.path.realpath(config.mixtile_shared_dir)
if os.path.exists(os.path.join(shared, "models", "stories260K.bin")):
    config.available_features.add("shared-models")
config.substitutions.append(("%shared", shared))

# Headless Chromium renders the compile report (scripts/common.sh installs
# Debian's chromium).
import shutil
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if chromium:
    config.available_features.add("chromium")
    config.substitutions.append(("%chromium", chromium))
config.substitutions.append(("%mixtile_src", config.mixtile_src_root))

# Upstream mlir-opt of the LLVM we build against, and our plugin for it.
mlir_opt = os.path.join(config.llvm_tools_dir, "mlir-opt")
# Sanitized builds (scripts/run-tests-sanitized.sh, docs/Reliability.md):
# the instrumented plugin needs the ASan runtime, which the uninstrumented
# mlir-opt only has when it is preloaded.
config.mixtile_sanitizers = [
    s for s in getattr(config, "mixtile_sanitizers", "").split(";") if s]
if config.mixtile_sanitizers:
    config.available_features.add("sanitizers")
    # What scripts/run-tests-sanitized.sh sets, for lit run by hand: LLVM's
    # allocators poison memory from our objects that the uninstrumented
    # libMLIR.so then uses without unpoisoning (docs/Reliability.md).
    config.environment.setdefault(
        "ASAN_OPTIONS", "halt_on_error=1:detect_leaks=1:allow_user_poisoning=0")
    config.environment.setdefault(
        "UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
if "address" in config.mixtile_sanitizers:
    import subprocess
    asan_runtime = subprocess.check_output(
        [config.cmake_cxx_compiler,
         "-print-file-name=libclang_rt.asan-x86_64.so"], text=True).strip()
    mlir_opt = "env LD_PRELOAD=%s %s" % (asan_runtime, mlir_opt)
config.substitutions.append(("%mlir_opt", mlir_opt))
config.substitutions.append(("%mixtile_plugin", config.mixtile_plugin))
