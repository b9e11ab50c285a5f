"""The run's pluggable stages, built by registry name from their own options in the settings, with the device
resolved once and handed to them in the run's context."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidcolor.device import resolve_device
from vidcolor.errors import StageError
from vidcolor.registry import NoOptions, RunContext, StageRegistry
from vidcolor.segment import SEGMENTERS, Segmenter
from vidcolor.solver import COLORIZERS, KeyframeColorizer
from vidcolor.temporal.flow import FLOWS, FlowEstimator

if TYPE_CHECKING:
    from vidcolor.settings import Settings
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


def build_stages(
    settings: Settings,
    *,
    segmenter: Segmenter | None = None,
    colorizer: KeyframeColorizer | None = None,
    flow: FlowEstimator | None = None,
) -> Stages:
    """Build every stage not given from ``settings``.

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
    context = RunContext(device, settings.weights_dir)
    match_options = dataclasses.replace(settings.flow_options, preset=MATCH_FLOW_PRESET)
    return Stages(
        segmenter=segmenter or build_segmenter(settings, context),
        colorizer=colorizer or COLORIZERS.create(settings.colorizer, settings.solver, context),
        flow=flow or FLOWS.create(settings.flow, settings.flow_options, context),
        device=device,
        match_flow=FLOWS.create(settings.flow, match_options, context),
    )


def build_segmenter(settings: Settings, context: RunContext | None = None) -> Segmenter:
    """The run's segmenter alone (the studio's region view needs no other stage); segmenters have no options."""
    return SEGMENTERS.create(settings.segmenter, NoOptions(), context or RunContext(weights_dir=settings.weights_dir))


def build_automatic(settings: Settings, matrix: str) -> AutomaticColorizer:
    """The colorization network for runs with neither references nor hints (torch and its file required)."""
    try:
        from vidcolor.solver.zhang import AutomaticColorizer
    except ImportError as exc:
        raise StageError(
            f"automatic colour (no --style, no --hints) needs torch ({exc}); pip install 'vidcolor[solver]'"
        ) from exc
    return AutomaticColorizer.from_weights(
        settings.weights_dir, resolve_device(settings.device), matrix, settings.auto_model
    )


_BUILT: dict[str, Stages] = {}


def stages_for(settings: Settings) -> Stages:
    """A worker process's stages for ``settings``: built on first use, then kept (models load once per worker;
    other settings replace them)."""
    key = repr(settings)
    if key not in _BUILT:
        _BUILT.clear()
        _BUILT[key] = build_stages(settings)
    return _BUILT[key]
