"""A film's segments as Ray tasks on an existing cluster (or a local instance): ``--executor ray``.

The input, the references and the output's folder must be on a path every node sees the same way (a
shared file system): tasks receive paths and the plan, not frames, and write their segment files beside
the output, where the driver joins them. A task asks for one GPU when the cluster has GPUs, else one
CPU (its encoder then runs on one thread), and is retried only when its worker dies; a segment's own
error is an outcome, not a retry. Where the nodes' devices are shared (``film.ray_devices``) a task asks
for one CPU and its keyframes are solved by its node's device service.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import ray

from vidcolor.film.executors import SegmentExecutor
from vidcolor.film.ray_devices import NodeDevices, node_devices, render_on_node
from vidcolor.film.worker import SegmentOutcome, SegmentTask, render_segment
from vidcolor.plan.chunks import AnalysisChunk, ChunkThumbnails, decode_chunk
from vidcolor.registry import ServiceAddress
from vidcolor.settings import Settings
from vidcolor.stages import check_share_device, shares_a_network

log = logging.getLogger("vidcolor")

RETRIES = 2


class RaySegmentExecutor(SegmentExecutor):
    """One Ray task per segment; ``address`` None starts (and later stops) a local Ray instance."""

    name = "ray"

    def __init__(self, jobs: int, address: str | None) -> None:
        self._started_here = not ray.is_initialized()
        if self._started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        resources = ray.cluster_resources()
        self._jobs, self._gpus, self._cpus = jobs, int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        one_gpu = self._gpus > 0
        self._task: Any = ray.remote(num_gpus=int(one_gpu), num_cpus=int(not one_gpu), max_retries=RETRIES)(
            render_segment
        )
        # A chunk of the analysis pass is a decode: one CPU, wherever the segments' tasks run.
        self._chunk_task = ray.remote(num_cpus=1, max_retries=RETRIES)(decode_chunk)
        self._set_slots(self._gpus or self._cpus)
        if not self._gpus:  # a task holds one CPU, so its encoder takes one thread (x264 would take every core's worth)
            self.encoder_threads = 1
        self._refs: list[Any] = []
        self._devices: NodeDevices | None = None

    def _set_slots(self, slots: int) -> None:
        self.capacity = max(1, min(self._jobs, slots) if self._jobs else slots)

    @classmethod
    def start(cls, jobs: int, address: str | None = None) -> RaySegmentExecutor:
        return cls(jobs, address)

    @contextlib.contextmanager
    def share_devices(self, settings: Settings, automatic: bool, share: str) -> Iterator[ServiceAddress | None]:
        """Device services on the nodes (``film.ray_devices``) under ``share``: ``auto`` where the cluster has
        GPUs, ``on`` also without; only for a run with a keyframe network. The tasks then take one CPU each and
        find their node's service themselves, so no address is given to all."""
        check_share_device(share, self.name)
        if share == "off" or (share == "auto" and not self._gpus) or not shares_a_network(settings, automatic):
            if share == "on":
                log.info("--share-device on: the %s colorizer has no network to share; each task runs its own",
                         settings.colorizer)  # fmt: skip
            yield None
            return
        with node_devices(settings, automatic, on_gpus=self._gpus > 0) as devices:
            self._devices = devices
            # A segment's task now holds one core, not a GPU: every core of a node renders.
            self._task = ray.remote(num_cpus=1, num_gpus=0, max_retries=RETRIES)(render_on_node)
            self.encoder_threads = 1
            self._set_slots(self._cpus)
            log.info("keyframes of up to %d tasks solved together by %d device services on %d nodes (%s)",
                     self.capacity, devices.count, len(devices.services),
                     "one on each GPU" if self._gpus else "on the CPU")  # fmt: skip
            yield None

    def submit(self, task: SegmentTask) -> cf.Future[SegmentOutcome]:
        shared = () if self._devices is None else (self._devices.services,)  # render_on_node's argument
        ref = self._task.remote(task, *shared)
        self._refs.append(ref)
        future: cf.Future[SegmentOutcome] = ref.future()
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
        if self._devices is not None:  # before Ray itself: a cluster of others would keep the actors
            self._devices.close()
        if self._started_here:
            ray.shutdown()
