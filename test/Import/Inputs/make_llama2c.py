"""Writes a small llama2.c legacy checkpoint with seeded random weights.

usage: make_llama2c.py OUT dim hidden layers heads kv_heads vocab seq
           [--untied] [--nan-at INDEX] [--truncate BYTES] [--extra BYTES]
The header is written as given (so bad headers can be produced); the body
has exactly the floats a valid header implies.
"""
import argparse
import math
import random
import struct

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("dims", type=int, nargs=7)
p.add_argument("--untied", action="store_true")
p.add_argument("--nan-at", type=int, default=-1)
p.add_argument("--truncate", type=int, default=0)
p.add_argument("--extra", type=int, default=0)
p.add_argument("--body-floats", type=int, default=-1)
a = p.parse_args()
dim, hidden, layers, heads, kv_heads, vocab, seq = a.dims
header_vocab = -vocab if a.untied else vocab

if a.body_floats >= 0:
    count = a.body_floats
else:
    head = dim // heads
    kv = head * kv_heads
    count = (vocab * dim + layers * (dim + 2 * dim * dim + 2 * kv * dim + dim +
                                     3 * hidden * dim) + dim + seq * head)
    if a.untied:
        count += vocab * dim

rng = random.Random(7)
values = [rng.gauss(0.0, 0.1) for _ in range(count)]
if a.nan_at >= 0:
    values[a.nan_at] = math.nan
data = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, header_vocab,
                   seq) + struct.pack("<%df" % count, *values)
if a.truncate:
    data = data[:-a.truncate]
data += b"\0" * a.extra
open(a.out, "wb").write(data)
