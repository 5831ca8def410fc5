"""Runs each model with the reference evaluator and with --backend=cpu and
reports whether their logits are identical byte for byte.

    cpu_parity.py TOKENS MODEL...
"""

import os
import subprocess
import sys
import tempfile


def logits(model, tokens, backend, out):
    subprocess.run(["mixtile-run", model, "--backend=" + backend, "--tokens",
                    tokens, "--dump-logits", out], check=True,
                   stdout=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return f.read()


def main():
    tokens, models = sys.argv[1], sys.argv[2:]
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            reference = logits(model, tokens, "reference",
                               os.path.join(tmp, "reference.f32"))
            cpu = logits(model, tokens, "cpu", os.path.join(tmp, "cpu.f32"))
            name = os.path.basename(model).split(".", 1)[-1]
            verdict = "identical" if reference == cpu else "DIFFERENT"
            print(f"{name}: {verdict} ({len(cpu) // 4} logits)")


if __name__ == "__main__":
    main()
