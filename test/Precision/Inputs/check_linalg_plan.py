"""Checks xfmr-assign-precision's annotations of a linalg transformer.

usage: check_linalg_plan.py ANNOTATED.mlir PLAN.json SENSITIVITIES.json

Every weight-bearing linalg.matmul has a record and the attention
batch_matmuls have none; products that read one activation (Q/K/V,
gate/up) share their record; the plan is within its budget and cheaper
than uniform BF16; block 1's down projection, whose weights have outlier
input channels, is the most sensitive product at MXFP4.
"""
import json
import re
import sys

ir = open(sys.argv[1]).read()
plan = json.load(open(sys.argv[2]))
groups = json.load(open(sys.argv[3]))["groups"]

MAPS = r"(?:indexing_maps = \[[^]]*\] )?"
matmuls = re.findall(r"= linalg\.matmul " + MAPS + r"(\{xfmr\.precision = [^}]*\})?",
                     ir)
batch = re.findall(r"= linalg\.batch_matmul " + MAPS + r"(\{xfmr\.precision)?", ir)
assert len(matmuls) == 14 and all(matmuls), matmuls
assert len(batch) == 2 and not any(batch), batch

# Program order: per block q k v o w1 w3 w2.
for block in range(2):
    q, k, v, o, w1, w3, w2 = matmuls[7 * block:7 * block + 7]
    assert q == k == v, (q, k, v)
    assert w1 == w3, (w1, w3)

assert plan["predicted_error"] <= plan["budget"]["error_bound"]
assert plan["total_weight_bytes"] < plan["uniform"]["bf16"]["weight_bytes"]
worst = max(groups, key=lambda g: groups[g]["mxfp4"])
assert worst == "linalg.matmul#13", worst
print("14 products annotated, 2 attention products left alone; %d of %d "
      "bytes of uniform bf16; most sensitive at mxfp4: %s"
      % (plan["total_weight_bytes"], plan["uniform"]["bf16"]["weight_bytes"],
         worst))
