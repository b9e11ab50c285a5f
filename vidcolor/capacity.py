"""How many workers this machine holds: one per core, at most as many as the available memory fits."""

from __future__ import annotations

import os

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
