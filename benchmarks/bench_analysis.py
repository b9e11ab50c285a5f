"""The analysis pass on one decoder against the same pass decoded in chunks by a render's workers.

    .venv/bin/python benchmarks/bench_analysis.py [--jobs 2] [--frames 4500] [--hd-frames 3000] [--chunk 1500]

For a reel of pans (``bench_film``'s, cut together from scikit-image's photographs) at 640x360 and 1920x1080,
in one run: the serial pass (``make_plan`` with no workers), the workers' start (``--jobs`` local processes,
spawned, as a render starts them), the chunked pass on them, whether the two plans are equal, and what stays
serial in the driver (the cut detector and the placement over the thumbnails, timed alone over thumbnails
already decoded), from which a 90-minute film's pass is projected on 8, 32 and 64 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_film import make_reel

from vidcolor import Settings
from vidcolor.film.executors import LocalExecutor
from vidcolor.frames.probe import content_key, probe
from vidcolor.match.placement import place
from vidcolor.plan import chunks
from vidcolor.plan.chunks import AnalysisChunk, decode_chunk
from vidcolor.plan.make import make_plan
from vidcolor.references import References


def measure(path: Path, label: str, jobs: int) -> None:
    info = probe(path)
    references = References.read([], info.matrix)
    settings = Settings()
    started = time.perf_counter()
    serial = make_plan(info, content_key(info), references, {}, [], settings)
    serial_s = time.perf_counter() - started
    frames = serial.input.frames
    started = time.perf_counter()
    pool = LocalExecutor(jobs)
    for future in [pool.submit_chunk(AnalysisChunk(info, info.spec, None, 0)) for _ in range(jobs)]:
        future.result()
    start_s = time.perf_counter() - started  # every worker up (an empty chunk each), as a render starts them
    try:
        started = time.perf_counter()
        chunked = make_plan(info, content_key(info), references, {}, [], settings, runner=pool)
        chunked_s = time.perf_counter() - started
    finally:
        pool.shutdown(cancel=False)
    whole = decode_chunk(AnalysisChunk(info, info.spec, None, None))
    started = time.perf_counter()
    place(zip(whole.times.tolist(), whole.thumbnails, strict=True), [], [], 1 / 25)
    driver_s = time.perf_counter() - started
    count = len(chunks.chunks_of(info, info.spec) or [])
    print(
        f"{label}: {frames} frames, {len(serial.shots)} shots | one decoder {serial_s:5.2f} s ({frames / serial_s:6.0f} fps)"
        f" | {count} chunks on {jobs} workers {chunked_s:5.2f} s ({frames / chunked_s:6.0f} fps), speed-up "
        f"{serial_s / chunked_s:4.2f}x (the workers' start {start_s:.2f} s, paid once by a render) | plans equal: "
        f"{chunked == serial}"
    )
    per_frame = (serial_s - driver_s) / frames
    film = 90 * 60 * 25
    line = ", ".join(
        f"{cores} cores {(film * driver_s / frames + film * per_frame / cores) / 60:4.1f} min" for cores in (8, 32, 64)
    )
    print(
        f"{label}:   the driver's own part (cuts and placement over decoded thumbnails) {1e6 * driver_s / frames:5.1f} µs "
        f"a frame, decoding {1e3 * per_frame:5.2f} ms; a 90-minute film's pass: one decoder "
        f"{film * serial_s / frames / 60:4.1f} min, chunked on {line}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--frames", type=int, default=4500, help="640x360 reel (0: left out)")
    parser.add_argument("--hd-frames", type=int, default=3000, help="1920x1080 reel (0: left out)")
    parser.add_argument("--chunk", type=int, default=chunks.CHUNK_FRAMES, help="frames a chunk")
    args = parser.parse_args()
    chunks.CHUNK_FRAMES = args.chunk
    with tempfile.TemporaryDirectory() as tmp:
        for label, (w, h), frames in (
            ("640x360", (640, 360), args.frames),
            ("1920x1080", (1920, 1080), args.hd_frames),
        ):
            if frames == 0:
                continue
            reel = Path(tmp) / f"reel_{h}.mp4"
            started = time.perf_counter()
            shots = 6
            make_reel(reel, w, h, shots, frames // shots)
            print(f"{label}: reel of {frames // shots * shots} frames written in {time.perf_counter() - started:.0f} s")
            measure(reel, label, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
