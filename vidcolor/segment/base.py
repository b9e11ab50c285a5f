"""The segmenter interface: an image in, soft region masks out, regions paired by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vidcolor.errors import StageError
from vidcolor.registry import NoOptions, RunContext, StageRegistry
from vidcolor.shared_types import RegionMasks

if TYPE_CHECKING:
    from typing import Self


class SegmentationError(StageError):
    """A segmenter could not run (a model that fails to load or run)."""


class Segmenter(ABC):
    """Splits an image into named soft regions; runs on keyframes and on the reference alike."""

    name: ClassVar[str]

    # No segmenter has options of its own today; one that has declares its dataclass here.
    options_type: ClassVar[type[Any]] = NoOptions

    @classmethod
    def create(cls, options: Any, context: RunContext) -> Self:
        """Build the segmenter for a run (the registry's one signature); override to read the context."""
        return cls()

    @abstractmethod
    def segment(self, luma: np.ndarray, rgb: np.ndarray | None = None) -> RegionMasks:
        """Masks for an image.

        Args:
            luma: unit luma ``(H, W)`` float32.
            rgb: the colour image ``(H, W, 3)`` in [0, 1] when there is one (the reference).
        """


SEGMENTERS: StageRegistry[Segmenter] = StageRegistry("segmenter", "segmenter")


@SEGMENTERS.register("whole")
class WholeImageSegmenter(Segmenter):
    """No segmentation: the image is one region (global transfer)."""

    name = "whole"

    def segment(self, luma: np.ndarray, rgb: np.ndarray | None = None) -> RegionMasks:
        return RegionMasks.whole(*luma.shape)
