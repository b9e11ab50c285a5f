"""One long job at a time (a preview, a render) in a worker thread, its progress as numbered events.

The web app streams the events (server-sent events); a script or a test reads them with
:meth:`JobRunner.events_since`. A job is cancelled between frames: its progress callback raises
:class:`Cancelled`, and the library's own clean-up (a temp file discarded, never renamed) does the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vidcolor.errors import VidcolorError
from vidcolor.film import SegmentsState

log = logging.getLogger("vidcolor")

Progress = Callable[[int, int | None], None]
Work = Callable[[Progress], dict[str, Any]]

EVENTS_KEPT = 1000  # a page that reconnects catches up from this many
PROGRESS_EVERY_S = 0.2  # progress events at most this often (a render's frames come faster)


class Cancelled(Exception):
    """Raised inside a job's progress callback once the job is cancelled."""


class Busy(Exception):
    """A job is already running (the web app answers 409)."""


@dataclass
class Job:
    """A job's state as the page shows it."""

    kind: str
    started: float = field(default_factory=time.monotonic)
    frames: int = 0
    total: int | None = None
    state: str = "running"  # running, done, failed, cancelled
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    segments: dict[str, Any] | None = None  # a shot-parallel render's: done, total, in_flight, kept

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        fps = self.frames / elapsed if elapsed > 0 and self.frames else 0.0
        eta = (self.total - self.frames) / fps if fps and self.total is not None else None
        return {
            "kind": self.kind,
            "state": self.state,
            "frames": self.frames,
            "total": self.total,
            "fps": round(fps, 2),
            "eta_s": round(eta, 1) if eta is not None else None,
            "elapsed_s": round(elapsed, 1),
            "result": self.result,
            "error": self.error,
            "segments": self.segments,
        }


class JobRunner:
    """Runs one job at a time and numbers every event it publishes (from 1)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._events: deque[tuple[int, dict[str, Any]]] = deque(maxlen=EVENTS_KEPT)
        self._sequence = 0
        self.job: Job | None = None

    def summary(self) -> dict[str, Any] | None:
        """The last job's state as the page shows it, or None before the first."""
        return self.job.summary() if self.job is not None else None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._sequence += 1
            self._events.append((self._sequence, event))

    def events_since(self, sequence: int) -> list[tuple[int, dict[str, Any]]]:
        """The events numbered after ``sequence``, oldest first."""
        with self._lock:
            return [(n, e) for n, e in self._events if n > sequence]

    @property
    def last_event(self) -> int:
        with self._lock:
            return self._sequence

    def note_segments(self, state: SegmentsState) -> None:
        """A shot-parallel render's segments changed (one started or finished): a ``segments`` event."""
        job = self.job
        if job is None:
            return
        job.segments = {"done": state.done, "total": state.total, "in_flight": list(state.in_flight),
                        "kept": state.kept}  # fmt: skip
        self.publish({"type": "segments", **job.summary()})

    def start(self, kind: str, work: Work) -> Job:
        """Run ``work(progress)`` in a thread; :class:`Busy` while another job runs."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise Busy(f"a {self.job.kind if self.job else 'job'} is running; cancel it or wait for it")
            self._cancel.clear()
            job = self.job = Job(kind)
            self._thread = threading.Thread(target=self._run, args=(job, work), name=f"studio-{kind}", daemon=True)
        self.publish({"type": "started", **job.summary()})
        self._thread.start()
        return job

    def cancel(self) -> bool:
        """Ask the running job to stop at its next frame; False when none runs."""
        if not self.busy:
            return False
        self._cancel.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running job; True when none runs any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy

    def close(self, timeout: float = 30.0) -> None:
        """Cancel the running job and wait for its clean-up (the server's shutdown)."""
        self.cancel()
        self.wait(timeout)

    def _run(self, job: Job, work: Work) -> None:
        last = 0.0

        def progress(frames: int, total: int | None) -> None:
            nonlocal last
            if self._cancel.is_set():
                raise Cancelled
            job.frames, job.total = frames, total
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S or (total is not None and frames >= total):
                last = now
                self.publish({"type": "progress", **job.summary()})

        try:
            job.result = work(progress)
            job.state = "done"
        except Cancelled:
            job.state = "cancelled"
        except VidcolorError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # a bug: the page says so, the log keeps the traceback
            log.exception("studio %s failed", job.kind)
            job.state, job.error = "failed", f"internal error: {exc!r}"
        self.publish({"type": job.state, **job.summary()})
