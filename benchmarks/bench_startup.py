"""Start-up cost of a default run: the whole `vidcolor` command on a 2-frame clip, and what it imports.

Prints the median wall time and peak memory of ``--runs`` runs of the command in a child process,
and whether torch was imported by the same run in-process (it should not be for the default stages).

    .venv/bin/python benchmarks/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.media import make_reference, make_video  # noqa: E402


def timed_run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return time.perf_counter() - started, usage.ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = make_video(folder / "clip.mp4", frames=2)
        ref = make_reference(folder / "ref.png")
        argv = [str(clip), "--style", str(ref), "-o", str(folder / "out.mp4"), "-y", "-q", "--no-cache"]
        command = [str(Path(sys.executable).with_name("vidcolor")), *argv]
        times, peaks = zip(*(timed_run(command) for _ in range(args.runs)), strict=True)
        probe = f"import sys; from vidcolor.cli import run; code = run({argv!r}); print(code, 'torch' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    print(
        f"default run, 2 frames 64x48, {args.runs} runs: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}), peak {statistics.median(peaks):.0f} MB; torch imported: {out[-1]}"
    )


if __name__ == "__main__":
    main()
