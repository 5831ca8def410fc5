#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets (fuzz/) from the test inputs:
# small models made by the tests' own generators and Mixtile's exporters,
# the Maia programs, target descriptions, plans and MLIR files under test/,
# and the tokenizer in ../shared/models when it is there (read at run time,
# never copied into the repository).
#
#   scripts/fuzz-seeds.sh BUILD_DIR OUT_DIR
#
# BUILD_DIR must hold bin/mixtile-translate and bin/mixtile-opt. OUT_DIR gets
# one directory per fuzz target (replaced). Every seed that should be
# accepted is checked to be accepted, so a corpus never silently degrades
# into one of rejected inputs.

set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR OUT_DIR" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "$1" && pwd)"
OUT="$2"
TRANSLATE="$BUILD/bin/mixtile-translate"
OPT="$BUILD/bin/mixtile-opt"
SHARED="${MIXTILE_SHARED_DIR:-$ROOT/../shared}"
INPUTS="$ROOT/test/Import/Inputs"
# The tests' generators need NumPy: Debian's python3, the one lit runs on.
PYTHON="${PYTHON:-/usr/bin/python3}"
# The instrumented tools of a fuzz build make the seeds (leaks are the
# fuzzers' business; allow_user_poisoning: see run-tests-sanitized.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allow_user_poisoning=0}"

for tool in "$TRANSLATE" "$OPT"; do
  [ -x "$tool" ] || { echo "fuzz-seeds: $tool is not built" >&2; exit 1; }
done

TARGETS=(import-llama2c import-safetensors import-gguf synthesize tokenizer
         maia-binary maia-asm target-description plan mlir-verify
         mlir-pipelines)
for target in "${TARGETS[@]}"; do
  rm -rf "${OUT:?}/$target"
  mkdir -p "$OUT/$target"
done
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The separator ImportSafetensorsFuzzer.cpp splits its input at.
SEPARATOR=$'\n--mixtile-fuzz-file--\n'

# safetensors_seed NAME CONFIG MODEL [SHARDS...]: joins a model directory
# into one input (an empty CONFIG means no config.json).
safetensors_seed() {
  local name="$1" config="$2" model="$3"
  shift 3
  {
    [ -n "$config" ] && cat "$config"
    printf '%s' "$SEPARATOR"
    cat "$model"
    for shard in "$@"; do
      printf '%s' "$SEPARATOR"
      cat "$shard"
    done
  } > "$OUT/import-safetensors/$name"
}

#--- Models: llama2.c, safetensors, GGUF ------------------------------------

# dim hidden layers heads kv_heads vocab seq, small enough for -max_len.
SHAPES=("8 16 1 2 1 16 4" "16 40 2 4 2 32 8" "16 24 1 4 4 24 8")
i=0
for shape in "${SHAPES[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  "$PYTHON" "$INPUTS/make_llama2c.py" "$WORK/m$i.bin" $shape
  # shellcheck disable=SC2086
  "$PYTHON" "$INPUTS/make_llama2c.py" "$WORK/u$i.bin" $shape --untied
  cp "$WORK/m$i.bin" "$OUT/import-llama2c/tied-$i.bin"
  cp "$WORK/u$i.bin" "$OUT/import-llama2c/untied-$i.bin"
  "$TRANSLATE" --import-llama2c "$WORK/m$i.bin" -o "$WORK/m$i.mlir"
  "$TRANSLATE" --export-safetensors "$WORK/m$i.mlir" -o "$WORK/m$i.safetensors"
  "$TRANSLATE" --export-gguf "$WORK/m$i.mlir" -o "$WORK/m$i.gguf"
  cp "$WORK/m$i.gguf" "$OUT/import-gguf/export-$i.gguf"
  safetensors_seed "mixtile-export-$i" "" "$WORK/m$i.safetensors"
  for dtype in F32 F16 BF16; do
    "$PYTHON" "$INPUTS/convert_llama2c.py" hf "$WORK/m$i.bin" "$WORK/hf$i$dtype" \
      --dtype "$dtype"
    safetensors_seed "hf-$i-$dtype" "$WORK/hf$i$dtype/config.json" \
      "$WORK/hf$i$dtype/model.safetensors"
  done
  "$PYTHON" "$INPUTS/convert_llama2c.py" hf "$WORK/m$i.bin" "$WORK/sh$i" \
    --shards 2
  safetensors_seed "hf-$i-sharded" "$WORK/sh$i/config.json" \
    "$WORK/sh$i/model.safetensors.index.json" \
    "$WORK/sh$i"/model-0000*-of-00002.safetensors
  "$PYTHON" "$INPUTS/convert_llama2c.py" gguf "$WORK/m$i.bin" "$WORK/py$i.gguf"
  cp "$WORK/py$i.gguf" "$OUT/import-gguf/python-$i.gguf"
