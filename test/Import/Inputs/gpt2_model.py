"""A seeded GPT-2 model written as a Hugging Face checkpoint or a GGUF file,
and an independent NumPy forward pass over it (written from the GPT-2
definition: learned positions, pre-LayerNorm, fused Conv1D c_attn,
tanh-approximated GELU, tied head), so Mixtile's GPT-2 path is checked
against a second implementation.

usage:
  gpt2_model.py hf   OUT_DIR            (model.safetensors + config.json)
  gpt2_model.py gguf OUT.gguf
  gpt2_model.py ref  TOKENS.txt OUT.f32  (logits of every position)
"""
import json
import os
import struct
import sys

import numpy as np

D, LAYERS, HEADS, VOCAB, POSITIONS = 32, 2, 4, 48, 16
F = 4 * D


def weights():
    rng = np.random.default_rng(11)
    w = {"wte.weight": rng.normal(0, 0.5, (VOCAB, D)),
         "wpe.weight": rng.normal(0, 0.1, (POSITIONS, D)),
         "ln_f.weight": 1 + rng.normal(0, 0.1, D), "ln_f.bias": rng.normal(0, 0.1, D)}
    for l in range(LAYERS):
        p = f"h.{l}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = 1 + rng.normal(0, 0.1, D)
            w[p + ln + ".bias"] = rng.normal(0, 0.1, D)
        # Conv1D weights are [in, out].
        w[p + "attn.c_attn.weight"] = rng.normal(0, 0.2, (D, 3 * D))
        w[p + "attn.c_attn.bias"] = rng.normal(0, 0.1, 3 * D)
        w[p + "attn.c_proj.weight"] = rng.normal(0, 0.2, (D, D))
        w[p + "attn.c_proj.bias"] = rng.normal(0, 0.1, D)
        w[p + "mlp.c_fc.weight"] = rng.normal(0, 0.2, (D, F))
        w[p + "mlp.c_fc.bias"] = rng.normal(0, 0.1, F)
        w[p + "mlp.c_proj.weight"] = rng.normal(0, 0.1, (F, D))
        w[p + "mlp.c_proj.bias"] = rng.normal(0, 0.1, D)
    return {k: v.astype(np.float32) for k, v in w.items()}


def write_hf(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    header, blobs, offset = {}, [], 0
    for name, a in sorted(weights().items()):
        blob = np.ascontiguousarray(a, "<f4").tobytes()
        header["transformer." + name] = {
            "dtype": "F32", "shape": list(a.shape),
            "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    with open(os.path.join(out_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump({"architectures": ["GPT2LMHeadModel"], "n_embd": D,
                   "n_layer": LAYERS, "n_head": HEADS, "vocab_size": VOCAB,
                   "n_positions": POSITIONS, "layer_norm_epsilon": 1e-5,
                   "activation_function": "gelu_new"}, f)


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(out):
    w = weights()
    kv = [("general.architecture", 8, gguf_string("gpt2")),
          ("gpt2.context_length", 4, struct.pack("<I", POSITIONS)),
          ("gpt2.embedding_length", 4, struct.pack("<I", D)),
          ("gpt2.block_count", 4, struct.pack("<I", LAYERS)),
          ("gpt2.feed_forward_length", 4, struct.pack("<I", F)),
          ("gpt2.attention.head_count", 4, struct.pack("<I", HEADS)),
          ("gpt2.attention.layer_norm_epsilon", 6, struct.pack("<f", 1e-5))]
    # llama.cpp's converter stores linear weights [out, in].
    t = [("token_embd.weight", w["wte.weight"]),
         ("position_embd.weight", w["wpe.weight"]),
         ("output_norm.weight", w["ln_f.weight"]), ("output_norm.bias", w["ln_f.bias"])]
    for l in range(LAYERS):
        p, b = f"h.{l}.", f"blk.{l}."
        t += [(b + "attn_norm.weight", w[p + "ln_1.weight"]),
              (b + "attn_norm.bias", w[p + "ln_1.bias"]),
              (b + "attn_qkv.weight", w[p + "attn.c_attn.weight"].T),
              (b + "attn_qkv.bias", w[p + "attn.c_attn.bias"]),
              (b + "attn_output.weight", w[p + "attn.c_proj.weight"].T),
              (b + "attn_output.bias", w[p + "attn.c_proj.bias"]),
              (b + "ffn_norm.weight", w[p + "ln_2.weight"]),
              (b + "ffn_norm.bias", w[p + "ln_2.bias"]),
              (b + "ffn_up.weight", w[p + "mlp.c_fc.weight"].T),
              (b + "ffn_up.bias", w[p + "mlp.c_fc.bias"]),
              (b + "ffn_down.weight", w[p + "mlp.c_proj.weight"].T),
              (b + "ffn_down.bias", w[p + "mlp.c_proj.bias"])]
    head = struct.pack("<IIQQ", 0x46554747, 3, len(t), len(kv))
    for key, typ, val in kv:
        head += gguf_string(key) + struct.pack("<I", typ) + val
    data, offset = b"", 0
    for name, a in t:
        dims = list(reversed(a.shape))
        head += gguf_string(name) + struct.pack("<I", len(dims))
        head += b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", 0, offset)
        blob = np.ascontiguousarray(a, dtype="<f4").tobytes()
        blob += b"\0" * ((32 - len(blob) % 32) % 32)
        data += blob
        offset += len(blob)
    head += b"\0" * ((32 - len(head) % 32) % 32)
    open(out, "wb").write(head + data)


def layer_norm(x, g, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * g + b


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def reference(tokens):
    w = {k: v.astype(np.float64) for k, v in weights().items()}
    n, hd = len(tokens), D // HEADS
    x = w["wte.weight"][tokens] + w["wpe.weight"][np.arange(n)]
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for l in range(LAYERS):
        p = f"h.{l}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
        out = np.zeros_like(q)
        for i in range(HEADS):
            s = slice(i * hd, (i + 1) * hd)
            a = q[:, s] @ k[:, s].T / np.sqrt(hd) + mask
            a = np.exp(a - a.max(1, keepdims=True))
            out[:, s] = (a / a.sum(1, keepdims=True)) @ v[:, s]
        x = x + out @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        f = gelu_tanh(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + f @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
    return x @ w["wte.weight"].T


if __name__ == "__main__":
    if sys.argv[1] == "hf":
        write_hf(sys.argv[2])
    elif sys.argv[1] == "gguf":
        write_gguf(sys.argv[2])
    else:
        tokens = [int(t) for t in open(sys.argv[2]).read().split()]
        reference(tokens).astype("<f4").tofile(sys.argv[3])
