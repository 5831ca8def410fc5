"""Checks a mixtile-compile output directory against reference logits.

usage: check_outputs.py OUTDIR FP32_LOGITS MIXED_LOGITS PROMPT

Loads OUTDIR/model.so through its C interface (ctypes), runs the prompt,
and requires its logits to equal MIXED_LOGITS (the evaluator on the
annotated IR) byte for byte; the plan's held-out KL must be within its
budget, and the prompt's mixed logits must differ from the FP32 ones (the
plan changed something).
"""
import ctypes
import json
import os
import sys

import numpy as np

outdir, fp32_path, mixed_path, prompt_path = sys.argv[1:5]
prompt = [int(line) for line in open(prompt_path) if line.strip()]
mixed = np.fromfile(mixed_path, dtype=np.float32)
fp32 = np.fromfile(fp32_path, dtype=np.float32)

lib = ctypes.CDLL(os.path.join(outdir, "model.so"))
lib.mixtile_model_create.restype = ctypes.c_void_p
lib.mixtile_model_create.argtypes = [ctypes.c_char_p]
lib.mixtile_model_prefill.argtypes = [ctypes.c_void_p,
                                      ctypes.POINTER(ctypes.c_int32),
                                      ctypes.c_int64,
                                      ctypes.POINTER(ctypes.c_float)]
lib.mixtile_model_vocab_size.restype = ctypes.c_int64
lib.mixtile_model_vocab_size.argtypes = [ctypes.c_void_p]
lib.mixtile_model_free.argtypes = [ctypes.c_void_p]

model = lib.mixtile_model_create(
    os.path.join(outdir, "model.weights").encode())
assert model, "mixtile_model_create failed"
vocab = lib.mixtile_model_vocab_size(model)
tokens = (ctypes.c_int32 * len(prompt))(*prompt)
logits = np.zeros(len(prompt) * vocab, dtype=np.float32)
status = lib.mixtile_model_prefill(
    model, tokens, len(prompt),
    logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
assert status == 0, "prefill failed"
lib.mixtile_model_free(model)

assert logits.tobytes() == mixed.tobytes(), "cpu logits differ"
assert fp32.shape == mixed.shape and not np.array_equal(fp32, mixed), \
    "the plan changed nothing"

plan = json.load(open(os.path.join(outdir, "plan.json")))
bound = plan["budget"]["error_bound"]
assert plan["holdout"]["kl"] <= bound, (plan["holdout"]["kl"], bound)
print("cpu library: identical logits over %d tokens; held-out kl %.3e <= %g"
      % (len(prompt), plan["holdout"]["kl"], bound))
