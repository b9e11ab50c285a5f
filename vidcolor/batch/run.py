"""Running a batch: skip what is done, colour the rest through an executor, record every outcome.

Executors share one small interface and a registry (``local``: this machine, one process per job;
more can be registered). The driver keeps at most ``capacity`` items in flight, so the manifest's
``running`` rows are the items actually being coloured, and it alone writes the manifest.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vidcolor.batch.items import BatchItem
from vidcolor.batch.manifest import Manifest
from vidcolor.cache import fingerprint
from vidcolor.capacity import default_jobs, end_without_teardown
from vidcolor.errors import UsageError, VidcolorError
from vidcolor.frames.probe import input_content
from vidcolor.hints import HintSource, hints_key
from vidcolor.plan.make import recorded_settings
from vidcolor.references import StyleSource, sources_key
from vidcolor.registry import Registry
from vidcolor.settings import ALGORITHM_VERSION, Settings

if TYPE_CHECKING:
    from typing import Self


log = logging.getLogger("vidcolor.batch")

LOCK_NAME = ".vidcolor-batch.lock"  # in the output folder, beside the manifest


@dataclass(frozen=True)
class Outcome:
    """How one item went."""

    input: Path
    ok: bool
    seconds: float
    frames: int = 0
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """A batch run's summary: items coloured now, skipped as already done, and failed (with their errors)."""

    done: list[Path]
    skipped: list[Path]
    failed: list[Outcome]
    seconds: float

    @property
    def complete(self) -> bool:
        return not self.failed


class Executor(ABC):
    """Runs items somewhere and hands back futures of their :class:`Outcome`."""

    name: ClassVar[str]
    capacity: int = 1

    @classmethod
    @abstractmethod
    def for_batch(cls, settings: Settings, jobs: int, address: str | None = None) -> Self:
        """An executor for a batch with these settings and (at most) this many parallel jobs (0: all
        it has); ``address`` names a cluster for executors that use one."""

    @abstractmethod
    def submit(self, item: BatchItem) -> cf.Future[Outcome]: ...

    @abstractmethod
    def shutdown(self, *, cancel: bool) -> None:
        """Release the workers; ``cancel`` drops items not yet started."""


EXECUTORS: Registry[type[Executor]] = Registry("batch executor", "executor")
EXECUTORS.register_lazy("ray", "vidcolor.batch.ray_executor:RayExecutor", extra="ray")


def run_batch(
    items: Sequence[BatchItem],
    outdir: Path,
    settings: Settings,
    *,
    jobs: int = 1,
    executor: str = "local",
    address: str | None = None,
    on_outcome: Callable[[Outcome, int, int], None] | None = None,
    on_start: Callable[[BatchItem], None] | None = None,
) -> BatchResult:
    """Colour every item not already done with the same content and settings; record all in the manifest.

    ``executor`` names a registered executor (``local``, ``ray``), ``address`` its cluster if it uses
    one; ``jobs`` 0 lets the executor choose. ``on_start(item)`` is called as each item is handed to
    the executor, ``on_outcome(outcome, finished_so_far, to_do)`` as each ends. One failing item never
    stops the others. Interrupted (Ctrl-C), the items in flight are marked ``interrupted`` and a
    re-run redoes them (taking their solved keyframes from the cache).
    """
    started = time.perf_counter()
    outdir.mkdir(parents=True, exist_ok=True)
    with batch_lock(outdir):
        return _run_locked(items, outdir, settings, jobs, executor, address, on_outcome, on_start, started)


@contextlib.contextmanager
def batch_lock(outdir: Path) -> Iterator[None]:
    """Hold the output folder for one batch: a second batch on it at once is refused (it would colour every
    item again and race on the outputs). The lock is the kernel's (``flock``): a killed batch holds none."""
    path = outdir / LOCK_NAME
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UsageError(
                f"{outdir}: another batch is running on this folder ({holder}); wait for it or choose another -o"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run_locked(
    items: Sequence[BatchItem],
    outdir: Path,
    settings: Settings,
    jobs: int,
    executor: str,
    address: str | None,
    on_outcome: Callable[[Outcome, int, int], None] | None,
    on_start: Callable[[BatchItem], None] | None,
    started: float,
) -> BatchResult:
    manifest = Manifest.create(outdir)
    to_do, skipped = [], []
    unusable: list[Outcome] = []  # items that cannot run (a listed file missing...): failed without running
    reference_keys: dict[tuple[str, ...], str] = {}  # items mostly share their references: read each once
    for item in items:
        if item.problem is not None:
            manifest.plan(item.input, item.output, 0, "", "")
            manifest.failed(item.input, item.problem)
            unusable.append(Outcome(item.input, False, 0.0, error=item.problem))
            continue
        size, content, key = _identify(item, settings, reference_keys)
        row = manifest.get(item.input)
        if (
            row is not None
            and row.status == "done"
            and (row.size, row.content, row.settings) == (size, content, key)
            and Path(row.output).is_file()
        ):
            skipped.append(item.input)
            continue
        manifest.plan(item.input, item.output, size, content, key, item.colour_source)
        to_do.append(item)
    done: list[Path] = []
    failed: list[Outcome] = []
    for outcome in unusable:
        failed.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome, len(failed), len(to_do) + len(unusable))
    if to_do:
        pool = EXECUTORS.load(executor).for_batch(settings, jobs, address)
        waiting = list(reversed(to_do))
        in_flight: dict[cf.Future[Outcome], BatchItem] = {}
        try:
            while waiting or in_flight:
                while waiting and len(in_flight) < pool.capacity:
                    item = waiting.pop()
                    manifest.started(item.input)
                    if on_start is not None:
                        on_start(item)
                    in_flight[pool.submit(item)] = item
                finished, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    item = in_flight.pop(future)
                    outcome = _outcome_of(future, item)
                    if outcome.ok:
                        manifest.finished(item.input, seconds=outcome.seconds, frames=outcome.frames)
                        done.append(item.input)
                    else:
                        manifest.failed(item.input, outcome.error or "failed", seconds=outcome.seconds)
                        failed.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome, len(done) + len(failed), len(to_do) + len(unusable))
        except BaseException:
            manifest.interrupt_running()
            pool.shutdown(cancel=True)
            raise
        pool.shutdown(cancel=False)
    return BatchResult(done, skipped, failed, time.perf_counter() - started)


