"""Converts a llama2.c checkpoint into other model files, independently of
Mixtile, so Mixtile's readers are checked against a second implementation.

usage:
  convert_llama2c.py hf   MODEL.bin OUT_DIR [--dtype F32|F16|BF16] [--shards N]
      Hugging Face LlamaForCausalLM: OUT_DIR/model.safetensors + config.json,
      with wq/wk permuted to rotate-half order as HF's converter does; with
      --shards, N shard files and model.safetensors.index.json.
  convert_llama2c.py gguf MODEL.bin OUT.gguf [--arch NAME] [--version N]
                     [--qtype N] [--truncate BYTES]
      GGUF v3, llama architecture, f32 tensors (or GGML type --qtype).
"""
import argparse
import json
import os
import struct

import numpy as np


def load(path):
    raw = open(path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    floats = np.frombuffer(raw[28:], dtype="<f4")
    head = dim // heads
    kv = head * kv_heads
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = floats[pos:pos + n].reshape(shape)
        pos += n
        return out

    w = {"emb": take(vocab, dim), "rms_att": take(layers, dim),
         "wq": take(layers, dim, dim), "wk": take(layers, kv, dim),
         "wv": take(layers, kv, dim), "wo": take(layers, dim, dim),
         "rms_ffn": take(layers, dim), "w1": take(layers, hidden, dim),
         "w2": take(layers, dim, hidden), "w3": take(layers, hidden, dim),
         "rms_final": take(dim)}
    take(seq * head)
    w["cls"] = None if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads,
               kv_heads=kv_heads, vocab=vocab, seq=seq)
    return cfg, w


def permute(w, n_heads):
    rows, cols = w.shape
    return (w.reshape(n_heads, rows // n_heads // 2, 2, cols)
            .transpose(0, 2, 1, 3).reshape(rows, cols))


def hf_tensors(cfg, w):
    t = {"model.embed_tokens.weight": w["emb"], "model.norm.weight": w["rms_final"]}
    for l in range(cfg["layers"]):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = w["rms_att"][l]
        t[p + "self_attn.q_proj.weight"] = permute(w["wq"][l], cfg["heads"])
        t[p + "self_attn.k_proj.weight"] = permute(w["wk"][l], cfg["kv_heads"])
        t[p + "self_attn.v_proj.weight"] = w["wv"][l]
        t[p + "self_attn.o_proj.weight"] = w["wo"][l]
        t[p + "post_attention_layernorm.weight"] = w["rms_ffn"][l]
        t[p + "mlp.gate_proj.weight"] = w["w1"][l]
        t[p + "mlp.down_proj.weight"] = w["w2"][l]
        t[p + "mlp.up_proj.weight"] = w["w3"][l]
    if w["cls"] is not None:
        t["lm_head.weight"] = w["cls"]
    return t


def to_dtype(a, dtype):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    # BF16: round to nearest even on the upper 16 bits.
    bits = a.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return bits.astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, a in sorted(tensors.items()):
        blob = to_dtype(a, dtype)
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_hf(cfg, w, out_dir, dtype, shards):
    os.makedirs(out_dir, exist_ok=True)
    tensors = hf_tensors(cfg, w)
    if shards <= 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors,
                          dtype)
    else:
        names = sorted(tensors)
        weight_map = {}
        for i in range(shards):
            file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: tensors[n] for n in names[i::shards]}
            write_safetensors(os.path.join(out_dir, file), part, dtype)
            weight_map.update({n: file for n in part})
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f)
    config = {"architectures": ["LlamaForCausalLM"], "hidden_size": cfg["dim"],
              "intermediate_size": cfg["hidden"],
              "num_hidden_layers": cfg["layers"],
              "num_attention_heads": cfg["heads"],
              "num_key_value_heads": cfg["kv_heads"],
              "vocab_size": cfg["vocab"],
              "max_position_embeddings": cfg["seq"], "rms_norm_eps": 1e-5,
              "rope_theta": 10000.0,
              "tie_word_embeddings": w["cls"] is None}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f)


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(cfg, w, out, arch, version, qtype, truncate, claim_layers=0):
    # claim_layers: a block_count above the layers stored, with the last stored
    # layer numbered as the claimed last one.
    layers = claim_layers or cfg["layers"]
    kv = [("general.architecture", 8, gguf_string(arch)),
          (arch + ".context_length", 4, struct.pack("<I", cfg["seq"])),
          (arch + ".embedding_length", 4, struct.pack("<I", cfg["dim"])),
          (arch + ".block_count", 4, struct.pack("<I", layers)),
          (arch + ".feed_forward_length", 4, struct.pack("<I", cfg["hidden"])),
          (arch + ".attention.head_count", 4, struct.pack("<I", cfg["heads"])),
          (arch + ".attention.head_count_kv", 4, struct.pack("<I", cfg["kv_heads"])),
          (arch + ".rope.freq_base", 6, struct.pack("<f", 10000.0)),
          (arch + ".attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5))]
    tensors = [("token_embd.weight", w["emb"]), ("output_norm.weight", w["rms_final"])]
    for l in range(cfg["layers"]):
        p = f"blk.{layers - 1 if l == cfg['layers'] - 1 else l}."
        tensors += [(p + "attn_norm.weight", w["rms_att"][l]),
                    (p + "attn_q.weight", w["wq"][l]), (p + "attn_k.weight", w["wk"][l]),
                    (p + "attn_v.weight", w["wv"][l]), (p + "attn_output.weight", w["wo"][l]),
                    (p + "ffn_norm.weight", w["rms_ffn"][l]),
                    (p + "ffn_gate.weight", w["w1"][l]), (p + "ffn_down.weight", w["w2"][l]),
                    (p + "ffn_up.weight", w["w3"][l])]
    if w["cls"] is not None:
        tensors.append(("output.weight", w["cls"]))
    head = struct.pack("<IIQQ", 0x46554747, version, len(tensors), len(kv))
    for key, typ, val in kv:
        head += gguf_string(key) + struct.pack("<I", typ) + val
    data, offset = b"", 0
    for name, a in tensors:
        dims = list(reversed(a.shape))
        head += gguf_string(name) + struct.pack("<I", len(dims))
        head += b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", qtype, offset)
        blob = np.ascontiguousarray(a, dtype="<f4").tobytes()
        blob += b"\0" * ((32 - len(blob) % 32) % 32)
        data += blob
        offset += len(blob)
    head += b"\0" * ((32 - len(head) % 32) % 32)
    out_bytes = head + data
    if truncate:
        out_bytes = out_bytes[:-truncate]
    open(out, "wb").write(out_bytes)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["hf", "gguf"])
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--dtype", default="F32")
    p.add_argument("--arch", default="llama")
    p.add_argument("--version", type=int, default=3)
    p.add_argument("--qtype", type=int, default=0)
    p.add_argument("--truncate", type=int, default=0)
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--claim-layers", type=int, default=0)
    a = p.parse_args()
    cfg, w = load(a.model)
    if a.kind == "hf":
        write_hf(cfg, w, a.out, a.dtype, a.shards)
    else:
        write_gguf(cfg, w, a.out, a.arch, a.version, a.qtype, a.truncate,
                   a.claim_layers)


if __name__ == "__main__":
    main()
