"""A film scan into masters: a 2K (2048x1556) 10-bit DPX sequence → ProRes 422 HQ and → FFV1, with default
settings, beside a plain PyAV transcode of the same pictures to the same codec, in one run.

Prints frames per second and peak memory (``wait4`` through ``measure.py``'s launcher) of each, and the
ratio. The sequence is generated (a textured pan, grey, 10 bits), written to a temporary folder.

    .venv/bin/python benchmarks/bench_sequences.py [--frames 48]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
from measure import run_measured  # benchmarks/measure.py: the script's own folder is on sys.path

ROOT = Path(__file__).resolve().parents[1]
VIDCOLOR = (
    [str(ROOT / ".venv" / "bin" / "vidcolor")] if (ROOT / ".venv" / "bin" / "vidcolor").exists() else ["vidcolor"]
)
WIDTH, HEIGHT = 2048, 1556
CODECS = {  # vidcolor's --codec → what the plain transcode runs, at vidcolor's settings for it
    "prores": ("prores_ks", "yuv422p10le", {"profile": "3"}, ".mov"),
    "ffv1": ("ffv1", "yuv420p10le", {"level": "3", "slices": "4", "slicecrc": "1", "g": "1"}, ".mkv"),
}


def scene(width: int, height: int) -> np.ndarray:
    """A 16-bit grey picture twice the frame's width: gradients, discs and texture to pan over."""
    ys, xs = np.mgrid[0:height, 0 : 2 * width].astype(np.float32)
    picture = 0.35 + 0.25 * np.sin(xs / 97.0) * np.cos(ys / 61.0) + 0.1 * np.sin(xs / 7.0 + ys / 11.0)
    for k in range(12):
        cx, cy, r = (k * 331) % (2 * width), (k * 197) % height, 60 + 23 * k
        picture[(xs - cx) ** 2 + (ys - cy) ** 2 < r * r] = 0.2 + 0.06 * k
    return (np.clip(picture, 0, 1) * 65535).astype(np.uint16)


def make_scan(folder: Path, frames: int) -> None:
    folder.mkdir(parents=True)
    wide = scene(WIDTH, HEIGHT)
    for k in range(frames):
        grey = np.ascontiguousarray(wide[:, 6 * k : 6 * k + WIDTH]) >> 6 << 6  # 10 bits
        frame = av.VideoFrame.from_ndarray(np.stack([grey] * 3, axis=-1), format="rgb48le")
        with av.open(str(folder / f"scan_{86400 + k:07d}.dpx"), "w", format="image2") as out:
            stream = out.add_stream("dpx", rate=24)
            stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "gbrp10le"
            for packet in [*stream.encode(frame), *stream.encode()]:
                out.mux(packet)


def make_reference(path: Path) -> None:
    """A colour picture of the scene: warm above, cool below."""
    grey = scene(WIDTH // 4, HEIGHT // 4)[:, : WIDTH // 4].astype(np.float32) / 65535
    tint = np.where(np.arange(grey.shape[0])[:, None, None] < grey.shape[0] // 2, [1.0, 0.8, 0.55], [0.55, 0.75, 1.0])
    rgb = np.clip(grey[..., None] * tint * 1.2, 0, 1)
    cv2.imwrite(str(path), cv2.cvtColor((rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))


def plain_cmd(folder: Path, codec: str, target: Path) -> list[str]:
    """A child process that only decodes each picture and encodes it (PyAV), as vidcolor's run would write it."""
    encoder, pix_fmt, options = CODECS[codec][:3]
    code = f"""
import av, glob
from fractions import Fraction
with av.open({str(target)!r}, "w") as out:
    v = out.add_stream({encoder!r}, rate=24, options={options!r})
    v.width, v.height, v.pix_fmt = {WIDTH}, {HEIGHT}, {pix_fmt!r}
    for k, path in enumerate(sorted(glob.glob({str(folder / "*.dpx")!r}))):
        with av.open(path) as src:
            frame = next(src.decode(video=0)).reformat(format={pix_fmt!r})
        frame.pts, frame.time_base = k, Fraction(1, 24)
        for p in v.encode(frame):
            out.mux(p)
    for p in v.encode(None):
        out.mux(p)
"""
    return [sys.executable, "-c", code]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vidcolor-bench-seq-"))
    try:
        scan, ref = work / "scan", work / "ref.png"
        make_scan(scan, args.frames)
        make_reference(ref)
        size = sum(p.stat().st_size for p in scan.iterdir()) / 1e6
        print(f"2K scan: {args.frames} frames of {WIDTH}x{HEIGHT} 10-bit DPX ({size:.0f} MB), 24 fps, default settings")
        for codec, (_, _, _, suffix) in CODECS.items():
            out = work / f"out{suffix}"
            colour = run_measured([*VIDCOLOR, str(scan), "--style", str(ref), "--codec", codec, "-o", str(out), "-y",
                                   "-q", "--no-cache"])  # fmt: skip
            plain = run_measured(plain_cmd(scan, codec, work / f"plain{suffix}"))
            print(
                f"-> {codec:<7} vidcolor {args.frames / colour.seconds:5.2f} fps, peak {colour.peak_mb:5.0f} MB | "
                f"plain PyAV transcode {args.frames / plain.seconds:5.2f} fps, peak {plain.peak_mb:4.0f} MB | "
                f"ratio {colour.seconds / plain.seconds:4.2f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
