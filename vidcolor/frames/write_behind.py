"""Write behind: the output stage (full-size chroma, gamut fit, conversion, encoder) in a thread of its own.

The colouring of frame n+1 (flow, warps: OpenCV and numpy, which release the GIL) then overlaps the
writing of frame n (the gamut fit and libx264, likewise native), so a run uses a second core where it had
one and a fraction. Frames are written in order by the one thread; the queue is bounded, so memory stays
at ``depth`` frames. An error of the writer is raised in the caller, at its next :meth:`put` or at
:meth:`finish`, and nothing after it is written.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class WriteBehind(Generic[T]):
    """``write(item)`` for every item :meth:`put`, in order, in a thread; use as a context manager (leaving
    it by an exception drops what is queued and stops the thread)."""

    def __init__(self, write: Callable[[T], None], depth: int = 32) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1; got {depth}")
        self._write = write
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="vidcolor-write", daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue ``item`` (waiting while ``depth`` are queued); raises the writer's error, if it met one."""
        while True:
            self._raise_failure()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until everything queued is written; raises the writer's error, if it met one."""
        self.put(_DONE)  # type: ignore[arg-type]
        self._thread.join()
        self._raise_failure()

    def cancel(self) -> None:
        """Stop now: what is queued is not written."""
        self._stop.set()
        self._thread.join(timeout=30)

    def __enter__(self) -> WriteBehind[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.cancel()

    def _raise_failure(self) -> None:
        if self._error is not None:
            self._stop.set()
            raise self._error

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            try:
                self._write(item)  # type: ignore[arg-type]
            except BaseException as exc:  # raised in the caller
                self._error = exc
                return
