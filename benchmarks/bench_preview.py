"""Preview latency: 3 s from the middle of a 2-minute 640x360 clip, against colouring from the start to there.

    .venv/bin/python benchmarks/bench_preview.py [--minutes 2]

Both are the whole command (start-up included), on the same clip: an MP4 and the same stream in
MPEG-TS (no index, so the seek must step back to a keyframe), x264's default GOP (250 frames).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import av
import cv2
from bench_pipeline import VIDCOLOR, make_pan_clip  # benchmarks/ is on sys.path
from measure import run_measured
from skimage import data


def remux(source: Path, target: Path) -> None:
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()
    frames = round(args.minutes * 60 * 25)
    middle = args.minutes * 30
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mp4 = work / "long.mp4"
        make_pan_clip(mp4, frames)
        ts = work / "long.ts"
        remux(mp4, ts)
        ref = work / "ref.png"
        cv2.imwrite(str(ref), cv2.cvtColor(cv2.resize(data.astronaut(), (640, 360)), cv2.COLOR_RGB2BGR))
        print(f"# {frames} frames 640x360, preview 3 s at {middle:g} s; whole command each, one run")
        for clip in (mp4, ts):
            style = ["--style", str(ref), "-y", "-q", "--no-cache"]
            preview = run_measured(
                [*VIDCOLOR, "preview", str(clip), *style, "--at", str(middle), "-o", str(work / "p.mp4")]
            )
            upto = run_measured([*VIDCOLOR, str(clip), *style, "--end", str(middle + 3), "-o", str(work / "u.mp4")])
            print(
                f"{clip.suffix:<5} preview {preview.seconds:5.1f} s (peak {preview.peak_mb:4.0f} MB) | "
                f"from the start to {middle + 3:g} s {upto.seconds:6.1f} s | ratio {upto.seconds / preview.seconds:5.1f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
