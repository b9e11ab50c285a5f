"""One segment of a film coloured and encoded by a worker (a process of this machine, or a Ray task).

A worker builds the run's stages once (kept for its later segments: models load once per worker) and,
for each segment, the colouring of the whole plan (``vidcolor.colouring``), decodes the segment's frames
only, and encodes them to a segment file in the film's own timestamps. Its outcome says what it did; an
error is an outcome too (its one-line message and exit code), as error classes do not all cross processes.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidcolor.colouring import Colouring, ShotKeyframes, plane_chroma
from vidcolor.errors import InputError, VidcolorError
from vidcolor.film.segments import Segment
from vidcolor.frames.decode import DecodeStats
from vidcolor.frames.encode import ColorVideoWriter
from vidcolor.frames.probe import probe
from vidcolor.frames.write_behind import WriteBehind
from vidcolor.keyframes import WorkFrame
from vidcolor.plan.make import render_parts
from vidcolor.plan.model import Plan
from vidcolor.references import References
from vidcolor.registry import ServiceAddress
from vidcolor.settings import Settings
from vidcolor.stages import stages_for

log = logging.getLogger("vidcolor")

PROGRESS_EVERY = 8  # frames between a worker's progress notes (a small file beside its segment)


@dataclass(frozen=True)
class SegmentTask:
    """What a worker needs for one segment: paths every worker sees, the plan, the settings."""

    input: Path
    content: str
    plan: Plan
    settings: Settings
    segment: Segment
    path: Path  # the segment file to write
    container_format: str  # the film's output muxer (the encoder is set up for it)
    shift_s: float  # seconds taken off every timestamp (the whole film's: its output starts at 0)
    keyframes: Path | None = None  # where the keyframes of shots in pieces are kept (a piece's, a pass's)
    keyframe_pass: bool = False  # solve the keyframes of the segment's shot (``path`` is not written)
    encoder_threads: int | None = None  # the worker's share of its machine's cores (see SegmentExecutor)
    solve_service: ServiceAddress | None = None  # the device service its keyframes are solved in (None: its own)

    @property
    def progress_path(self) -> Path:
        return self.path.with_name(self.path.name + ".progress")

    @property
    def shot_keyframes(self) -> ShotKeyframes | None:
        if self.keyframes is None or not (self.keyframe_pass or self.segment.is_piece):
            return None
        return ShotKeyframes(self.keyframes, solving=self.keyframe_pass)


@dataclass(frozen=True)
class SegmentOutcome:
    number: int
    frames: int = 0
    seconds: float = 0.0
    colour_key: str = ""
    keyframes: int = 0
    cached: int = 0
    masks_tracked: int = 0
    sources: dict[str, float] = field(default_factory=dict)  # summed shares over the keyframes it solved
    error: str | None = None
    exit_code: int = 0
    worker: int = 0  # the process that rendered it


def render_segment(task: SegmentTask) -> SegmentOutcome:
    """Colour and encode ``task``'s segment into its segment file (renamed into place when complete)."""
    started = time.perf_counter()
    number = task.segment.number
    try:
        return _render(task, started)
    except VidcolorError as exc:
        return SegmentOutcome(number, error=exc.message, exit_code=exc.exit_code, worker=os.getpid())
    except OSError as exc:
        return SegmentOutcome(number, error=f"{task.path.parent}: {exc}", exit_code=3, worker=os.getpid())


def _render(task: SegmentTask, started: float) -> SegmentOutcome:
    settings, segment = task.settings, task.segment
    info = probe(task.input, settings.sequence)
    spec = info.spec
    references = References.read(render_parts(task.plan).sources, spec.matrix)
    colouring = Colouring.build(
        info,
        task.content,
        task.plan,
        references,
        settings,
        stages_for(settings, task.solve_service),
        shot_keyframes=task.shot_keyframes,
    )
    if task.keyframe_pass:
        return _solve_pass(task, colouring, started)
    writer = ColorVideoWriter(
        task.path,
        container_format=task.container_format,
        width=info.width,
        height=info.height,
        spec=spec,
        time_base=info.time_base,
        rate=info.rate,
        settings=settings.encoder,
        copy_from=None,
        range_start_s=None,
        shift_s=task.shift_s,
        as_segment=True,
        threads=task.encoder_threads,
        colour=info.colour,
        field_order=info.field_order,
    )
    stats = DecodeStats()
    only = (segment.first, segment.through) if segment.through is not None else None
    coloured = colouring.frames(segment.frame_range(), stats, first=segment.decoded_from, only=only)

    def write(item: tuple[WorkFrame, np.ndarray]) -> None:  # in the write-behind thread, as the single run writes
        work, chroma = item
        writer.write(work.frame, plane_chroma(chroma, work.frame, spec, writer.chroma_step))
        if writer.frames_written % PROGRESS_EVERY == 0:
            _note_progress(task.progress_path, writer.frames_written)

    try:
        with WriteBehind(write, depth=colouring.frames_ahead) as behind:
            for work, chroma in coloured:
                if work.frame.index <= segment.last:  # beyond: the next piece's first keyframe, this one's right anchor
                    behind.put((work, chroma))
            behind.finish()
        _check_frames(task, writer.frames_written)
        if segment.end_s is None and segment.through in (None, segment.last):  # read to the end: count packets
            stats.check_complete(info)
        solved = colouring.stats
        if segment.is_piece and solved.cached < solved.keyframes:  # solved from another start: would differ
            raise KeyframesMissing(
                f"{task.input}: {solved.keyframes - solved.cached} keyframes of shot {segment.shots[0]} are "
                f"missing from its keyframe pass ({task.keyframes}); the same command solves them again"
            )
        writer.close()
    except BaseException:
        coloured.close()
        writer.abort()
        raise
    finally:
        task.progress_path.unlink(missing_ok=True)
    if segment.is_piece:  # its keyframes were solved (and are counted) by its shot's pass
        return SegmentOutcome(segment.number, writer.frames_written, time.perf_counter() - started,
                              colouring.colour_key, worker=os.getpid())  # fmt: skip
    return _outcome(segment.number, writer.frames_written, started, colouring)


def _solve_pass(task: SegmentTask, colouring: Colouring, started: float) -> SegmentOutcome:
    """The keyframe pass of the segment's shot: its keyframes solved in order, into the film's folder."""
    seen = colouring.solve_keyframes(task.segment.frame_range(), DecodeStats(), first=task.segment.first)
    _check_frames(task, seen)
    return _outcome(task.segment.number, 0, started, colouring)


def _outcome(number: int, frames: int, started: float, colouring: Colouring) -> SegmentOutcome:
    solved = colouring.stats
    return SegmentOutcome(
        number,
        frames,
        time.perf_counter() - started,
        colouring.colour_key,
        solved.keyframes,
        solved.cached,
        solved.masks_tracked,
        dict(solved.sources),
        worker=os.getpid(),
    )


def _check_frames(task: SegmentTask, seen: int) -> None:
    """:class:`InputError` when the segment's times held other frames than the plan says (another video's plan)."""
    segment = task.segment
    if seen != segment.frames:
        raise InputError(
            f"{task.input}: frames {segment.first}-{segment.last} of the plan are {seen} frames here, not "
            f"{segment.frames} (the plan's shot times do not match the video; plan it again)"
        )


class KeyframesMissing(VidcolorError):
    """A piece of a shot met a keyframe its shot's pass did not leave (its folder was touched)."""

    exit_code = 70


def _note_progress(path: Path, frames: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(str(frames))
        os.replace(tmp, path)
    except OSError:  # progress is a courtesy; the segment is what matters
        pass
