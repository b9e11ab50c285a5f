"""A whole film rendered shot-parallel: segments coloured by workers, joined as packets, audio muxed once.

The driver cuts the plan into segments (``film.segments``), hands the unfinished ones to an executor
(``film.executors``), keeps at most as many in flight as it has workers, and records each finished one in
the manifest (``film.manifest``) beside the segment files, in a hidden folder next to the output. When all
are done, their packets are copied in film order into the output (no re-encoding: each segment starts
with a keyframe and carries the film's timestamps), the input's audio, subtitles, chapters and labels
interleaved once, exactly as a single run writes them. Killed or interrupted, the finished segments stay:
the same command renders only the others. The folder goes when the output is in place.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import fcntl
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vidcolor.errors import OutputError, UsageError, VidcolorError
from vidcolor.film.executors import EXECUTORS, SegmentExecutor
from vidcolor.film.manifest import SegmentEntry, SegmentManifest
from vidcolor.film.segments import Segment, split_segments
from vidcolor.film.worker import SegmentOutcome, SegmentTask
from vidcolor.frames.encode import ColorVideoWriter
from vidcolor.frames.output import OutputTarget
from vidcolor.plan.make import recorded_settings
from vidcolor.plan.model import Plan
from vidcolor.settings import ALGORITHM_VERSION, Settings

log = logging.getLogger("vidcolor")

POLL_S = 0.5  # how often the driver looks at the workers' progress

ProgressCallback = Callable[[int, int | None], None]
SegmentCallback = Callable[[SegmentOutcome, int, int], None]
"""Called with (outcome, segments finished so far, segments in all) as each segment finishes."""


class SegmentFailed(VidcolorError):
    """A segment's worker failed: its one-line message, with the exit code of the error it met."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class FilmRender:
    """What a shot-parallel render did."""

    frames: int = 0
    segments: int = 0
    resumed: int = 0  # segments kept from an earlier, interrupted run
    keyframes: int = 0
    cached: int = 0
    masks_tracked: int = 0
    sources: dict[str, float] = field(default_factory=dict)  # summed over the keyframes solved now
    workers: int = 1
    join_s: float = 0.0

    def source_shares(self) -> dict[str, float]:
        coloured = self.keyframes - self.cached
        return {k: v / coloured if coloured else 0.0 for k, v in self.sources.items()}


def segments_folder(target: OutputTarget) -> Path:
    """Where a film's segments and their manifest are kept until its output is in place."""
    return target.path.with_name(f".{target.path.name}.segments")


def render_film(
    input_path: Path,
    content: str,
    plan: Plan,
    settings: Settings,
    target: OutputTarget,
    open_output: Callable[[], ColorVideoWriter],
    shift_s: float,
    *,
    jobs: int = 0,
    executor: str = "local",
    address: str | None = None,
    progress: ProgressCallback | None = None,
    on_segment: SegmentCallback | None = None,
) -> FilmRender:
    """Render ``plan`` of ``input_path`` into ``target`` with ``jobs`` workers of ``executor`` (see the module).

    ``open_output`` opens the film's writer (audio, labels and timecode set up as a single run's), into which
    the segments are joined; ``shift_s`` is taken off every timestamp, as a single run takes it.
    """
    EXECUTORS.check(executor)
    folder = segments_folder(target)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder of the film's segments ({exc.strerror})") from exc
    with _locked(folder, target.path):
        pool = EXECUTORS.load(executor).start(jobs, address)
        try:
            segments = split_segments(plan, pool.capacity)
            key = run_key(content, plan, settings, target.container_format, shift_s)
            manifest = _manifest_for(folder, key, segments)
            result = FilmRender(segments=len(segments), workers=pool.capacity)
            task_of = lambda segment: SegmentTask(  # noqa: E731
                input_path, content, plan, settings, segment, folder / segment.name, target.container_format, shift_s
            )
            to_do = [s for s in segments if not _finished(manifest, s, folder)]
            result.resumed = len(segments) - len(to_do)
            if result.resumed:
                log.info("%s: %d of %d segments kept from an interrupted run", target.path, result.resumed,
                         len(segments))  # fmt: skip
            _run(pool, [task_of(s) for s in to_do], manifest, folder, result, plan.input.frames, progress, on_segment)
            stale = _stale(manifest, segments, to_do)
            if stale:  # coloured by other stages (a weight file changed since): their colours would not match
                log.info("%s: %d kept segments were coloured with other stages; rendering them again", target.path,
                         len(stale))  # fmt: skip
                _run(pool, [task_of(s) for s in stale], manifest, folder, result, plan.input.frames, progress,
                     on_segment)  # fmt: skip
        except BaseException:
            pool.shutdown(cancel=True)
            _say_kept(folder, target)
            raise
        pool.shutdown(cancel=False)
        started = time.perf_counter()
        writer = open_output()
        try:
            for segment in segments:
                result.frames += writer.mux_segment(folder / segment.name)
            writer.close()
            target.commit()
        except BaseException:
            writer.abort()
            target.discard()
            _say_kept(folder, target)
            raise
        result.join_s = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    return result


