"""The analysis pass's decoding split over workers: the film cut into chunks of time, each decoded to thumbnails.

Decoding is the pass's only real cost (an HD frame's decode is about 3 ms here, its placement a few µs), and
a film's is 130,000 frames or more: serial, it is what a many-core render waits on before any segment starts.
So where a render has workers, each decodes a chunk of the film (seeking to the keyframe before it) and hands
back its frames' times and thumbnails; the driver feeds them to the placement in film order, exactly the
frames and values of the serial pass, holding only the chunks in flight (a chunk of 1,500 frames is 14 MB of
thumbnails).

Chunks are bounded by time, at frame times: a frame belongs to the chunk whose range its time falls in, by the
same half-frame rule a range uses (``frames.timecode.RangeSelector``), so adjacent chunks share no frame and
miss none, whatever the file's timestamps. A chunk whose frames carry no timestamps cannot be placed that way:
the pass is then made serially instead.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Protocol

import numpy as np

from vidcolor.colour import YCbCrSpec
from vidcolor.frames.decode import iter_luma_frames
from vidcolor.frames.probe import VideoInfo
from vidcolor.frames.timecode import FrameRange, TimePoint
from vidcolor.keyframes import frame_thumbnail

# Frames a chunk holds: long against a seek's cost (decoding from the keyframe before the chunk: x264's
# longest gap is 250 frames), short against a film (a 90-minute one is 90 chunks), small to hold (14 MB).
CHUNK_FRAMES = 1500


@dataclass(frozen=True)
class AnalysisChunk:
    """Frames of ``info``'s video in ``[start_s, end_s)`` (seconds from its first timestamp; None: open)."""

    info: VideoInfo
    spec: YCbCrSpec
    start_s: Fraction | None
    end_s: Fraction | None

    @property
    def frame_range(self) -> FrameRange:
        return FrameRange(
            start=TimePoint(seconds=self.start_s) if self.start_s is not None else None,
            end=TimePoint(seconds=self.end_s) if self.end_s is not None else None,
        )


@dataclass(frozen=True)
class ChunkThumbnails:
    """A chunk's frames in order: ``times`` ``(n,)`` float64 seconds from the video's start (NaN: the frame
    has no timestamp), ``thumbnails`` ``(n, h, 64)`` float32 unit luma (``keyframes.frame_thumbnail``)."""

    times: np.ndarray
    thumbnails: np.ndarray


class ChunkRunner(Protocol):
    """Where chunks are decoded: a film render's executor (its workers decode, then render)."""

    capacity: int

    def submit_chunk(self, chunk: AnalysisChunk) -> cf.Future[ChunkThumbnails]: ...


class NoTimestamps(Exception):
    """A chunk's frames carry no timestamps: chunks cannot be told apart by time (the pass goes serial)."""


def decode_chunk(chunk: AnalysisChunk) -> ChunkThumbnails:
    """The times and thumbnails of the frames of ``chunk`` (what a worker runs)."""
    info = chunk.info
    origin = float((info.start_pts or 0) * info.time_base)
    times, thumbnails = [], []
    for frame in iter_luma_frames(info, chunk.frame_range):
        times.append(frame.time - origin if frame.time is not None else math.nan)
        thumbnails.append(frame_thumbnail(frame, chunk.spec))
    if not thumbnails:
        return ChunkThumbnails(np.zeros(0), np.zeros((0, 1, 1), np.float32))
    return ChunkThumbnails(np.asarray(times, np.float64), np.stack(thumbnails))


def chunks_of(info: VideoInfo, spec: YCbCrSpec, chunk_frames: int | None = None) -> list[AnalysisChunk] | None:
    """The chunks of the whole of ``info``'s video (``chunk_frames`` each, by default ``CHUNK_FRAMES``; the last
    open-ended), or None where it cannot be split: its rate or length is not known, its frames carry no
    timestamps, or it is too short for two chunks. Its length is the container's count, else its duration's."""
    size = chunk_frames or CHUNK_FRAMES
    rate = info.rate
    if not rate or (info.sequence is None and info.start_pts is None):
        return None
    frames = info.frame_count or (round(info.duration_s * float(rate)) if info.duration_s else None)
    if frames is None or frames < 2 * size:
        return None
    count = math.ceil(frames / size)
    # Workers elsewhere (Ray's nodes; the same paths on a shared file system) may start in another folder.
    sequence = info.sequence
    info = replace(
        info,
        path=info.path.resolve(),
        sequence=replace(sequence, folder=sequence.folder.resolve()) if sequence is not None else None,
    )
    # At frame times: a frame's time is within half a frame of its nominal one, and the rule splits halfway.
    bounds = [Fraction(k * size) / rate for k in range(1, count)]
    return [AnalysisChunk(info, spec, start, end) for start, end in zip([None, *bounds], [*bounds, None], strict=True)]


def chunked_thumbnails(chunks: list[AnalysisChunk], runner: ChunkRunner) -> Iterator[tuple[float, np.ndarray]]:
    """Every frame's time and thumbnail, in film order, from ``chunks`` decoded by ``runner``'s workers (as
    many in flight as it has workers, and one more so that none waits while the driver reads).

    Raises:
        NoTimestamps: a frame without a timestamp (the chunks' bounds cannot be trusted).
    """
    waiting = deque(chunks)
    in_flight: deque[cf.Future[ChunkThumbnails]] = deque()
    try:
        while waiting or in_flight:
            while waiting and len(in_flight) <= runner.capacity:
                in_flight.append(runner.submit_chunk(waiting.popleft()))
            done = in_flight.popleft().result()
            if np.isnan(done.times).any():
                raise NoTimestamps
            yield from zip(done.times.tolist(), done.thumbnails, strict=True)
    finally:
        for future in in_flight:
            future.cancel()
