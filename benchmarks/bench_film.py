"""Shot-parallel rendering: ``--jobs 1`` against ``--jobs N`` on multi-shot reels, and a cost model.

    .venv/bin/python benchmarks/bench_film.py [--jobs 2] [--shots 8] [--shot-frames 60] [--hd-shots 4] [--repeat 5]
        [--vidcolor-args "--colorizer optim --device cuda"]
        [--vidcolor-args "--colorizer optim --device cuda --share-device off"]   # each worker its own networks

Each reel is cut from pans over different photographs (scikit-image's), so it has real motion and real
cuts. Every figure comes from the real ``vidcolor`` command in a child process, in one run: wall time,
the peak resident memory of its largest process (the driver or one worker: per worker), its ratio to a
plain PyAV decode + libx264 encode of the same reel at the same settings (CRF 18, medium) and to the same of
vidcolor's own output (x264 spends more on colour than on the grey reel's flat chroma), and whether
``--jobs N`` equals ``--jobs 1`` frame for frame at ``--crf 0``. With ``--repeat N`` the timed runs (one worker,
N workers, both plain transcodes) take turns N times and the medians are shown, with each round's ratios: the
plain transcode itself varies by a quarter from one minute to the next on this machine. The cost model splits one ``--jobs N``
run into what runs in parallel (the segments, summed over workers) and what stays serial (the analysis
pass, the workers' start, the join), and projects 8, 32 and 64 cores from them (Amdahl: the serial part
stays, the parallel part divides), for a film of the same shape; the analysis pass of a film that long is
decoded by the workers in chunks, so only its cuts and placement stay serial.
"""

from __future__ import annotations

import argparse
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
from bench_pipeline import plain_transcode_cmd, write_grey_clip
from measure import Run, run_measured
from skimage import data

VIDCOLOR = [sys.executable, "-m", "vidcolor"]
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "grass", "gravel")


def make_reel(path: Path, width: int, height: int, shots: int, shot_frames: int) -> None:
    """``shots`` pans (each over another photograph, another direction), cut together, 25 fps."""
    write_grey_clip(path, (frame for shot in range(shots) for frame in _pan(width, height, shot, shot_frames)))


def _pan(width: int, height: int, shot: int, frames: int) -> Iterator[np.ndarray]:
    photo = getattr(data, PHOTOS[shot % len(PHOTOS)])()
    grey = photo if photo.ndim == 2 else cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    scale = 1.4 * max(width / grey.shape[1], height / grey.shape[0])
    big = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    room_x, room_y = big.shape[1] - width, big.shape[0] - height
    for k in range(frames):
        t = k / max(1, frames - 1)
        t = t if shot % 2 == 0 else 1 - t
        x, y = int(room_x * t), int(room_y * (0.5 + 0.4 * np.sin(3 * t + shot)))
        yield np.ascontiguousarray(big[y : y + height, x : x + width])


