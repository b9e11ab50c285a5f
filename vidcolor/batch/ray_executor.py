"""Items as Ray tasks on an existing cluster (or a local instance): ``vidcolor batch --executor ray``.

Inputs, outputs and references must be on a path every node sees the same way (a shared file
system): tasks receive paths, not bytes. The manifest stays on the driver, which alone writes it;
tasks report their outcome back. A task asks for one GPU when the cluster has GPUs, else one CPU,
and is retried (at most ``RETRIES`` times) only when its worker dies; an item's own error is an
outcome, not a retry. Ray reuses worker processes, so each loads the models once.
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

import ray

from vidcolor.batch.items import BatchItem
from vidcolor.batch.run import Executor, Outcome, colour_item
from vidcolor.settings import Settings

RETRIES = 2


class RayExecutor(Executor):
    """One Ray task per item; ``address`` None starts (and later stops) a local Ray instance."""

    name = "ray"

    def __init__(self, settings: Settings, jobs: int, address: str | None = None) -> None:
        self.settings = settings
        self._started_here = not ray.is_initialized()
        if self._started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        self._task = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1, max_retries=RETRIES)(colour_item)
        # Keep every slot the cluster has busy, unless fewer jobs were asked for.
        slots = gpus or int(resources.get("CPU", 1))
        self.capacity = max(1, min(jobs, slots) if jobs else slots)
        self._refs: list[Any] = []

    @classmethod
    def for_batch(cls, settings: Settings, jobs: int, address: str | None = None) -> RayExecutor:
        return cls(settings, jobs, address)

    def submit(self, item: BatchItem) -> cf.Future[Outcome]:
        ref = self._task.remote(item, self.settings)
        self._refs.append(ref)
        future: cf.Future[Outcome] = ref.future()  # type: ignore[attr-defined]  # (missing from its stubs)
        return future

    def shutdown(self, *, cancel: bool) -> None:
        if cancel:
            for ref in self._refs:
                ray.cancel(ref, force=True)
        if self._started_here:
            ray.shutdown()
