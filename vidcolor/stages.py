"""The run's pluggable stages, built by registry name from their own options in the settings, with the device
resolved once and handed to them in the run's context."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidcolor.device import resolve_device
from vidcolor.errors import StageError, UsageError
from vidcolor.registry import NoOptions, RunContext, ServiceAddress, StageRegistry
from vidcolor.segment import SEGMENTERS, Segmenter
from vidcolor.solver import COLORIZERS, KeyframeColorizer
from vidcolor.temporal.flow import FLOWS, FlowEstimator

if TYPE_CHECKING:
    from vidcolor.settings import Settings
    from vidcolor.solver.device_service import DeviceService
    from vidcolor.solver.zhang import AutomaticColorizer

log = logging.getLogger("vidcolor")
# A keyframe and a reference photograph of its scene are further apart than two neighbouring frames.
MATCH_FLOW_PRESET = "medium"


def check_stage_names(settings: Settings) -> None:
    """Raise :class:`~vidcolor.errors.SettingError` for a stage name no registry knows."""
    SEGMENTERS.check(settings.segmenter)
    COLORIZERS.check(settings.colorizer)
    FLOWS.check(settings.flow)


@dataclass(frozen=True)
class Stages:
    """The stages of one run and the device the torch stages among them use (``cpu`` when none does)."""

    segmenter: Segmenter
    colorizer: KeyframeColorizer
    flow: FlowEstimator
    device: str
    # The same estimator for keyframe-to-reference matching, at the preset for the larger motion between a
    # keyframe and a photograph of its scene.
    match_flow: FlowEstimator
    # The device service this worker's keyframes are solved in (None: this process's own networks).
    solve_service: ServiceAddress | None = None


def build_stages(
    settings: Settings,
    *,
    segmenter: Segmenter | None = None,
    colorizer: KeyframeColorizer | None = None,
    flow: FlowEstimator | None = None,
    solve_service: ServiceAddress | None = None,
) -> Stages:
    """Build every stage not given from ``settings`` (with ``solve_service``, the colorizer solves in it).

    torch is imported only when a chosen stage needs it: resolving ``device="auto"`` asks torch
    for a GPU, and that import alone costs about a second.
    """
    chosen: list[tuple[StageRegistry[Any], str, object | None]] = [
        (SEGMENTERS, settings.segmenter, segmenter),
        (COLORIZERS, settings.colorizer, colorizer),
        (FLOWS, settings.flow, flow),
    ]
    for registry, name, given in chosen:
        if given is None:
            registry.load(name)  # imports a lazily registered stage; a missing package is a StageError here
    uses_torch = any(given is None and registry.needs_torch(name) for registry, name, given in chosen)
    device = resolve_device(settings.device) if uses_torch else "cpu"
    if not uses_torch and settings.device == "cuda":
        log.info("no chosen stage runs on torch; device=cuda has nothing to do")
    context = RunContext(device, settings.weights_dir, solve_service)
    match_options = dataclasses.replace(settings.flow_options, preset=MATCH_FLOW_PRESET)
    return Stages(
        segmenter=segmenter or build_segmenter(settings, context),
        colorizer=colorizer or COLORIZERS.create(settings.colorizer, settings.solver, context),
        flow=flow or FLOWS.create(settings.flow, settings.flow_options, context),
        device=device,
        match_flow=FLOWS.create(settings.flow, match_options, context),
        solve_service=solve_service,
    )


def build_segmenter(settings: Settings, context: RunContext | None = None) -> Segmenter:
    """The run's segmenter alone (the studio's region view needs no other stage); segmenters have no options."""
    return SEGMENTERS.create(settings.segmenter, NoOptions(), context or RunContext(weights_dir=settings.weights_dir))


def build_automatic(settings: Settings, matrix: str, solve_service: ServiceAddress | None = None) -> AutomaticColorizer:
    """The colorization network for runs with neither references nor hints (torch and its file required); with
    ``solve_service``, the network runs there."""
    try:
        from vidcolor.solver.zhang import AutomaticColorizer
    except ImportError as exc:
        raise StageError(
            f"automatic colour (no --style, no --hints) needs torch ({exc}); pip install 'vidcolor[solver]'"
        ) from exc
    if solve_service is not None:
        from vidcolor.solver.device_service import ServiceNetwork

        network = ServiceNetwork(solve_service)
        return AutomaticColorizer(network, matrix, network.identity())
    return AutomaticColorizer.from_weights(
        settings.weights_dir, resolve_device(settings.device), matrix, settings.auto_model
    )


SHARE_DEVICE = ("auto", "on", "off")
"""Whether a shot-parallel render's workers solve their keyframes in one device service: ``auto`` when there
are two local workers or more (on a GPU: one copy of the networks, batches; on the CPU: one process's threads
instead of N processes' each taking every core, measured 2.4x faster with 2 workers on 2 cores), and on a Ray
cluster with GPUs (a service on each GPU, each node's tasks sharing its node's: ``film.ray_devices``); ``on``
even with one local worker or no GPU (Ray: a service on each node), ``off`` never (each worker loads its own
networks)."""


def check_share_device(share: str, executor: str) -> None:
    """:class:`UsageError` for a ``share`` not in :data:`SHARE_DEVICE`."""
    if share not in SHARE_DEVICE:
        raise UsageError(f"--share-device {share}: give one of {', '.join(SHARE_DEVICE)}")


def shares_a_network(settings: Settings, automatic: bool) -> bool:
    """Whether a device service would hold a network of the run: the optim colorizer's engine, or the automatic
    network (``automatic``: some shot is coloured by it)."""
    return automatic or settings.colorizer == "optim"


def device_service_for(
    settings: Settings, automatic: bool, workers: int, share: str, executor: str = "local"
) -> DeviceService | None:
    """The device service ``workers`` workers of ``executor`` should share under ``share`` (see
    :data:`SHARE_DEVICE`), or None. This is for worker processes of this machine (Ray's tasks share their
    nodes' services: ``film.ray_devices``; the inline executor is one process already), and only keyframe
    networks a service holds count (the optim colorizer's, the automatic network)."""
    check_share_device(share, executor)
    if share == "off" or executor != "local" or (share == "auto" and workers < 2):
        return None
    service = start_device_service(settings, automatic)
    if service is None:
        if share == "on":
            log.info("--share-device on: the %s colorizer has no network to share; each worker runs its own",
                     settings.colorizer)  # fmt: skip
        return None
    log.info("keyframes of the %d workers solved together on %s (their networks loaded once, there)", workers,
             service.device)  # fmt: skip
    return service


def start_device_service(settings: Settings, automatic: bool, cpu_threads: int | None = None) -> DeviceService | None:
    """A device service holding the run's keyframe networks (the colorizer's engine, the automatic network
    when ``automatic``) on its device, not yet listening (enter it); None when the run has neither. Weight
    files are checked here, before any worker starts. ``cpu_threads``: torch's threads, where the device is the
    CPU (None: this process's as they are)."""
    if not shares_a_network(settings, automatic):
        return None
    from vidcolor.solver.device_service import DeviceService, network_handler, optim_handler
    from vidcolor.solver.optim_engine import OptimEngine

    device = resolve_device(settings.device)
    if device == "cpu" and cpu_threads is not None:
        import torch  # loaded already, by the solver's modules

        torch.set_num_threads(cpu_threads)
    handlers = {}
    identity: dict[str, object] = {}
    if settings.colorizer == "optim":
        engine = OptimEngine(settings.solver, device=device, weights_dir=settings.weights_dir)
        handlers["optim"] = optim_handler(engine)
        identity["optim"] = engine.identity()
    if automatic:
        from vidcolor.solver.zhang import AutomaticNetwork, load_checked

        network, name = load_checked(settings.weights_dir, settings.auto_model)
        handlers["auto"] = network_handler(AutomaticNetwork(network, device))
        identity["auto"] = name
    return DeviceService(handlers, identity, device)


_BUILT: dict[str, Stages] = {}


def stages_for(settings: Settings, solve_service: ServiceAddress | None = None) -> Stages:
    """A worker process's stages for ``settings`` (solving in ``solve_service`` when given): built on first use,
    then kept (models load once per worker; other settings replace them)."""
    key = repr((settings, solve_service))
    if key not in _BUILT:
        _BUILT.clear()
        _BUILT[key] = build_stages(settings, solve_service=solve_service)
    return _BUILT[key]
