"""The keyframe colorizer interface: keyframe, reference, masks and previous result in; chroma out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from vidcolor.errors import VidcolorError
from vidcolor.registry import Registry
from vidcolor.segment.base import RegionMasks
from vidcolor.temporal.propagate import Propagated


class SolverError(VidcolorError):
    """A keyframe colorizer could not run (bad options, missing feature network)."""


@dataclass(frozen=True)
class Reference:
    """The colour reference, decomposed once per run.

    Attributes:
        luma: unit luma ``(H, W)`` float32.
        chroma: unit chroma ``(H, W, 2)`` float32.
        masks: its regions, from the same segmenter as the keyframes (regions pair by name).
    """

    luma: np.ndarray
    chroma: np.ndarray
    masks: RegionMasks


@dataclass(frozen=True)
class Keyframe:
    """A keyframe to colorize at work size: unit luma ``(h, w)`` float32 and its regions."""

    luma: np.ndarray
    masks: RegionMasks


@dataclass(frozen=True)
class SolverOptions:
    """Options every colorizer factory receives; each uses the ones that concern it.

    The optimization solver reads them all (CLI: --features, --clip, --iterations, --solve-size).
    """

    device: str = "auto"
    features: str = "auto"
    clip: bool = False
    clip_prompts: bool = False
    weights_dir: str | None = None
    iterations: int = 40
    warm_start: bool = True
    solve_size: int = 256
    learning_rate: float = 0.01
    style_weight: float = 1.0
    content_weight: float = 0.0
    clip_weight: float = 0.1
    smooth_weight: float = 2.0
    temporal_weight: float = 4.0
    gamut_weight: float = 20.0
    continuity: float = 0.85
    plateau: float = 2e-3
    patience: int = 6
    seed: int = 0


class KeyframeColorizer(ABC):
    """Colorizes one keyframe from the reference.

    ``previous`` is the last keyframe's result carried to this frame by optical flow (with its
    confidence), or None at a shot start: implementations use it as a warm start and to keep
    colours steady across keyframes of one shot.
    """

    name: ClassVar[str]

    @abstractmethod
    def colorize(self, keyframe: Keyframe, reference: Reference, previous: Propagated | None) -> np.ndarray:
        """Unit chroma ``(h, w, 2)`` float32 for ``keyframe`` (luma is never changed)."""


COLORIZERS: Registry[KeyframeColorizer] = Registry("keyframe colorizer")
