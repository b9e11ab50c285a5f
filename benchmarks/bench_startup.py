"""Start-up cost of a default run: the whole `vidcolor` command on a 2-frame clip, and what it imports.

Prints the median wall time and peak memory of ``--runs`` runs of the command in a child process,
and whether torch was imported by the same run in-process (it should not be for the default stages).

    .venv/bin/python benchmarks/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import run_measured  # noqa: E402  (benchmarks/measure.py)

from tests.media import make_reference, make_video  # noqa: E402


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
        runs = [run_measured(command) for _ in range(args.runs)]
        times, peaks = [r.seconds for r in runs], [r.peak_mb for r in runs]
        probe = f"import sys; from vidcolor.cli import run; code = run({argv!r}); print(code, 'torch' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    print(
        f"default run, 2 frames 64x48, {args.runs} runs: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}), peak {statistics.median(peaks):.0f} MB; torch imported: {out[-1]}"
    )


if __name__ == "__main__":
    main()
