"""End-to-end benchmark: quality on the shared bench clips, speed and memory of the whole command.

    .venv/bin/python benchmarks/bench_pipeline.py [--bench-dir ../shared/bench] [--long] [--skip-quality]

Quality follows ``shared/bench/README.md``: the clip's luma (its own Y plane) is the greyscale input,
a reference PNG the style; metrics compare every output frame with the ground truth. Speed is the
wall time of the real ``vidcolor`` command in a child process (start-up included), its own peak RSS
(``wait4`` through a small launcher, see ``measure.py``), and its ratio to a plain PyAV decode + encode of the same input at the same encoder
settings, measured in the same run; and beside it the same decode + encode of vidcolor's own output (x264
spends more on colour than on the grey input's flat chroma: what encoding any colour output costs). ``--long``
adds the 640x360 clip ten times longer, to show that memory stays flat.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from measure import run_measured  # benchmarks/measure.py: the script's own folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
VIDCOLOR = [sys.executable, "-m", "vidcolor"]


def make_grey_input(source: Path, target: Path) -> None:
    """The clip's own Y plane with neutral chroma, coded losslessly: the protocol's greyscale input."""
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        s = src.streams.video[0]
        v = out.add_stream("libx264", rate=s.average_rate, options={"qp": "0", "preset": "ultrafast"})
        v.width, v.height, v.pix_fmt = s.codec_context.width, s.codec_context.height, "yuv444p"
        v.time_base = v.codec_context.time_base = s.time_base
        for frame in src.decode(s):
            y = frame.reformat(format="yuv444p").to_ndarray()[0]
            grey = av.VideoFrame.from_ndarray(
                np.stack([y, np.full_like(y, 128), np.full_like(y, 128)]), format="yuv444p"
            )
            grey.pts, grey.time_base = frame.pts, frame.time_base
            for p in v.encode(grey):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)


def plain_transcode_cmd(source: Path, target: Path) -> list[str]:
    """A child process doing only PyAV decode + libx264 encode at vidcolor's default settings."""
    code = f"""
import av
from vidcolor.frames.encode import choose_pix_fmt
with av.open({str(source)!r}) as src, av.open({str(target)!r}, "w") as out:
    s = src.streams.video[0]
    s.thread_type = "AUTO"
    w, h = s.codec_context.width, s.codec_context.height
    v = out.add_stream("libx264", rate=s.average_rate, options={{"crf": "18", "preset": "medium"}})
    v.width, v.height, v.pix_fmt = w, h, choose_pix_fmt(w, h, 8)
    v.time_base = v.codec_context.time_base = s.time_base
    for f in src.decode(s):
        f = f.reformat(format=v.pix_fmt)
        f.pict_type = 0
        for p in v.encode(f):
            out.mux(p)
    for p in v.encode(None):
        out.mux(p)
"""
    return [sys.executable, "-c", code]


def rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Süsstrunk (2003)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def cdc(frames: list[np.ndarray]) -> float:
    """Colour distribution consistency: JS divergence of per-channel histograms at frame gaps 1, 2, 4."""

    def hist(f: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(f[..., c].ravel(), minlength=256) / f[..., c].size for c in range(3)])

    def jsd(p: np.ndarray, q: np.ndarray) -> float:
        m = 0.5 * (p + q)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = lambda a, b: np.where(a > 0, a * np.log2(a / b), 0.0).sum(axis=1)  # noqa: E731
            return float((0.5 * kl(p, m) + 0.5 * kl(q, m)).mean())

    hists = [hist(f) for f in frames]
    return float(np.mean([np.mean([jsd(hists[t], hists[t + d]) for t in range(len(hists) - d)]) for d in (1, 2, 4)]))


