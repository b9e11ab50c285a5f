"""Where a film's segments run: in this process, in worker processes of this machine, or as Ray tasks.

Executors share one small interface and a registry (``inline``, ``local``; ``ray`` when installed). Each
hands back futures of :class:`~vidcolor.film.worker.SegmentOutcome`; workers keep their stages between
segments, so models load once per worker. Before the segments, the same workers decode the analysis pass's
chunks (``plan.chunks``): a render starts its workers once.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import signal
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from vidcolor.capacity import cores, default_jobs, end_without_teardown
from vidcolor.errors import UsageError
from vidcolor.film.worker import SegmentOutcome, SegmentTask, render_segment
from vidcolor.plan.chunks import AnalysisChunk, ChunkThumbnails, decode_chunk
from vidcolor.registry import Registry, ServiceAddress
from vidcolor.settings import Settings
from vidcolor.stages import device_service_for

if TYPE_CHECKING:
    from typing import Self


def check_jobs(jobs: int) -> None:
    """:class:`UsageError` for a number of workers below 0 (0: as many as fit, see ``capacity.default_jobs``)."""
    if jobs < 0:
        raise UsageError(f"--jobs {jobs}: give a number of workers, or 0 for as many as fit")


class SegmentExecutor(ABC):
    """Runs segment tasks somewhere; ``capacity`` is how many run at once, ``encoder_threads`` how many threads a
    worker's encoder may take (for its share of the cores it runs on; None: the encoder's own choice, which
    counts every core, as a single run's does)."""

    name: ClassVar[str]
    capacity: int = 1
    encoder_threads: int | None = None

    @classmethod
    @abstractmethod
    def start(cls, jobs: int, address: str | None = None) -> Self:
        """An executor with (at most) ``jobs`` workers (0: as many as fit); ``address`` names a cluster."""

    @abstractmethod
    def submit(self, task: SegmentTask) -> cf.Future[SegmentOutcome]: ...

    @abstractmethod
    def submit_chunk(self, chunk: AnalysisChunk) -> cf.Future[ChunkThumbnails]:
        """Decode one chunk of the analysis pass (``plan.chunks.ChunkRunner``)."""

    @abstractmethod
    def shutdown(self, *, cancel: bool) -> None:
        """Release the workers; ``cancel`` drops the segments not yet started."""

    @contextlib.contextmanager
    def share_devices(self, settings: Settings, automatic: bool, share: str) -> Iterator[ServiceAddress | None]:
        """The device service the workers solve their keyframes in under ``share`` (``stages.SHARE_DEVICE``;
        ``automatic``: some shot is coloured by the automatic network), running while entered. It gives the
        address every task carries: None where the workers run their own networks, or where the executor gives
        each task its own node's service (``film.ray_devices``). Here: one service in this process, for worker
        processes of this machine."""
        service = device_service_for(settings, automatic, self.capacity, share, self.name)
        if service is None:
            yield None
            return
        with service:
            yield service.address


EXECUTORS: Registry[type[SegmentExecutor]] = Registry("film executor", "executor")
EXECUTORS.register_lazy("ray", "vidcolor.film.ray_executor:RaySegmentExecutor", extra="ray")


@EXECUTORS.register("inline")
class InlineExecutor(SegmentExecutor):
    """This process, one segment after another (a resumable render without workers)."""

    name = "inline"

    @classmethod
    def start(cls, jobs: int, address: str | None = None) -> InlineExecutor:
        return cls()

    def submit(self, task: SegmentTask) -> cf.Future[SegmentOutcome]:
        future: cf.Future[SegmentOutcome] = cf.Future()
        future.set_result(render_segment(task))
        return future

    def submit_chunk(self, chunk: AnalysisChunk) -> cf.Future[ChunkThumbnails]:
        future: cf.Future[ChunkThumbnails] = cf.Future()
        future.set_result(decode_chunk(chunk))
        return future

    def shutdown(self, *, cancel: bool) -> None:
        pass


@EXECUTORS.register("local")
class LocalExecutor(SegmentExecutor):
    """Worker processes of this machine."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.capacity = max(1, jobs)
        if self.capacity > 1:  # x264's own rule (1.5 threads a core), for this worker's share of the cores
            self.encoder_threads = max(1, round(1.5 * cores() / self.capacity))
        # spawn, not fork: a fresh interpreter per worker shares no threads or native state.
        self._pool = cf.ProcessPoolExecutor(
            self.capacity, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_started
        )

    @classmethod
    def start(cls, jobs: int, address: str | None = None) -> LocalExecutor:
        return cls(jobs or default_jobs())

    def submit(self, task: SegmentTask) -> cf.Future[SegmentOutcome]:
        return self._pool.submit(render_segment, task)

    def submit_chunk(self, chunk: AnalysisChunk) -> cf.Future[ChunkThumbnails]:
        return self._pool.submit(decode_chunk, chunk)

    def shutdown(self, *, cancel: bool) -> None:
        if cancel:  # interrupted: segments in flight are given up now (their partial files go), not waited for
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=cancel)


def _worker_started() -> None:
    """A worker ignores Ctrl-C: the driver, which the terminal interrupts too, stops it.

    Its native thread pools keep their defaults, the single run's; N workers share the cores by time-slicing.
    (The one stage whose result depends on OpenCV's thread count, the fast global smoother, runs on one thread
    whatever they are: ``vidcolor.smoothing``. One OpenCV thread per worker measured no faster on two cores.)
    It ends without the interpreter's teardown (``capacity.end_without_teardown``).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_without_teardown()
