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

from vidcolor.colouring import Colouring, full_chroma, spec_of
from vidcolor.errors import InputError, VidcolorError
from vidcolor.film.segments import Segment
from vidcolor.frames.decode import DecodeStats
from vidcolor.frames.encode import ColorVideoWriter
from vidcolor.frames.probe import probe
from vidcolor.plan.make import render_parts
from vidcolor.plan.model import Plan
from vidcolor.references import References
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

    @property
    def progress_path(self) -> Path:
        return self.path.with_name(self.path.name + ".progress")


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
    spec = spec_of(info)
    references = References.read(render_parts(task.plan).sources, spec.matrix)
    colouring = Colouring.build(info, task.content, task.plan, references, settings, stages_for(settings))
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
    )
    stats = DecodeStats()
    coloured = colouring.frames(segment.frame_range(), stats, first=segment.first)
    try:
        for work, chroma in coloured:
            writer.write(work.frame, full_chroma(chroma, work.frame, spec))
            if writer.frames_written % PROGRESS_EVERY == 0:
                _note_progress(task.progress_path, writer.frames_written)
        if writer.frames_written != segment.frames:  # the plan's times are not this video's frames
            raise InputError(
                f"{task.input}: frames {segment.first}-{segment.last} of the plan are {writer.frames_written} "
                f"frames here, not {segment.frames} (the plan's shot times do not match the video; plan it again)"
            )
        if segment.end_s is None:  # the last segment reads to the end: the whole file's packets are counted
            stats.check_complete(info)
        writer.close()
    except BaseException:
        coloured.close()
        writer.abort()
        raise
    finally:
        task.progress_path.unlink(missing_ok=True)
    solved = colouring.stats
    return SegmentOutcome(
        segment.number,
        writer.frames_written,
        time.perf_counter() - started,
        colouring.colour_key,
        solved.keyframes,
        solved.cached,
        solved.masks_tracked,
        dict(solved.sources),
        worker=os.getpid(),
    )


def _note_progress(path: Path, frames: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(str(frames))
        os.replace(tmp, path)
    except OSError:  # progress is a courtesy; the segment is what matters
        pass