def colour_item(item: BatchItem, settings: Settings) -> Outcome:
    """Colour one item with this process's stages (built on first use, then kept: models load once per worker)."""
    from vidcolor.photos import PhotoResult, colorize_photo
    from vidcolor.pipeline import ColorizeResult, colorize_video
    from vidcolor.plan import read_plan
    from vidcolor.stages import stages_for

    started = time.perf_counter()
    try:
        stages = stages_for(settings)
        item.output.parent.mkdir(parents=True, exist_ok=True)
        stage_args: dict[str, Any] = {"colorizer": stages.colorizer, "segmenter": stages.segmenter, "flow": stages.flow}
        result: ColorizeResult | PhotoResult
        if item.is_photo:
            result = colorize_photo(
                item.input, list(item.references), item.output, settings, overwrite=True, **stage_args
            )
        elif item.plan is not None:
            log.info("%s: rendered from its plan %s (its references and hints)", item.input, item.plan)
            plan = read_plan(item.plan)
            result = colorize_video(item.input, [], item.output, settings, overwrite=True, plan=plan, **stage_args)
        else:
            result = colorize_video(
                item.input, list(item.references), item.output, settings, overwrite=True, hints=item.hints, **stage_args
            )
        frames = getattr(result, "frames", 1)  # a photograph is one frame
        return Outcome(item.input, True, time.perf_counter() - started, frames)
    except VidcolorError as exc:
        return Outcome(item.input, False, time.perf_counter() - started, error=str(exc))
    except OSError as exc:
        return Outcome(item.input, False, time.perf_counter() - started, error=f"{item.output.parent}: {exc}")
    except Exception as exc:  # a bug on one item must not stop the batch; its message is kept
        return Outcome(item.input, False, time.perf_counter() - started, error=f"internal error: {exc!r}")


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """This machine: in this process for one job, else one worker process per job (each loads the
    models once, when its first item starts)."""

    name = "local"

    def __init__(self, settings: Settings, jobs: int) -> None:
        self.settings = settings
        self.capacity = max(1, jobs)
        self._pool: cf.ProcessPoolExecutor | None = None
        if self.capacity > 1:
            # spawn, not fork: a fresh interpreter per worker shares no threads or native state.
            self._pool = cf.ProcessPoolExecutor(
                self.capacity, mp_context=multiprocessing.get_context("spawn"), initializer=end_without_teardown
            )

    @classmethod
    def for_batch(cls, settings: Settings, jobs: int, address: str | None = None) -> LocalExecutor:
        return cls(settings, jobs or default_jobs())

    def submit(self, item: BatchItem) -> cf.Future[Outcome]:
        if self._pool is not None:
            return self._pool.submit(colour_item, item, self.settings)
        future: cf.Future[Outcome] = cf.Future()
        future.set_result(colour_item(item, self.settings))
        return future

    def shutdown(self, *, cancel: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)


def _identify(item: BatchItem, settings: Settings, reference_keys: dict[tuple[str, ...], str]) -> tuple[int, str, str]:
    """The item's size, content key, and a key of everything that decides its output: the settings that
    change colours or the encoding (not where the cache is or how large it may grow), its references'
    contents (the images of a reference folder too), its hints and its plan."""
    if item.references not in reference_keys:
        try:
            reference_keys[item.references] = sources_key(StyleSource.parse_all(list(item.references)))
        except VidcolorError as exc:  # the item fails when it runs, with this message; the key just differs
            reference_keys[item.references] = f"unusable: {exc}"
    describe = {
        "version": ALGORITHM_VERSION,
        "settings": recorded_settings(settings),
        "range": str(settings.frame_range),
        "references": reference_keys[item.references],
        "hints": _files_key(item.hints),
        "plan": fingerprint(item.plan) if item.plan is not None else None,
    }
    key = hashlib.sha256(json.dumps(describe, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return (*input_content(item.input), key)


def _files_key(specs: Sequence[str]) -> str:
    try:
        return hints_key([HintSource.parse(h) for h in specs])
    except (VidcolorError, OSError) as exc:  # the item fails when it runs, with its own message
        return f"unusable: {exc}"


def _outcome_of(future: cf.Future[Outcome], item: BatchItem) -> Outcome:
    try:
        return future.result()
    except cf.process.BrokenProcessPool as exc:
        return Outcome(item.input, False, 0.0, error=f"its worker process died ({exc})")
    except Exception as exc:
        return Outcome(item.input, False, 0.0, error=f"internal error: {exc!r}")