done

# GPT-2, written by the tests' independent NumPy model.
"$PYTHON" "$INPUTS/gpt2_model.py" hf "$WORK/gpt2"
safetensors_seed "gpt2" "$WORK/gpt2/config.json" "$WORK/gpt2/model.safetensors"
"$PYTHON" "$INPUTS/gpt2_model.py" gguf "$WORK/gpt2.gguf"
cp "$WORK/gpt2.gguf" "$OUT/import-gguf/gpt2.gguf"

#--- Tokenizers ---------------------------------------------------------------

# tokenizer_seed NAME VOCAB FILE: the 2-byte vocabulary size, then the file.
tokenizer_seed() {
  "$PYTHON" - "$OUT/tokenizer/$1" "$2" "$3" <<'PY'
import struct, sys
out, vocab, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
open(out, "wb").write(struct.pack("<H", vocab) + open(path, "rb").read())
PY
}

# A small vocabulary: <unk>, <s>, </s>, the 256 byte pieces, then merges.
"$PYTHON" - "$WORK/tok-small.bin" <<'PY'
import struct, sys
pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
pieces += [" ", "a", "b", "ab", " a", "ba", "\u00e9", "caf\u00e9", "<0xZZ>"]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<i", max(len(p.encode()) for p in pieces)))
    for i, p in enumerate(pieces):
        data = p.encode()
        f.write(struct.pack("<fi", -float(i), len(data)) + data)
PY
tokenizer_seed small 268 "$WORK/tok-small.bin"
if [ -f "$SHARED/models/tok512.bin" ]; then
  tokenizer_seed tok512 512 "$SHARED/models/tok512.bin"
  # A GGUF model with the real vocabulary embedded (vocab 512).
  "$PYTHON" "$INPUTS/make_llama2c.py" "$WORK/v512.bin" 8 16 1 2 1 512 4
  "$TRANSLATE" --import-llama2c "$WORK/v512.bin" -o "$WORK/v512.mlir"
  "$TRANSLATE" --export-gguf "$WORK/v512.mlir" \
    --gguf-tokenizer "$SHARED/models/tok512.bin" -o "$OUT/import-gguf/vocab512.gguf"
fi

#--- Synthetic models ---------------------------------------------------------

n=0
for request in \
  '{"preset": "tiny", "weights": "none"}' \
  '{"preset": "llama3-8b", "weights": "none"}' \
  '{"preset": "gpt2", "weights": "none"}' \
  '{"dim": 32, "hidden_dim": 72, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 48, "max_seq_len": 16, "seed": 5}' \
  '{"arch": "gpt2", "dim": 16, "hidden_dim": 64, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "vocab_size": 32, "max_seq_len": 8}' \
  '{"dim": 8, "hidden_dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "vocab_size": 16, "max_seq_len": 4, "seed": 3}'; do
  n=$((n + 1))
  printf '%s\n' "$request" > "$OUT/synthesize/request-$n.json"
  "$TRANSLATE" --synthesize "$OUT/synthesize/request-$n.json" -o /dev/null
done

#--- MLIR: the tests' files and small models with precision records ---------

# Splits every test .mlir at "// -----" (one seed per case).
"$PYTHON" - "$ROOT/test" "$OUT/mlir-verify" <<'PY'
import os, re, sys
root, out = sys.argv[1], sys.argv[2]
count = 0
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if not name.endswith(".mlir"):
            continue
        text = open(os.path.join(dirpath, name), encoding="utf-8").read()
        for case in re.split(r"^// -----\s*$", text, flags=re.M):
            if case.strip():
                count += 1
                with open(os.path.join(out, "test-%04d.mlir" % count), "w") as f:
                    f.write(case)
PY

small_model() { # NAME REQUEST: a small synthetic model as an MLIR seed
  printf '%s' "$2" | "$TRANSLATE" --synthesize -o "$WORK/$1.mlir"
  cp "$WORK/$1.mlir" "$OUT/mlir-verify/$1.mlir"
}
small_model llama-seeded '{"dim": 8, "hidden_dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "vocab_size": 16, "max_seq_len": 4, "seed": 3}'
small_model llama-shapes '{"dim": 16, "hidden_dim": 32, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "vocab_size": 16, "max_seq_len": 8, "weights": "none"}'
small_model gpt2-seeded '{"arch": "gpt2", "dim": 8, "hidden_dim": 32, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "vocab_size": 16, "max_seq_len": 4, "seed": 2}'
for scheme in mxfp4 nvfp4 fp8-e4m3 bf16; do
  for model in llama-seeded llama-shapes gpt2-seeded; do
    "$OPT" "$WORK/$model.mlir" --xfmr-set-precision="weights=$scheme" \
      -o "$OUT/mlir-verify/$model-$scheme.mlir"
  done