def warp_error(frames: list[np.ndarray], gt: list[np.ndarray]) -> float:
    """Chroma flicker: Lab a/b of frame t-1 warped to t by DIS (MEDIUM) flow of the ground truth's luma."""
    from skimage.color import rgb2lab

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    h, w = gt[0].shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    lab = [rgb2lab(f)[..., 1:].astype(np.float32) for f in frames]
    errors = []
    for t in range(1, len(frames)):
        flow = dis.calc(cv2.cvtColor(gt[t], cv2.COLOR_RGB2GRAY), cv2.cvtColor(gt[t - 1], cv2.COLOR_RGB2GRAY), None)
        warped = cv2.remap(
            lab[t - 1], gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        errors.append(float(np.abs(warped - lab[t]).mean()))
    return float(np.mean(errors))


def quality(output: Path, truth: Path) -> dict[str, float]:
    from skimage.color import deltaE_ciede2000, rgb2lab
    from skimage.metrics import structural_similarity

    out, gt = rgb_frames(output), rgb_frames(truth)
    assert len(out) == len(gt), f"{output}: {len(out)} frames, ground truth {len(gt)}"
    psnr, ssim, de, ab, luma = [], [], [], [], []
    for o, g in zip(out, gt, strict=True):
        mse = np.mean((o.astype(np.float64) - g) ** 2)
        psnr.append(10 * np.log10(255.0**2 / max(mse, 1e-10)))
        ssim.append(structural_similarity(o, g, channel_axis=2, data_range=255))
        lab_o, lab_g = rgb2lab(o), rgb2lab(g)
        de.append(float(deltaE_ciede2000(lab_o, lab_g).mean()))
        # Chroma error: the distance in CIELAB's a/b plane alone (luma is the input's, so this is the colour's error).
        ab.append(float(np.hypot(*(lab_o[..., 1:] - lab_g[..., 1:]).transpose(2, 0, 1)).mean()))
        yo = cv2.cvtColor(o, cv2.COLOR_RGB2YUV)[..., 0].astype(np.float64)
        yg = cv2.cvtColor(g, cv2.COLOR_RGB2YUV)[..., 0].astype(np.float64)
        luma.append(10 * np.log10(255.0**2 / max(np.mean((yo - yg) ** 2), 1e-10)))
    return {
        "psnr": float(np.mean(psnr)),
        "ssim": float(np.mean(ssim)),
        "de00": float(np.mean(de)),
        "ab": float(np.mean(ab)),
        "colorful": float(np.mean([colourfulness(f) for f in out]) / np.mean([colourfulness(f) for f in gt])),
        "cdc": cdc(out),
        "cdc_gt": cdc(gt),
        "warp": warp_error(out, gt),
        "warp_gt": warp_error(gt, gt),
        "luma": float(np.mean(luma)),
    }


def speed(grey: Path, ref: Path, work: Path, frames: int, label: str, extra: list[str]) -> str:
    out = work / f"{grey.stem}.colorized.mp4"
    colour = run_measured([*VIDCOLOR, str(grey), "--style", str(ref), "-o", str(out), "-y", "-q", "--no-cache", *extra])
    plain = run_measured(plain_transcode_cmd(grey, work / f"{grey.stem}.plain.mp4"))
    again = run_measured(plain_transcode_cmd(out, work / f"{grey.stem}.colour-plain.mp4"))
    return (
        f"{label:<28} {frames:>5} fr  vidcolor {colour.seconds:6.1f} s = {frames / colour.seconds:5.1f} fps, "
        f"peak {colour.peak_mb:6.0f} MB | plain decode+encode {plain.seconds:5.1f} s = {frames / plain.seconds:5.1f} fps, "
        f"peak {plain.peak_mb:4.0f} MB | ratio {colour.seconds / plain.seconds:4.2f}x | the same of the colour output "
        f"{again.seconds:5.1f} s: ratio {colour.seconds / again.seconds:4.2f}x"
    )


def write_grey_clip(path: Path, lumas: Iterable[np.ndarray]) -> None:
    """Grey 8-bit luma planes ``(h, w)`` (neutral chroma) as a 25 fps H.264 clip (CRF 16, veryfast)."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=Fraction(25), options={"crf": "16", "preset": "veryfast"})
        for i, luma in enumerate(lumas):
            if i == 0:
                v.height, v.width = luma.shape
                v.pix_fmt = "yuv420p"
            chroma = np.full((luma.shape[0] // 2, luma.shape[1]), 128, np.uint8)
            f = av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)


def back_and_forth(cycle: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Frame ``k`` going back and forth along a camera path (so any length has real motion)."""
    k %= 2 * len(cycle)
    return cycle[k if k < len(cycle) else 2 * len(cycle) - 1 - k]


def make_pan_clip(path: Path, frames: int) -> None:
    """640x360 greyscale pan over scikit-image's astronaut at 25 fps (the demo's motion, any length)."""
    sys.path.insert(0, str(ROOT / "movie"))
    import make_demo

    photo = cv2.cvtColor(make_demo.data.astronaut(), cv2.COLOR_RGB2GRAY)
    cycle = make_demo.camera_path(photo, 150)
    write_grey_clip(path, (back_and_forth(cycle, i) for i in range(frames)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    parser.add_argument("--long", action="store_true", help="also run the 640x360 clip 10x longer (memory flatness)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--vidcolor-args", default="", help="extra options for the vidcolor command")
    args = parser.parse_args()
    extra = args.vidcolor_args.split()
    work = Path(tempfile.mkdtemp(prefix="vidcolor-bench-"))
    print(f"# vidcolor benchmark ({os.cpu_count()} cores){' with ' + args.vidcolor_args if extra else ''}")

    if not args.skip_quality:
        if not args.bench_dir.is_dir():
            print(f"no bench clips at {args.bench_dir}; skipping quality")
        else:
            print(
                f"{'clip / reference':<20} {'psnr':>6} {'ssim':>6} {'de00':>5} {'colorful':>8} {'cdc (gt)':>17} {'warp (gt)':>13} {'luma':>6}"
            )
            for clip in ("carphone", "bikes"):
                truth = args.bench_dir / f"{clip}.mp4"
                grey = work / f"{clip}_grey.mp4"
                make_grey_input(truth, grey)
                for ref in ("ref000", "ref060"):
                    out = work / f"{clip}_{ref}.mp4"
                    run_measured(
                        [
                            *VIDCOLOR,
                            str(grey),
                            "--style",
                            str(args.bench_dir / f"{clip}_{ref}.png"),
                            "-o",
                            str(out),
                            "-y",
                            "-q",
                            "--no-cache",
                            *extra,
                        ]
                    )
                    q = quality(out, truth)
                    print(
                        f"{clip + ' / ' + ref:<20} {q['psnr']:6.1f} {q['ssim']:6.3f} {q['de00']:5.1f} {q['colorful']:8.2f} "
                        f"{q['cdc']:8.4f} ({q['cdc_gt']:.4f}) {q['warp']:5.2f} ({q['warp_gt']:.2f}) {q['luma']:6.1f}"
                    )
            print()
            for clip in ("carphone", "bikes"):
                print(speed(work / f"{clip}_grey.mp4", args.bench_dir / f"{clip}_ref000.png", work, 120, clip, extra))

    ref = work / "astronaut.png"
    sys.path.insert(0, str(ROOT / "movie"))
    import make_demo

    cv2.imwrite(str(ref), cv2.cvtColor(make_demo.data.astronaut(), cv2.COLOR_RGB2BGR))
    lengths = (300, 3000) if args.long else (300,)
    for n in lengths:
        clip = work / f"pan{n}.mp4"
        make_pan_clip(clip, n)
        print(speed(clip, ref, work, n, f"640x360 pan, {n / 25:.0f} s", extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