def planes(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p").tobytes() for f in c.decode(video=0)]


def analysis_seconds(log: str) -> float:
    """The analysis pass alone, from the driver's log (it stays serial: it decides the segments before any
    worker starts). The whole ``vidcolor plan`` command would add the start-up, which a film pays once."""
    found = re.search(r"analysis pass: \d+ frames in ([\d.]+) s", log)
    if found is None:
        raise SystemExit("the run's log has no 'analysis pass' line (run with -v)")
    return float(found.group(1))


def segment_seconds(log: str) -> list[float]:
    return [float(s) for s in re.findall(r"segment \d+ of \d+ \(frames \d+-\d+\): \d+ frames in ([\d.]+) s", log)]


def film(reel: Path, ref: Path, work: Path, label: str, frames: int, jobs: int, extra: list[str], repeat: int) -> None:
    common = ["--style", str(ref), "-y", "--no-cache", *extra]
    command = [*VIDCOLOR, str(reel), *common, "-o", str(work / f"j{jobs}.mp4"), "--jobs", str(jobs), "-v"]
    runs: dict[str, list[Run]] = {"one": [], "many": [], "plain": [], "again": []}
    for _ in range(repeat):  # alternating, so that a slow minute of this machine falls on all four alike
        runs["one"].append(run_measured([*VIDCOLOR, str(reel), *common, "-o", str(work / "j1.mp4"), "-q"]))
        runs["many"].append(run_measured(command))  # -v: each segment's line, for the cost model
        runs["plain"].append(run_measured(plain_transcode_cmd(reel, work / "plain.mp4")))
        runs["again"].append(run_measured(plain_transcode_cmd(work / "j1.mp4", work / "colour-plain.mp4")))
    one, many, plain, again = (_median(kind) for kind in runs.values())
    log = runs["many"][-1].stderr
    print(
        f"{label}: {frames} fr | --jobs 1 {one.seconds:6.1f} s = {frames / one.seconds:5.1f} fps, peak {one.peak_mb:5.0f} MB"
        f" | --jobs {jobs} {many.seconds:6.1f} s = {frames / many.seconds:5.1f} fps, peak per process "
        f"{many.peak_mb:5.0f} MB | speed-up {one.seconds / many.seconds:4.2f}x | plain {plain.seconds:5.1f} s "
        f"({frames / plain.seconds:5.1f} fps): ratio --jobs 1 {one.seconds / plain.seconds:4.2f}x, "
        f"--jobs {jobs} {many.seconds / plain.seconds:4.2f}x | the same of the colour output {again.seconds:5.1f} s: "
        f"ratio --jobs 1 {one.seconds / again.seconds:4.2f}x"
    )
    if repeat > 1:  # each round's own ratios: the spread the medians above come from
        rounds = zip(runs["one"], runs["many"], runs["plain"], strict=True)
        ratios = [(o.seconds / p.seconds, o.seconds / m.seconds) for o, m, p in rounds]
        middle = [statistics.median_low(column) for column in zip(*ratios, strict=True)]
        print(f"{label}: {repeat} rounds, ratio --jobs 1 to plain / speed-up of --jobs {jobs}: "
              + ", ".join(f"{r:.2f}x / {s:.2f}x" for r, s in ratios)
              + f"; the rounds' medians {middle[0]:.2f}x / {middle[1]:.2f}x")  # fmt: skip
    lossless = ["--crf", "0", "-q"]
    run_measured([*VIDCOLOR, str(reel), *common, "-o", str(work / "l1.mp4"), *lossless])
    run_measured([*VIDCOLOR, str(reel), *common, "-o", str(work / "l2.mp4"), "--jobs", str(jobs), *lossless])
    same = planes(work / "l1.mp4") == planes(work / "l2.mp4")
    print(f"{label}: --jobs {jobs} equals --jobs 1 frame for frame at --crf 0: {same}")
    # The cost model from a run with one worker in this process (no worker competes for the cores): each
    # segment's time alone, and what is not a segment's (the analysis pass, the stages' start, the join).
    inline = run_measured([*VIDCOLOR, str(reel), *common, "-o", str(work / "inline.mp4"), "--executor", "inline", "-v"])
    pieces = segment_seconds(inline.stderr)
    joined = re.search(r"joined in ([\d.]+) s", inline.stderr)
    parallel = sum(pieces)
    serial = inline.seconds - parallel
    print(
        f"{label}: cost model (one worker, --executor inline, {inline.seconds:.1f} s): {len(pieces)} segments, "
        f"{parallel:.1f} s of segment work (mean {parallel / max(1, len(pieces)):.1f} s, longest "
        f"{max(pieces, default=0):.1f} s); serial {serial:.1f} s (the analysis pass, the stages' start, the join "
        f"{float(joined.group(1)) if joined else 0:.2f} s); --jobs {jobs} segments ran in {sum(segment_seconds(log)):.1f} s "
        "of worker time (time-sliced on this machine's cores)"
    )
    # A feature film of the same make-up: 90 minutes at 25 fps in shots of this reel's length. What stays serial
    # grows with the film (the analysis pass, the join) or is paid once (the workers' start); the segments divide.
    # The analysis pass of a film that long is decoded in chunks by the workers (plan.chunks): only the driver's
    # own part (the cut detector and the placement over the thumbnails, timed here alone) stays serial.
    film_frames = 90 * 60 * 25
    scale = film_frames / frames
    analysis = analysis_seconds(inline.stderr)
    driver = min(analysis, driver_seconds(reel, ref))
    join = float(joined.group(1)) if joined else 0.0
    fixed = max(0.0, serial - analysis - join)
    for cores in (8, 32, 64):
        chunked = (analysis - driver) * scale / cores
        projected = (driver + join) * scale + chunked + fixed + parallel * scale / cores
        print(f"{label}:   90-min film, {cores:>2} cores: about {projected / 3600:5.2f} h = {film_frames / projected:6.1f} fps "
              f"(serial {(driver + join) * scale / 3600:4.2f} h of it: the analysis pass's cuts and placement, the join; "
              f"its decoding on the workers {chunked / 3600:4.2f} h; in one decoder it would be "
              f"{analysis * scale / 3600:4.2f} h)")  # fmt: skip


def _median(runs: list[Run]) -> Run:
    """The run of median wall time (the lower middle one of an even count), its own peak memory with it."""
    middle = statistics.median_low(run.seconds for run in runs)
    return next(run for run in runs if run.seconds == middle)


def driver_seconds(reel: Path, ref: Path) -> float:
    """The analysis pass's own work in the driver (cuts, placement of ``ref``) over the reel's thumbnails, decoded
    first."""
    from vidcolor.frames.probe import probe
    from vidcolor.match.placement import place
    from vidcolor.plan.chunks import AnalysisChunk, decode_chunk

    info = probe(reel)
    whole = decode_chunk(AnalysisChunk(info, info.spec, None, None))
    reference = cv2.cvtColor(cv2.imread(str(ref)), cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    started = time.perf_counter()
    place(zip(whole.times.tolist(), whole.thumbnails, strict=True), [reference], [None], 1 / 25)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--shots", type=int, default=6)
    parser.add_argument("--shot-frames", type=int, default=50)
    parser.add_argument("--hd-shots", type=int, default=3)
    parser.add_argument("--hd-shot-frames", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the timed runs, alternating (medians shown)")
    parser.add_argument(
        "--vidcolor-args",
        default="",
        help="extra options for every vidcolor command (a GPU machine: the solver on cuda)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ref = work / "ref.png"
        cv2.imwrite(str(ref), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        for label, (w, h), shots, per in (
            ("640x360 multi-shot", (640, 360), args.shots, args.shot_frames),
            ("1920x1080 multi-shot", (1920, 1080), args.hd_shots, args.hd_shot_frames),
        ):
            if shots == 0:  # --shots 0 or --hd-shots 0: that reel left out
                continue
            reel = work / f"reel_{h}.mp4"
            make_reel(reel, w, h, shots, per)
            film(reel, ref, work, label, shots * per, args.jobs, shlex.split(args.vidcolor_args), max(1, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
