"""Compares two raw f32 logit files: prints the max abs difference and
whether the argmax of every row agrees; exits 1 past the tolerance.

usage: compare_logits.py A.f32 B.f32 VOCAB TOLERANCE
"""
import sys

import numpy as np

a = np.fromfile(sys.argv[1], dtype="<f4")
b = np.fromfile(sys.argv[2], dtype="<f4")
vocab, tol = int(sys.argv[3]), float(sys.argv[4])
if a.shape != b.shape or a.size % vocab:
    print(f"shape mismatch: {a.size} vs {b.size} values")
    sys.exit(1)
a, b = a.reshape(-1, vocab), b.reshape(-1, vocab)
diff = float(np.max(np.abs(a.astype(np.float64) - b)))
same_argmax = bool(np.all(a.argmax(axis=1) == b.argmax(axis=1)))
print(f"rows={a.shape[0]} max_abs_diff={diff:.3g} same_argmax={same_argmax}")
sys.exit(0 if diff <= tol and same_argmax else 1)
