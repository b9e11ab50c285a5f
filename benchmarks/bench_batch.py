"""Batch throughput: 10 short clips as one batch (--jobs 1 and 2) against 10 separate commands.

    .venv/bin/python benchmarks/bench_batch.py [--clips 10] [--frames 50]

The batch pays start-up and model loading once per worker; separate commands pay it per clip.
Each row is the whole command (or the 10 commands back to back), one run, no cache.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
from bench_pipeline import VIDCOLOR, make_pan_clip  # benchmarks/ is on sys.path
from measure import run_measured
from skimage import data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--frames", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "in"
        folder.mkdir()
        for i in range(args.clips):
            make_pan_clip(folder / f"clip{i:02d}.mp4", args.frames)
        ref = work / "ref.png"
        cv2.imwrite(str(ref), cv2.cvtColor(cv2.resize(data.astronaut(), (640, 360)), cv2.COLOR_RGB2BGR))
        common = ["--style", str(ref), "-q", "--no-cache"]
        started = time.perf_counter()
        for clip in sorted(folder.iterdir()):
            run_measured([*VIDCOLOR, str(clip), *common, "-y", "-o", str(work / f"sep-{clip.name}")])
        separate = time.perf_counter() - started
        print(f"# {args.clips} clips x {args.frames} frames, 640x360; whole commands, one run each")
        print(f"{'10 separate commands':<24} {separate:6.1f} s")
        for jobs in (1, 2):
            batch = run_measured(
                [*VIDCOLOR, "batch", str(folder), *common, "-o", str(work / f"out{jobs}"), "--jobs", str(jobs)]
            )
            print(
                f"{f'batch --jobs {jobs}':<24} {batch.seconds:6.1f} s  (peak {batch.peak_mb:5.0f} MB, driver) "
                f"ratio to separate {separate / batch.seconds:4.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
