"""Interrupts mixtile-compile mid-run and checks that no output is left.

usage: interrupt.py OUTDIR mixtile-compile [args...]

Starts the compile with -o OUTDIR, waits until it has staged files (the
calibration data, written before the precision search), sends SIGINT, and
requires exit status 130, the "interrupted" message, and OUTDIR holding
exactly what it held before.
"""
import glob
import os
import signal
import subprocess
import sys
import time

outdir, command = sys.argv[1], sys.argv[2:]
before = sorted(os.listdir(outdir)) if os.path.isdir(outdir) else None
process = subprocess.Popen(command + ["-o", outdir], stderr=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
deadline = time.time() + 60
while time.time() < deadline and process.poll() is None:
    staged = glob.glob(os.path.join(outdir, ".mixtile-partial-*", "*.tokens"))
    if staged:
        break
    time.sleep(0.02)
assert process.poll() is None, "the compile ended before it was interrupted"
assert staged, "no staged files appeared"
process.send_signal(signal.SIGINT)
out, err = process.communicate(timeout=60)
assert process.returncode == 130, (process.returncode, err)
assert "interrupted; no outputs written" in err, err
after = sorted(os.listdir(outdir)) if os.path.isdir(outdir) else None
assert after == before, (before, after)
print("interrupted after staging %d file(s); outputs unchanged: %s"
      % (len(staged), after))