done
"$OPT" "$WORK/llama-seeded.mlir" --xfmr-set-precision="weights=mxfp4 activations=mxfp8-e4m3 kv-cache=fp8-e4m3" \
  -o "$OUT/mlir-verify/llama-seeded-mixed.mlir"
"$OPT" "$WORK/llama-seeded.mlir" --xfmr-attach-target \
  -o "$OUT/mlir-verify/llama-seeded-target.mlir"

#--- Maia programs: the tests' assembly and compiled small models -----------

cp "$ROOT"/test/tools/mixtile-sim/Inputs/*.masm "$OUT/maia-asm/"
"$OPT" "$WORK/llama-seeded.mlir" --xfmr-set-precision="weights=mxfp4 match=feed_forward" \
  --xfmr-attach-target --convert-xfmr-to-maia="tokens=1,5 tiles=2" -o "$WORK/maia.mlir"
"$OPT" "$WORK/llama-shapes.mlir" --xfmr-set-precision="weights=nvfp4 match=feed_forward" \
  --xfmr-attach-target --convert-xfmr-to-maia="num-tokens=2 tiles=4" -o "$WORK/maia-shapes.mlir"
cp "$WORK/maia.mlir" "$WORK/maia-shapes.mlir" "$OUT/mlir-verify/"
for program in maia maia-shapes; do
  "$TRANSLATE" --maia-to-asm "$WORK/$program.mlir" -o "$OUT/maia-asm/$program.masm"
  "$TRANSLATE" --maia-to-bin "$WORK/$program.mlir" -o "$OUT/maia-binary/$program.mbin"
done
for masm in "$ROOT"/test/tools/mixtile-sim/Inputs/*.masm; do
  name="$(basename "$masm" .masm)"
  # Programs the assembler rejects on purpose have no binary.
  if "$TRANSLATE" --import-maia-asm "$masm" -o "$WORK/$name.mlir" 2>/dev/null; then
    "$TRANSLATE" --maia-to-bin "$WORK/$name.mlir" -o "$OUT/maia-binary/$name.mbin" \
      2>/dev/null || rm -f "$OUT/maia-binary/$name.mbin"
  fi
done

#--- Target descriptions and plans -------------------------------------------

cp "$ROOT"/targets/*.json "$OUT/target-description/"
find "$ROOT/test" -name '*chip*.json' -exec cp {} "$OUT/target-description/" \;

cp "$ROOT"/test/Precision/Inputs/hand-plan.json "$OUT/plan/"
# Plans for the model PlanFuzzer.cpp applies them to (its layer groups).
"$PYTHON" - "$OUT/plan" <<'PY'
import json, os, sys
out = sys.argv[1]
groups = []
for layer in range(2):
    p = "layers.%d." % layer
    groups += [",".join(p + "attention." + w for w in ("wq", "wk", "wv")),
               p + "attention.wo",
               ",".join(p + "feed_forward." + w for w in ("w1", "w3")),
               p + "feed_forward.w2"]
groups.append("output")
plans = {
    "uniform-mxfp4": [{"group": g, "candidate": "mxfp4/mxfp8-e4m3"} for g in groups],
    "mixed": [{"group": g, "candidate": c} for g, c in
              zip(groups, ["bf16", "fp8-e4m3", "nvfp4", "mxfp4/bf16"] * 3)],
    "records": [{"group": groups[0], "record":
                 "#xfmr.precision<weights = f8E5M2, activations = f8E5M2, "
                 "scale = f32, accumulator = f32>"},
                {"group": groups[2], "record":
                 "#xfmr.precision<weights = f4E2M1FN, activations = bf16, "
                 "scale = f8E8M0FNU, block = 32, accumulator = f32>"}],
}
for name, layers in plans.items():
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"layers": layers, "budget": "kl=0.05"}, f, indent=2)
PY
# The model PlanFuzzer.cpp builds, to check that the plans apply.
printf '%s' '{"dim": 32, "hidden_dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 64, "max_seq_len": 16, "weights": "none"}' \
  | "$TRANSLATE" --synthesize -o "$WORK/plan-model.mlir"
for plan in "$OUT"/plan/uniform-mxfp4.json "$OUT"/plan/mixed.json "$OUT"/plan/records.json; do
  "$OPT" "$WORK/plan-model.mlir" --xfmr-assign-precision="plan-in=$plan" -o /dev/null
done

# The pipelines fuzzer starts from the same MLIR seeds.
cp "$OUT"/mlir-verify/* "$OUT/mlir-pipelines/"

for target in "${TARGETS[@]}"; do
  printf '%-20s %4d seeds\n' "$target" "$(find "$OUT/$target" -type f | wc -l)"
done
