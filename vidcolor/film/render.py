"""A whole film rendered shot-parallel: segments coloured by workers, joined as packets, audio muxed once.

The driver cuts the plan into segments (``film.segments``), hands the unfinished ones to an executor
(``film.executors``), keeps at most as many in flight as it has workers, and records each finished one in
the manifest (``film.manifest``) beside the segment files, in a hidden folder next to the output. When all
are done, their packets are copied in film order into the output (no re-encoding: each segment starts
with a keyframe and carries the film's timestamps), the input's audio, subtitles, chapters and labels
interleaved once, exactly as a single run writes them. Killed or interrupted, the finished segments stay:
the same command renders only the others. The folder goes when the output is in place.

A shot cut into pieces (``film.segments``) has its keyframes solved first by one worker (its keyframe pass,
kept in the folder's ``keyframes/``); its pieces are handed out once that is done, other segments meanwhile.
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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from vidcolor.colouring import keyframes_of_shots
from vidcolor.errors import HandedOn, OutputError, UsageError
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


@dataclass(frozen=True)
class SegmentsState:
    """Where a shot-parallel render is, segment by segment (for progress beside the frames).

    Attributes:
        done: segments finished (those kept from an interrupted run too); ``total``: segments in all.
        in_flight: the numbers of the segments (from 1) the workers are on now; a shot's keyframe pass
            counts as its first piece's.
        kept: segments kept from an interrupted run.
    """

    done: int
    total: int
    in_flight: tuple[int, ...]
    kept: int = 0


SegmentsCallback = Callable[[SegmentsState], None]
"""Called with the segments' state whenever it changes (a segment started or finished)."""


class SegmentFailed(HandedOn):
    """A segment's worker failed: its one-line message, with the exit code of the error it met."""


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
    on_segments: SegmentsCallback | None = None,
    share_device: str = "auto",
    pool: SegmentExecutor | None = None,
) -> FilmRender:
    """Render ``plan`` of ``input_path`` into ``target`` with ``jobs`` workers of ``executor`` (see the module).

    ``share_device`` (``stages.SHARE_DEVICE``): whether local workers solve their keyframes together in one
    device service of this process (``solver.device_service``), by default with two local workers or more.

    ``pool``: the executor to render on, already started (the analysis pass's chunks ran on it: see
    :func:`start_executor`); it is shut down here, as one started here is.

    ``open_output`` opens the film's writer (audio, labels and timecode set up as a single run's), into which
    the segments are joined; ``shift_s`` is taken off every timestamp, as a single run takes it.
    """
    EXECUTORS.check(executor)
    folder = segments_folder(target)
    try:
        lock = _locked(folder, target.path)
    except BaseException:
        if pool is not None:  # it is this render's to release, started or given
            pool.shutdown(cancel=True)
        raise
    with lock, contextlib.ExitStack() as services:
        pool = pool if pool is not None else start_executor(executor, jobs, address)
        try:
            service = services.enter_context(pool.share_devices(settings, plan.automatic, share_device))
            segments = split_segments(plan, pool.capacity, keyframes_of=keyframes_of_shots(plan, settings))
            key = run_key(content, plan, settings, target.container_format, shift_s)
            manifest = _manifest_for(folder, key, segments)
            result = FilmRender(segments=len(segments), workers=pool.capacity)
            like = SegmentTask(input_path, content, plan, settings, segments[0], folder / segments[0].name,
                               target.container_format, shift_s, keyframes=folder / KEYFRAMES,
                               encoder_threads=pool.encoder_threads,
                               solve_service=service)  # fmt: skip
            to_do = [s for s in segments if not _finished(manifest, s, folder)]
            result.resumed = len(segments) - len(to_do)
            if result.resumed:
                log.info("%s: %d of %d segments kept from an interrupted run", target.path, result.resumed,
                         len(segments))  # fmt: skip
            tasks = _tasks(like, plan, to_do, manifest, trusted=None)
            solved = _run(pool, tasks, manifest, folder, result, plan.input.frames, progress, on_segments)
            stale = _stale(manifest, segments, to_do)
            if stale:  # coloured by other stages (a weight file changed since): their colours would not match
                log.info("%s: %d kept segments were coloured with other stages; rendering them again", target.path,
                         len(stale))  # fmt: skip
                tasks = _tasks(like, plan, stale, manifest, trusted=solved)  # kept passes had the other stages
                _run(pool, tasks, manifest, folder, result, plan.input.frames, progress, on_segments)
        except BaseException:
            pool.shutdown(cancel=True)
            _say_kept(folder, target)
            raise
        pool.shutdown(cancel=False)
        services.close()
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


KEYFRAMES = "keyframes"  # the folder, among the segments, of the keyframes of shots in pieces


