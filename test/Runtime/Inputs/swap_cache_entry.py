"""Replaces the cache entry holding library A by library B, digest too.

  swap_cache_entry.py CACHE_DIR A.so B.so
"""

import glob
import hashlib
import sys

cache, old_path, new_path = sys.argv[1:4]
old = open(old_path, "rb").read()
new = open(new_path, "rb").read()
entries = [p for p in glob.glob(cache + "/*.so") if open(p, "rb").read() == old]
if len(entries) != 1:
    sys.exit(f"swap_cache_entry: {len(entries)} entries hold {old_path}")
open(entries[0], "wb").write(new)
open(entries[0] + ".sha256", "w").write(hashlib.sha256(new).hexdigest() + "\n")
