"""Decode ahead: a bounded queue filled by a thread, so decoding overlaps the work on earlier frames.

PyAV and OpenCV release the GIL in their native code, so a decoder thread runs beside flow, the
colorizer (on a GPU or not) and the encoder. The queue is bounded: memory stays at ``depth`` frames
whatever the video's length.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch(items: Iterable[T], depth: int = 8) -> Generator[T, None, None]:
    """Yield ``items`` in order while a thread produces up to ``depth`` of them ahead.

    An exception in the producer is raised here, at the point it happened in the sequence. Closing
    the generator (or an exception in the consumer) stops the producer.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1; got {depth}")
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    source = iter(items)

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # a generator: its files are closed in the thread that used them
                close()

    worker = threading.Thread(target=produce, name="vidcolor-decode", daemon=True)
    worker.start()
    try:
        while True:
            value = buffer.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