def _tasks(
    like: SegmentTask, plan: Plan, segments: list[Segment], manifest: SegmentManifest, trusted: set[int] | None
) -> list[SegmentTask]:
    """The tasks of ``segments`` (``like``: a task with the fields they share) after the keyframe passes their
    pieces need: one for each shot whose pass is not done (``trusted``: the shots whose done pass holds; None:
    every done one whose keyframes are still there)."""
    assert like.keyframes is not None
    passes = []
    for shot in sorted({s.shots[0] for s in segments if s.is_piece}):
        if shot in manifest.passes and (like.keyframes.is_dir() if trusted is None else shot in trusted):
            continue
        if shot in manifest.passes:
            manifest.passes.remove(shot)
        k = shot - 1
        here = plan.shots[k]
        following = plan.shots[k + 1] if k + 1 < len(plan.shots) else None
        whole = Segment(0, here.first_frame, here.last_frame, (shot, shot), here.start_time,
                        following.start_time if following is not None else None)  # fmt: skip
        passes.append(replace(like, segment=whole, path=like.path.with_name(f"shot_{shot:05d}.pass"),
                              keyframe_pass=True))  # fmt: skip
    return passes + [replace(like, segment=s, path=like.path.with_name(s.name)) for s in segments]


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
        shutil.rmtree(folder / KEYFRAMES, ignore_errors=True)  # another run's keyframes
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
    on_segments: SegmentsCallback | None,
) -> set[int]:
    """Run ``tasks`` on ``pool``, ``pool.capacity`` at a time, recording each as it finishes; a piece of a
    shot waits for its shot's keyframe pass. Returns the shots whose passes it ran."""
    solved: set[int] = set()
    queue = list(tasks)
    pending: dict[cf.Future[SegmentOutcome], SegmentTask] = {}
    finished = len(manifest.done)
    said: SegmentsState | None = None
    while queue or pending:
        while len(pending) < pool.capacity:
            ready = next((t for t in queue if t.keyframe_pass or not t.segment.is_piece
                          or t.segment.shots[0] in manifest.passes), None)  # fmt: skip
            if ready is None:
                break
            queue.remove(ready)
            pending[pool.submit(ready)] = ready
        if not pending:  # only pieces left, and no pass of theirs to come: a bug, not a hang
            raise SegmentFailed(f"{queue[0].input}: shot {queue[0].segment.shots[0]} has no keyframe pass", 70)
        done, _ = cf.wait(pending, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            outcome = _outcome_of(future, task)
            if outcome.error is not None:
                raise SegmentFailed(outcome.error, outcome.exit_code)
            result.keyframes += outcome.keyframes
            result.cached += outcome.cached
            result.masks_tracked += outcome.masks_tracked
            for source, share in outcome.sources.items():
                result.sources[source] = result.sources.get(source, 0.0) + share
            if task.keyframe_pass:
                solved.add(task.segment.shots[0])
                manifest.passes.append(task.segment.shots[0])
                manifest.save(folder)
                log.info("shot %d (frames %d-%d): %d keyframes solved in %.1f s, for its pieces",
                         task.segment.shots[0], task.segment.first, task.segment.last, outcome.keyframes,
                         outcome.seconds)  # fmt: skip
                continue
            entry = manifest.segments[task.segment.number]
            entry.done, entry.frames, entry.seconds, entry.colour_key = (
                True,
                outcome.frames,
                outcome.seconds,
                outcome.colour_key,
            )
            manifest.save(folder)
            finished += 1
            log.info("segment %d of %d (frames %d-%d): %d frames in %.1f s", task.segment.number,
                     len(manifest.segments), task.segment.first, task.segment.last, outcome.frames,
                     outcome.seconds)  # fmt: skip
        state = SegmentsState(finished, len(manifest.segments), tuple(sorted({t.segment.number for t in pending.values()})),
                              result.resumed)  # fmt: skip
        if on_segments is not None and state != said:
            on_segments(state)
            said = state
        if progress is not None:
            done_frames = sum(e.frames for e in manifest.segments.values() if e.done)
            progress(done_frames + sum(_noted(t) for t in pending.values()), total_frames)
    return solved


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


def _locked(folder: Path, output: Path) -> IO[str]:
    """The folder of the film's segments, made, and locked for this render until the returned file is closed: one
    render of an output at a time, a second refused (exit 2) rather than mixing segments."""
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder of the film's segments ({exc.strerror})") from exc
    lock = open(folder / ".lock", "w")  # noqa: SIM115  (the caller holds it open for the render: a with of its own)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        lock.close()
        raise UsageError(f"{output}: another run is rendering it now (its segments are in {folder})") from exc
    return lock


def start_executor(executor: str, jobs: int, address: str | None) -> SegmentExecutor:
    """``jobs`` workers of the executor named ``executor`` (``film.executors``), started."""
    return EXECUTORS.load(executor).start(jobs, address)