def run_key(content: str, plan: Plan, settings: Settings, container_format: str, shift_s: float) -> str:
    """What a segment's bytes depend on: the input, the plan, the colour and encoder settings, the muxer."""
    describe = {
        "version": ALGORITHM_VERSION,
        "content": content,
        "plan": plan.render_key(),
        "settings": recorded_settings(settings),
        "container": container_format,
        "shift_s": shift_s,
    }
    return hashlib.sha256(json.dumps(describe, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _manifest_for(folder: Path, key: str, segments: list[Segment]) -> SegmentManifest:
    """The folder's manifest if it is this run's (its finished segments are kept), else a fresh one (the
    folder's old segment files removed)."""
    manifest = SegmentManifest.load(folder, key)
    for old in folder.glob("segment_*"):  # another run's segments; a killed worker's partial file and its note
        if manifest is None or not old.name.endswith(".packets"):
            old.unlink(missing_ok=True)
    if manifest is None:
        manifest = SegmentManifest(key)
    wanted = {(s.first, s.last) for s in segments}
    for segment in segments:
        entry = manifest.segments.get(segment.number)
        if entry is None or (entry.first, entry.last) != (segment.first, segment.last):
            manifest.segments[segment.number] = SegmentEntry(segment.number, segment.first, segment.last)
    for number in [n for n, e in manifest.segments.items() if (e.first, e.last) not in wanted]:
        del manifest.segments[number]
    manifest.save(folder)
    return manifest


def _finished(manifest: SegmentManifest, segment: Segment, folder: Path) -> bool:
    entry = manifest.segments[segment.number]
    return entry.done and entry.frames == segment.frames and (folder / segment.name).is_file()


def _stale(manifest: SegmentManifest, segments: list[Segment], rendered: list[Segment]) -> list[Segment]:
    """Kept segments coloured with another colour key than the ones rendered in this run."""
    fresh = {manifest.segments[s.number].colour_key for s in rendered}
    if len(fresh) != 1:
        return []
    key = fresh.pop()
    done_now = {s.number for s in rendered}
    return [s for s in segments if s.number not in done_now and manifest.segments[s.number].colour_key != key]


def _run(
    pool: SegmentExecutor,
    tasks: list[SegmentTask],
    manifest: SegmentManifest,
    folder: Path,
    result: FilmRender,
    total_frames: int,
    progress: ProgressCallback | None,
    on_segment: SegmentCallback | None,
) -> None:
    """Run ``tasks`` on ``pool``, ``pool.capacity`` at a time, recording each as it finishes."""
    queue = list(tasks)
    pending: dict[cf.Future[SegmentOutcome], SegmentTask] = {}
    finished = len(manifest.done)
    while queue or pending:
        while queue and len(pending) < pool.capacity:
            task = queue.pop(0)
            pending[pool.submit(task)] = task
        done, _ = cf.wait(pending, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            outcome = _outcome_of(future, task)
            if outcome.error is not None:
                raise SegmentFailed(outcome.error, outcome.exit_code)
            entry = manifest.segments[task.segment.number]
            entry.done, entry.frames, entry.seconds, entry.colour_key = (
                True,
                outcome.frames,
                outcome.seconds,
                outcome.colour_key,
            )
            manifest.save(folder)
            result.keyframes += outcome.keyframes
            result.cached += outcome.cached
            result.masks_tracked += outcome.masks_tracked
            for source, share in outcome.sources.items():
                result.sources[source] = result.sources.get(source, 0.0) + share
            finished += 1
            log.info("segment %d of %d (frames %d-%d): %d frames in %.1f s", task.segment.number,
                     len(manifest.segments), task.segment.first, task.segment.last, outcome.frames,
                     outcome.seconds)  # fmt: skip
            if on_segment is not None:
                on_segment(outcome, finished, len(manifest.segments))
        if progress is not None:
            done_frames = sum(e.frames for e in manifest.segments.values() if e.done)
            progress(done_frames + sum(_noted(t) for t in pending.values()), total_frames)


def _noted(task: SegmentTask) -> int:
    """The frames a worker says it has written of its segment so far."""
    try:
        return int(task.progress_path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def _outcome_of(future: cf.Future[SegmentOutcome], task: SegmentTask) -> SegmentOutcome:
    try:
        return future.result()
    except cf.process.BrokenProcessPool as exc:
        raise SegmentFailed(
            f"{task.input}: the worker colouring frames {task.segment.first}-{task.segment.last} died ({exc}); "
            "the same command resumes", 70,
        ) from exc  # fmt: skip


def _say_kept(folder: Path, target: OutputTarget) -> None:
    manifest_done = len(list(folder.glob("segment_*.packets")))
    if manifest_done:
        log.warning("%s: %d finished segments kept in %s; the same command renders only the others", target.path,
                    manifest_done, folder)  # fmt: skip


@contextlib.contextmanager
def _locked(folder: Path, output: Path) -> Iterator[None]:
    """One render of an output at a time: a second is refused (exit 2) rather than mixing segments."""
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UsageError(f"{output}: another run is rendering it now (its segments are in {folder})") from exc
        yield
