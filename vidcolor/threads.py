"""The process's side threads: native work (OpenCV's flow, SciPy's tree queries) split over two threads,
the most urgent first.

That code releases the GIL, so two calls run at once; on the 2-core machines measured, two DIS flows side
by side take about 0.75 of the time of one after the other. The pool is made when first needed and
shared by every stage of the process; a task holds references to its own arrays, so an interrupted caller
(Ctrl-C raised while it waits) cannot free what a side thread still reads.

Tasks are taken by urgency, then in the order given. The frames read ahead queue their flows (a window's
worth and more, ``AHEAD``); a keyframe's tree queries, which the colouring thread waits on, used to queue
behind them all in one line and waited 0.2 s a keyframe (a 6-shot 640x360 reel: 3.1 s of its keyframes'
solving was waiting, 0.8 s was work). Now they go first (``URGENT``), a keyframe's reference match started
ahead next (``SOON``).
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import functools
import heapq
import itertools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

SIDE_THREADS = 2  # more gain little: OpenCV parallelises inside its calls too

URGENT, SOON, AHEAD = 0, 1, 2  # what the colouring thread waits on now; needed in a moment; for frames ahead

R = TypeVar("R")


class SideThreads:
    """``threads`` threads running the tasks given to :meth:`submit`, the lowest ``priority`` first (ties in
    the order given); a :class:`concurrent.futures.Future` stands for each. Stopped at the interpreter's exit,
    after the tasks running then (those queued are dropped)."""

    def __init__(self, threads: int, name: str) -> None:
        self._queue: list[tuple[int, int, cf.Future[Any], Callable[[], Any]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._stopping = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()
        atexit.register(self.stop)

    def submit(self, fn: Callable[..., R], /, *args: Any, priority: int = URGENT, **kwargs: Any) -> cf.Future[R]:
        future: cf.Future[R] = cf.Future()
        task: Callable[[], Any] = functools.partial(fn, *args, **kwargs)
        with self._ready:
            if self._stopping:
                raise RuntimeError("the side threads are stopped")
            heapq.heappush(self._queue, (priority, next(self._order), future, task))
            self._ready.notify()
        return future

    def stop(self) -> None:
        """Drop the queued tasks and wait for the running ones."""
        with self._ready:
            self._stopping = True
            for *_, future, _task in self._queue:
                future.cancel()
            self._queue.clear()
            self._ready.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                *_, future, task = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():  # cancelled while it waited
                continue
            try:
                result = task()
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)
            del task, future  # the task's arrays go now, not when the next task comes


@functools.cache
def side_threads() -> SideThreads:
    return SideThreads(SIDE_THREADS, "vidcolor-side")
