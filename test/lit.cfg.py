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
     "mixtile-sim"],
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
config.substitutions.append(("%mixtile_src", config.mixtile_src_root))

# Upstream mlir-opt of the LLVM we build against, and our plugin for it.
config.substitutions.append(
    ("%mlir_opt", os.path.join(config.llvm_tools_dir, "mlir-opt")))
config.substitutions.append(("%mixtile_plugin", config.mixtile_plugin))
