"""How far sparse hints reach: clicks on carphone's first frame, with and without its reference.

    .venv/bin/python benchmarks/bench_hint_reach.py

Each run colours carphone (its luma) with ``--hints`` points on frame 0; the first output frame is compared
with the same run without the points. "Changed" is the share of the frame whose chroma moved by more than
0.02 (of the Cb/Cr unit range); "in the face" the share of a box around the face that did.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from bench_pipeline import VIDCOLOR  # benchmarks/ is on sys.path

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
CLIP = BENCH / "carphone.mp4"
CHEEK = {"x": 75, "y": 80, "colour": "#d04040"}
FOUR = [
    CHEEK,
    {"x": 120, "y": 125, "colour": "#3050d0"},
    {"x": 160, "y": 40, "colour": "#30c040"},
    {"x": 60, "y": 10, "colour": "#e0c020"},
]  # fmt: skip  cheek, jacket, window, roof
FACE = (slice(35, 100), slice(60, 115))  # rows, columns of a box around the face


def chroma(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="yuv444p")
    return (frame[1:].astype(np.float32) - 128) / 224


def colour(work: Path, name: str, style: list[str], points: list[dict] | None) -> np.ndarray:
    out = work / f"{name}.mp4"
    command = [*VIDCOLOR, str(CLIP), *style, "-o", str(out), "-y", "-q", "--no-cache"]
    if points is not None:
        hints = work / f"{name}.json"
        hints.write_text(json.dumps({"points": points, "radius": 2}))
        command += ["--hints", f"{hints}@0f"]
    subprocess.run(command, check=True)
    return chroma(out)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        grey = np.zeros((2, 144, 176), np.float32)
        with_ref = colour(work, "ref", ["--style", str(BENCH / "carphone_ref000.png")], None)
        cases = [
            ("reference + 1 point on a cheek", ["--style", str(BENCH / "carphone_ref000.png")], [CHEEK], with_ref),
            ("1 point on a cheek, no reference", [], [CHEEK], grey),
            ("4 points (cheek, jacket, window, roof)", [], FOUR, grey),
        ]
        print("# carphone frame 0; changed: |chroma change| > 0.02 against the run without the points")
        for label, style, points, base in cases:
            got = colour(work, label.split()[0] + str(len(points)) + str(bool(style)), style, points)
            changed = np.abs(got - base).max(axis=0) > 0.02
            print(
                f"{label:<40} changed {100 * changed.mean():5.1f}% of the frame, {100 * changed[FACE].mean():5.1f}% of the face box"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
