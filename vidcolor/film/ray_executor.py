"""A film's segments as Ray tasks on an existing cluster (or a local instance): ``--executor ray``.

The input, the references and the output's folder must be on a path every node sees the same way (a
shared file system): tasks receive paths and the plan, not frames, and write their segment files beside
the output, where the driver joins them. A task asks for one GPU when the cluster has GPUs, else one
CPU (its encoder then runs on one thread), and is retried only when its worker dies; a segment's own
error is an outcome, not a retry.
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

import ray

from vidcolor.film.executors import SegmentExecutor
from vidcolor.film.worker import SegmentOutcome, SegmentTask, render_segment
from vidcolor.plan.chunks import AnalysisChunk, ChunkThumbnails, decode_chunk

RETRIES = 2


class RaySegmentExecutor(SegmentExecutor):
    """One Ray task per segment; ``address`` None starts (and later stops) a local Ray instance."""

    name = "ray"

    def __init__(self, jobs: int, address: str | None) -> None:
        self._started_here = not ray.is_initialized()
        if self._started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        self._task = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1, max_retries=RETRIES)(
            render_segment
        )
        # A chunk of the analysis pass is a decode: one CPU, wherever the segments' tasks run.
        self._chunk_task = ray.remote(num_cpus=1, max_retries=RETRIES)(decode_chunk)
        slots = gpus or int(resources.get("CPU", 1))
        if not gpus:  # a task holds one CPU, so its encoder takes one thread (x264 would take every core's worth)
            self.encoder_threads = 1
        self.capacity = max(1, min(jobs, slots) if jobs else slots)
        self._refs: list[Any] = []

    @classmethod
    def start(cls, jobs: int, address: str | None = None) -> RaySegmentExecutor:
        return cls(jobs, address)

    def submit(self, task: SegmentTask) -> cf.Future[SegmentOutcome]:
        ref = self._task.remote(task)
        self._refs.append(ref)
        future: cf.Future[SegmentOutcome] = ref.future()  # type: ignore[attr-defined]  # (missing from its stubs)
        return future

    def submit_chunk(self, chunk: AnalysisChunk) -> cf.Future[ChunkThumbnails]:
        ref = self._chunk_task.remote(chunk)
        self._refs.append(ref)
        future: cf.Future[ChunkThumbnails] = ref.future()  # type: ignore[attr-defined]
        return future

    def shutdown(self, *, cancel: bool) -> None:
        if cancel:
            for ref in self._refs:
                ray.cancel(ref, force=True)
        if self._started_here:
            ray.shutdown()
