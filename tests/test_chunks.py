"""The analysis pass decoded in chunks by workers (vidcolor.plan.chunks): the serial pass's frames, exactly."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import make_sequence, moving_pattern, reference_of, three_shots
from vidcolor import Settings
from vidcolor.cli import run
from vidcolor.frames.probe import content_key, probe
from vidcolor.frames.sequence_in import SequenceReading
from vidcolor.frames.timecode import FrameRange
from vidcolor.plan import chunks, read_plan
from vidcolor.plan.chunks import AnalysisChunk, ChunkThumbnails, chunked_thumbnails, chunks_of, decode_chunk
from vidcolor.plan.make import make_plan
from vidcolor.references import References, StyleSource


class ThreadRunner:
    """Chunks decoded by threads of this process (the film executors' processes are tested in test_film)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.submitted: list[AnalysisChunk] = []
        self._pool = cf.ThreadPoolExecutor(capacity)

    def submit_chunk(self, chunk: AnalysisChunk) -> cf.Future[ChunkThumbnails]:
        self.submitted.append(chunk)
        return self._pool.submit(decode_chunk, chunk)


def _b_frame_clip(
    path: Path, frames: int, keyint: int, luma_of=moving_pattern, pts_ms: list[int] | None = None
) -> Path:
    """x264 at its medium preset (B-frames, reordering) with a keyframe every ``keyint`` frames: a seek lands
    on a keyframe before a chunk's start and the frames before the chunk are decoded and dropped. ``pts_ms``:
    each frame's time in milliseconds (VFR), else 25 fps."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "20", "preset": "medium", "g": str(keyint)})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        if pts_ms is not None:
            stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(
                np.dstack([luma_of(i, 96, 64)] * 3).astype(np.uint8), format="rgb24"
            ).reformat(format="yuv420p")
            frame.pts = pts_ms[i] if pts_ms is not None else i
            if pts_ms is not None:
                frame.time_base = Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _serial(info) -> tuple[list[float], list[np.ndarray]]:  # type: ignore[no-untyped-def]
    whole = decode_chunk(AnalysisChunk(info, info.spec, None, None))
    return whole.times.tolist(), list(whole.thumbnails)


@pytest.mark.parametrize("keyint", [7, 250])
def test_chunks_give_the_serial_frames_times_and_thumbnails_exactly(tmp_path: Path, keyint: int) -> None:
    info = probe(_b_frame_clip(tmp_path / "clip.mp4", 100, keyint))
    found = chunks_of(info, info.spec, chunk_frames=16)
    assert found is not None and len(found) == 7  # 100 frames: six of 16, the last open-ended
    assert found[0].start_s is None and found[-1].end_s is None
    assert [c.start_s for c in found[1:]] == [Fraction(16 * k, 25) for k in range(1, 7)]
    runner = ThreadRunner(2)
    times, thumbnails = zip(*chunked_thumbnails(found, runner), strict=True)
    serial_times, serial_thumbnails = _serial(info)
    assert list(times) == serial_times and len(times) == 100
    assert all(np.array_equal(a, b) for a, b in zip(thumbnails, serial_thumbnails, strict=True))
    assert len(runner.submitted) == 7


def test_variable_frame_rate_frames_crowding_a_bound_land_in_one_chunk_each(tmp_path: Path) -> None:
    """Frames 10 ms apart on either side of every chunk bound (0.64 s, 1.28 s ... at 16 frames of 25 fps) and a
    keyframe among them: each frame is decoded by exactly one chunk, as the serial pass decodes it."""
    pts, t = [], 0
    for i in range(100):
        pts.append(t)
        near = any(abs(t + 40 - 640 * k) <= 30 for k in range(1, 8))
        t += 10 if near else 40 + (i % 3) * 5
    info = probe(_b_frame_clip(tmp_path / "vfr.mp4", 100, 6, pts_ms=pts))
    found = chunks_of(info, info.spec, chunk_frames=16)
    assert found is not None
    times, thumbnails = zip(*chunked_thumbnails(found, ThreadRunner(2)), strict=True)
    serial_times, serial_thumbnails = _serial(info)
    assert list(times) == serial_times and len(times) == 100
    assert all(np.array_equal(a, b) for a, b in zip(thumbnails, serial_thumbnails, strict=True))


def test_a_sequence_is_chunked_by_its_pictures_numbers_gaps_and_all(tmp_path: Path) -> None:
    folder = make_sequence(tmp_path / "scan", frames=40, skip=(86400 + 13,), luma_of=three_shots)
    info = probe(folder / "reel_%06d.dpx", SequenceReading(rate="24", allow_gaps=True))
    found = chunks_of(info, info.spec, chunk_frames=10)
    assert found is not None and len(found) == 4
    times, thumbnails = zip(*chunked_thumbnails(found, ThreadRunner(3)), strict=True)
    serial_times, serial_thumbnails = _serial(info)
    assert list(times) == serial_times and len(times) == 40  # the gap holds the picture before it
    assert all(np.array_equal(a, b) for a, b in zip(thumbnails, serial_thumbnails, strict=True))


def test_a_video_too_short_for_two_chunks_or_of_unknown_length_is_not_split(tmp_path: Path) -> None:
    info = probe(_b_frame_clip(tmp_path / "clip.mp4", 30, 250))
    assert chunks_of(info, info.spec, chunk_frames=16) is None
    assert chunks_of(info, info.spec, chunk_frames=15) is not None
    assert chunks_of(dataclasses.replace(info, rate=None), info.spec, chunk_frames=5) is None


def test_a_plan_made_on_workers_is_the_serial_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _b_frame_clip(tmp_path / "reel.mp4", 36, 5, luma_of=three_shots)
    refs = [
        reference_of(three_shots(frame, 96, 64), cb, cr, tmp_path / f"ref{frame}.png")
        for frame, cb, cr in ((4, 0.12, -0.05), (28, -0.1, -0.1))
    ]
    info = probe(path)
    references = References.read(StyleSource.parse_all(refs), info.matrix)
    settings = Settings(segmenter="whole", use_cache=False)
    serial = make_plan(info, content_key(info), references, {}, [], settings)
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 8)  # 36 frames in 5 chunks, cuts at 12 and 24 inside them
    runner = ThreadRunner(2)
    chunked = make_plan(info, content_key(info), references, {}, [], settings, runner=runner)
    assert len(runner.submitted) == 5
    assert chunked == serial
    assert [s.first_frame for s in chunked.shots] == [0, 12, 24]
    assert [r.frame for r in chunked.references] == [4, 28]


def test_one_worker_or_a_range_plans_in_one_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _b_frame_clip(tmp_path / "reel.mp4", 36, 5, luma_of=three_shots)
    info = probe(path)
    references = References.read([], info.matrix)
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 8)
    for runner, settings in (
        (ThreadRunner(1), Settings(segmenter="whole")),
        (ThreadRunner(2), Settings(segmenter="whole", frame_range=FrameRange.parse("0.2", None, None))),
    ):
        make_plan(info, content_key(info), references, {}, [], settings, runner=runner)
        assert runner.submitted == []


def test_frames_without_timestamps_make_the_pass_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _b_frame_clip(tmp_path / "reel.mp4", 36, 5, luma_of=three_shots)
    info = probe(path)
    references = References.read([], info.matrix)
    settings = Settings(segmenter="whole", use_cache=False)
    serial = make_plan(info, content_key(info), references, {}, [], settings)
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 8)

    def untimed(chunk: AnalysisChunk) -> ChunkThumbnails:
        found = decode_chunk(chunk)
        return ChunkThumbnails(np.full_like(found.times, np.nan), found.thumbnails)

    monkeypatch.setattr(chunks, "decode_chunk", untimed)
    runner = ThreadRunner(2)
    runner.submit_chunk = lambda chunk: runner._pool.submit(untimed, chunk)  # type: ignore[method-assign]
    assert make_plan(info, content_key(info), references, {}, [], settings, runner=runner) == serial


def test_the_plan_command_decodes_on_workers_with_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    path = _b_frame_clip(tmp_path / "reel.mp4", 36, 5, luma_of=three_shots)
    ref = reference_of(three_shots(4, 96, 64), 0.12, -0.05, tmp_path / "ref.png")
    serial, parallel = tmp_path / "serial.plan.toml", tmp_path / "parallel.plan.toml"
    assert run(["plan", str(path), "--style", str(ref), "-o", str(serial), "-q"]) == 0
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 8)
    assert run(["plan", str(path), "--style", str(ref), "-o", str(parallel), "--jobs", "2", "-v"]) == 0
    assert "5 chunks on 2 workers" in capsys.readouterr().err
    assert read_plan(parallel) == read_plan(serial)
    assert run(["plan", str(path), "--jobs", "-1"]) == 2
