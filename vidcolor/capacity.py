"""How many workers this machine holds (one per core, at most as many as the available memory fits), and how a
worker process ends."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from typing import NoReturn

# What one worker may take at most (a 640x360 run peaks near 0.75 GB, HD about twice that).
WORKER_BUDGET_BYTES = 1_500 << 20


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_jobs() -> int:
    """Parallel jobs that fit this machine: one per core, at most as many as the available memory holds."""
    available = available_memory()
    fits = available // WORKER_BUDGET_BYTES if available else cores()
    return max(1, min(cores(), fits))


def available_memory() -> int:
    """Bytes the kernel says are available (MemAvailable), or 0 where it does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def end_without_teardown() -> None:
    """Make this worker process, when it exits, skip the interpreter's teardown (call it as the process starts:
    a pool's initializer).

    Its pool shuts it down once every task's result is handed back, so all it wrote is closed and renamed by
    then; the teardown would only clear every module and object one by one (MediaPipe's thousands of protobuf
    descriptors above all), 0.2-0.3 s that the driver waits for at the end of every render. The exit handler
    registered here runs after those registered later (first in, last out); it flushes the logs itself, as the
    handlers registered before it would, and ends the process with code 0 (:func:`exit_now`).
    """
    atexit.register(_end_worker)


def exit_now(code: int) -> NoReturn:
    """End this process with ``code`` now: the standard streams flushed, nothing else run (no teardown)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more can be said on it
            stream.flush()
    os._exit(code)


def _end_worker() -> None:
    logging.shutdown()
    exit_now(0)
