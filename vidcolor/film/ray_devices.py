"""Device services on a Ray cluster's nodes, shared by the segments' tasks of each node.

Without them a segment's task asks for one GPU on a cluster with GPUs: a node with one GPU and sixteen cores
renders one segment at a time, each keyframe a batch of one. With them (``--share-device``: ``auto`` on a
cluster with GPUs, ``on`` also without) each GPU of each node (each node, on a cluster without GPUs) holds a
device service (``solver.device_service``, through ``stages``) in an actor of its own, which loads the run's
networks once; the tasks ask for one CPU each, so every core renders a segment, and a task's keyframes are
solved by its node's service together with those of the node's other tasks. A service listens on a Unix socket
of its node: a task reaches only its own node's (on a node with several GPUs, the one its segment's number
picks). A node that joins the cluster later has no service: its tasks run their own networks.

A service without a GPU reserves no CPU (while it solves, the tasks waiting for it hold their cores) and runs
torch on the node's cores. A task that runs its own networks on the CPU (``--share-device off``, or ``auto``
without GPUs) runs torch on the one CPU it holds: the optim solver's sums then round otherwise than a single
run's (a unit in about 0.004 % of the chroma samples of a 4-shot 640x360 reel at ``--crf 0``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from vidcolor.capacity import cores
from vidcolor.errors import HandedOn, StageError, VidcolorError
from vidcolor.film.worker import SegmentOutcome, SegmentTask, render_segment
from vidcolor.registry import ServiceAddress
from vidcolor.settings import Settings
from vidcolor.stages import start_device_service

log = logging.getLogger("vidcolor")

# How long the services may take to be placed and to load their networks: an actor waits for its GPU while
# other work holds it, and the render would wait with it, silently.
START_TIMEOUT_S = 300

NodeServices = dict[str, list[ServiceAddress]]  # a node's id: the addresses of its services, one per GPU


class DeviceServiceFailed(HandedOn):
    """A node's device service did not start (its one-line message and exit code: a weight file missing there)."""


@dataclass
class NodeDevices:
    """The services started on the cluster's nodes: where each listens, and the actors that hold them."""

    services: NodeServices
    actors: list[Any]

    @property
    def count(self) -> int:
        return len(self.actors)

    def close(self) -> None:
        """Stop every service (each says what it answered) and end its actor; once."""
        actors, self.actors = self.actors, []
        if not actors or not ray.is_initialized():
            return
        with contextlib.suppress(Exception):  # a node lost meanwhile: its actor is gone with it
            for node, device, requests, batches, largest in ray.get([a.close.remote() for a in actors], timeout=30):
                log.info("device service on node %s (%s): %d keyframe requests in %d batches (largest %d)",
                         node[:8], device, requests, batches, largest)  # fmt: skip
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)


@contextlib.contextmanager
def node_devices(settings: Settings, automatic: bool, on_gpus: bool) -> Iterator[NodeDevices]:
    """One device service on each GPU of every live node (``on_gpus``), or on every live node, while entered."""
    holder: Any = ray.remote(_Service)
    actors: list[Any] = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        placed = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        gpus = int(node.get("Resources", {}).get("GPU", 0))
        for _ in range(gpus if on_gpus else 1):
            resources = {"num_gpus": 1, "num_cpus": 0} if on_gpus else {"num_cpus": 0}
            actors.append(holder.options(scheduling_strategy=placed, **resources).remote(settings, automatic))
    devices = NodeDevices({}, actors)
    try:
        try:
            started = ray.get([a.where.remote() for a in actors], timeout=START_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            raise DeviceServiceFailed(
                f"the device services of {len(actors)} {'GPUs' if on_gpus else 'nodes'} did not start within "
                f"{START_TIMEOUT_S} s (held by other work?); --share-device off renders without them",
                StageError.exit_code,  # a stage that cannot run, not a bug
            ) from None
        for node_id, address, error in started:
            if error is not None:
                raise DeviceServiceFailed(*error)
            devices.services.setdefault(node_id, []).append(address)
        yield devices
    finally:
        devices.close()


def render_on_node(task: SegmentTask, services: NodeServices) -> SegmentOutcome:
    """:func:`~vidcolor.film.worker.render_segment`, the keyframes solved by a service of the task's own node."""
    mine = services.get(ray.get_runtime_context().get_node_id())
    if mine:
        task = replace(task, solve_service=mine[task.segment.number % len(mine)])
    return render_segment(task)


class _Service:
    """A Ray actor holding one device service (its GPU, when it was given one)."""

    def __init__(self, settings: Settings, automatic: bool) -> None:
        self._error: tuple[str, int] | None = None
        self._service: Any = None  # the DeviceService, once started
        try:
            # Ray gives an actor's process one thread (OMP_NUM_THREADS from its CPUs); a service solves for every
            # task of its node, so on the CPU it takes the node's cores, as a single run's solver does (and so
            # rounds as one does: on this node, the single run's frames at --crf 0).
            service = start_device_service(settings, automatic, cpu_threads=cores())
        except VidcolorError as exc:  # told to the driver by where(), not lost in a dead actor's log
            self._error = (exc.message, exc.exit_code)
            return
        assert service is not None, "started only for a run that holds a network (stages.shares_a_network)"
        self._service = service.__enter__()

    def where(self) -> tuple[str, ServiceAddress | None, tuple[str, int] | None]:
        address = self._service.address if self._service is not None else None
        return ray.get_runtime_context().get_node_id(), address, self._error

    def close(self) -> tuple[str, str, int, int, int]:
        """The node, the device (on the CPU: with torch's threads), what was answered."""
        node = ray.get_runtime_context().get_node_id()
        if self._service is None:
            return node, "none", 0, 0, 0
        self._service.close()
        stats, device = self._service.stats, self._service.device
        if device == "cpu":
            import torch  # loaded by the service's networks

            device = f"cpu, {torch.get_num_threads()} threads"
        return node, device, stats.requests, len(stats.batches), stats.largest
