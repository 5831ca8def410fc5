"""Independent NumPy forward pass of a llama2.c legacy checkpoint.

Written from the format description (../shared/models/README.md) and
llama2.c's run.c, without Mixtile code, so it can check the evaluator.

usage: llama2c_reference.py MODEL.bin TOKENS.txt OUT.f32
Writes the logits of every position as little-endian float32.
"""
import sys

import numpy as np


def load(path):
    raw = np.fromfile(path, dtype=np.uint8)
    dim, hidden, layers, heads, kv_heads, vocab, seq = np.frombuffer(
        raw[:28].tobytes(), dtype="<i4")
    shared = vocab > 0
    vocab = abs(vocab)
    floats = np.frombuffer(raw[28:].tobytes(), dtype="<f4")
    head = dim // heads
    kv = head * kv_heads
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = floats[pos:pos + n].reshape(shape)
        pos += n
        return out

    w = dict(emb=take(vocab, dim), rms_att=take(layers, dim),
             wq=take(layers, dim, dim), wk=take(layers, kv, dim),
             wv=take(layers, kv, dim), wo=take(layers, dim, dim),
             rms_ffn=take(layers, dim), w1=take(layers, hidden, dim),
             w2=take(layers, dim, hidden), w3=take(layers, hidden, dim),
             rms_final=take(dim))
    take(seq * head)  # legacy RoPE tables
    w["cls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, layers=layers, heads=heads, kv_heads=kv_heads,
               head=head)
    return cfg, w


def rmsnorm(x, g):
    return g * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-5))


def rope(x, positions, head):
    x = x.copy()
    n = x.shape[1]
    for i in range(0, n, 2):
        freq = 1.0 / (10000.0 ** ((i % head) / head))
        angle = positions * freq
        c, s = np.cos(angle), np.sin(angle)
        a, b = x[:, i].copy(), x[:, i + 1].copy()
        x[:, i] = a * c - b * s
        x[:, i + 1] = a * s + b * c
    return x


def forward(cfg, w, tokens):
    x = w["emb"][tokens].astype(np.float64)
    n = len(tokens)
    positions = np.arange(n, dtype=np.float64)
    head, heads, group = cfg["head"], cfg["heads"], cfg["heads"] // cfg["kv_heads"]
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for l in range(cfg["layers"]):
        h = rmsnorm(x, w["rms_att"][l])
        q = rope(h @ w["wq"][l].T, positions, head)
        k = rope(h @ w["wk"][l].T, positions, head)
        v = h @ w["wv"][l].T
        out = np.zeros_like(q)
        for hh in range(heads):
            kv = hh // group
            qs = q[:, hh * head:(hh + 1) * head]
            ks = k[:, kv * head:(kv + 1) * head]
            vs = v[:, kv * head:(kv + 1) * head]
            scores = qs @ ks.T / np.sqrt(head) + mask
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
            out[:, hh * head:(hh + 1) * head] = scores @ vs
        x = x + out @ w["wo"][l].T
        h = rmsnorm(x, w["rms_ffn"][l])
        gate = h @ w["w1"][l].T
        up = h @ w["w3"][l].T
        x = x + ((gate / (1.0 + np.exp(-gate))) * up) @ w["w2"][l].T
    return rmsnorm(x, w["rms_final"]) @ w["cls"].T


def main():
    cfg, w = load(sys.argv[1])
    tokens = [int(t) for t in open(sys.argv[2]).read().split()]
    forward(cfg, w, tokens).astype("<f4").tofile(sys.argv[3])


if __name__ == "__main__":
    main()
