#!/usr/bin/env python3
"""Static throughput of a generated kernel's innermost loops (llvm-mca).

The development VM's timings move by up to 2x between runs and it has no
cycle counters, so this estimates what a kernel's loops cost instead:
every innermost loop of FUNCTION in the assembly file (from
`llc -O2 -mcpu=CPU kernel.ll`, e.g. a kernel `MIXTILE_BENCH_KEEP=1
build/bench/mixtile-bench-cpu gemv` kept) goes through llvm-mca, which
prints the cycles per iteration of its schedule.

  scripts/kernel-mca.py linear4.s linear_rows0 [--mcpu sapphirerapids]
"""

import argparse
import re
import subprocess
import sys

MCA = "/usr/lib/llvm-22/bin/llvm-mca"


def function_lines(lines, name):
    start = next((i for i, l in enumerate(lines) if l.startswith(name + ":")), None)
    if start is None:
        sys.exit(f"kernel-mca: no function {name}")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(".Lfunc_end"))
    return lines[start:end]


def innermost_loops(lines):
    """The instructions of every loop whose header is at the deepest depth,
    up to its unconditional back edge; branches are left out."""
    depths = [int(m.group(1)) for l in lines for m in [re.search(r"Depth=(\d+)", l)] if m]
    if not depths:
        return []
    header = f"Inner Loop Header: Depth={max(depths)}"
    loops, i = [], 0
    while i < len(lines):
        if header not in lines[i]:
            i += 1
            continue
        body = []
        for i in range(i + 1, len(lines)):
            text = lines[i].strip()
            if re.match(r"jmp\s", text):
                break
            if not text or text.startswith((".", "#")) or re.match(r"j[a-z]+\s", text):
                continue
            body.append(lines[i])
        loops.append(body)
    return loops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assembly")
    parser.add_argument("function")
    parser.add_argument("--mcpu", default="sapphirerapids")
    args = parser.parse_args()
    with open(args.assembly) as f:
        lines = f.read().split("\n")
    iterations = 200
    for n, body in enumerate(innermost_loops(function_lines(lines, args.function))):
        report = subprocess.run(
            [MCA, f"-mcpu={args.mcpu}", f"-iterations={iterations}"],
            input="\n".join(body), capture_output=True, text=True, check=True
        ).stdout
        cycles = int(re.search(r"Total Cycles:\s+(\d+)", report).group(1))
        vector = sum(1 for l in body if re.search(r"%[xyz]mm", l))
        print(f"loop {n}: {len(body)} instructions ({vector} vector), "
              f"{cycles / iterations:.2f} cycles per iteration")


if __name__ == "__main__":
    main()
