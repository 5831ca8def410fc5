# -*- Python -*-
# lit configuration that runs every GoogleTest binary under unittests/; each
# gtest case counts as one lit test.

import os

import lit.formats

config.name = "Mixtile-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.mixtile_obj_root, "unittests")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
config.environment["MIXTILE_SHARED_DIR"] = os.path.realpath(
    config.mixtile_shared_dir)
