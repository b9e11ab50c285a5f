"""The keyframe colorizer interface (keyframe, reference, masks and previous result in; chroma out),
and the plumbing every colorizer shares: sizes, region pairing, keeping carried colour."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import cv2
import numpy as np

from vidcolor.errors import StageError
from vidcolor.registry import RunContext, StageRegistry
from vidcolor.segment.regions import counterpart
from vidcolor.shared_types import Keyframe, Propagated, Reference, Trusted
from vidcolor.solver.options import SolverOptions

if TYPE_CHECKING:
    from typing import Self

# A reference region smaller than this fraction of the image (or 16 pixels) is too small to
# stand for its counterpart: the whole reference is used instead.
MIN_REGION_FRACTION = 0.002


class SolverError(StageError):
    """A keyframe colorizer could not run (a missing feature network, a failing model)."""


def reference_region(reference: Reference, name: str) -> np.ndarray:
    """Boolean ``(H, W)``: the pixels of ``reference`` a keyframe region called ``name`` takes colour from.

    Its counterpart region by name (see :func:`~vidcolor.segment.regions.counterpart`), or the
    whole reference when there is none or it is too small to stand for it.
    """
    masks = reference.masks
    partner = counterpart(name, masks.names)
    if partner is not None:
        region = masks.hard() == masks.names.index(partner)
        if region.sum() >= max(16, MIN_REGION_FRACTION * region.size):
            return region
    return np.ones(reference.luma.shape, bool)


def keep_carried(chroma: np.ndarray, previous: Propagated | None, continuity: float) -> np.ndarray:
    """Mix the colour carried from the previous keyframe into ``chroma`` ``(h, w, 2)`` where it is trusted.

    ``previous`` may be at a larger size than ``chroma`` (it is brought down to it).

    The previous result's weight is ``continuity`` times its flow confidence, so a keyframe keeps
    the colour of the shot where the carry held and takes new colour where it did not.
    """
    if previous is None or continuity <= 0:
        return chroma.astype(np.float32)
    carried, confidence = previous.chroma, previous.confidence
    h, w = chroma.shape[:2]
    if carried.shape[:2] != (h, w):  # a solve below work size
        carried = cv2.resize(carried, (w, h), interpolation=cv2.INTER_AREA)
        confidence = cv2.resize(confidence, (w, h), interpolation=cv2.INTER_AREA)
    keep = (continuity * confidence)[..., None]
    return (keep * carried + (1.0 - keep) * chroma).astype(np.float32)


class KeyframeColorizer(ABC):
    """Colorizes one keyframe from the reference.

    ``previous`` is the last keyframe's result carried to this frame by optical flow (with its
    confidence), or None at a shot start: implementations use it as a warm start and to keep
    colours steady across keyframes of one shot.
    """

    name: ClassVar[str]

    # Every colorizer takes the colorizer stage's options (what it does not read, it ignores).
    options_type: ClassVar[type[SolverOptions]] = SolverOptions

    @classmethod
    def create(cls, options: SolverOptions, context: RunContext) -> Self:
        """Build the colorizer for a run (the registry's one signature); override to read its options."""
        return cls()

    @abstractmethod
    def colorize(self, keyframe: Keyframe, reference: Reference, previous: Propagated | None) -> np.ndarray:
        """Unit chroma ``(h, w, 2)`` float32 for ``keyframe`` (luma is never changed)."""

    def refine(
        self, keyframe: Keyframe, reference: Reference, previous: Propagated | None, trusted: Trusted
    ) -> np.ndarray:
        """Like :meth:`colorize`, for a keyframe that already has ``trusted`` colour in places (what the
        pipeline calls). By default the trusted colour is not looked at; a refining colorizer overrides this."""
        return self.colorize(keyframe, reference, previous)

    def identity(self) -> dict[str, str]:
        """What decides this colorizer's colours beyond the settings (networks, their weight files'
        digests): part of the keyframe cache's key, so fetching a weight file never reuses old keyframes."""
        return {"colorizer": self.name}


COLORIZERS: StageRegistry[KeyframeColorizer] = StageRegistry("keyframe colorizer", "colorizer")
