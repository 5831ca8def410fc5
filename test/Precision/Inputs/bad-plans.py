"""Writes malformed plans for assign-precision-plan.mlir."""
import json
import sys

out = sys.argv[1]
plans = {
    "unknown-group": {"layers": [{"group": "c.weight", "candidate": "bf16"}]},
    "bad-record": {"layers": [{"group": "a.weight", "record": "#xfmr.precision<weights = i8>"}]},
    "no-format": {"layers": [{"group": "a.weight"}]},
    "bad-candidate": {"layers": [{"group": "a.weight", "candidate": "fp5"}]},
    "no-layers": {"plan": []},
}
for name, plan in plans.items():
    json.dump(plan, open(f"{out}.{name}.json", "w"))
