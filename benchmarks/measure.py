"""Wall time and peak memory of a command, measured through a small launcher process.

Linux carries a process's peak-RSS mark across exec from the process it was forked from, so a
child forked straight from a large benchmark process reports that process's size as its own peak.
The launcher (a bare ``python -S``, a few MB) forks the command instead and reports its ``wait4``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

_LAUNCHER = """
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "seconds": time.perf_counter() - start,
                  "peak_mb": usage.ru_maxrss / 1024.0}))
"""


@dataclass
class Run:
    seconds: float
    peak_mb: float
    stderr: str = ""  # what the command said (kept when run quiet)


def run_measured(command: list[str], *, quiet: bool = True) -> Run:
    """Run ``command``; its wall time and its own peak resident memory. Exits with its stderr if it fails."""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if quiet else None,
        text=True,
        check=False,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["code"] != 0:
        raise SystemExit(f"command failed: {' '.join(command)}\n{proc.stderr or ''}")
    return Run(report["seconds"], report["peak_mb"], proc.stderr or "")
