"""The segmenter interface: an image in, soft region masks out, regions paired by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np

from vidcolor.errors import StageError
from vidcolor.registry import NoOptions, RunContext, StageRegistry

if TYPE_CHECKING:
    from typing import Self


class SegmentationError(StageError):
    """A segmenter could not run (a model that fails to load or run)."""


@dataclass(frozen=True)
class RegionMasks:
    """Soft masks of named regions over one image.

    Attributes:
        names: region names, shared vocabulary across segmenters (``skin``, ``hair``, ``background``...).
        weights: ``(R, H, W)`` float32 in [0, 1]; at every pixel the R weights sum to 1, so regions
            leave no holes and blending by them is a partition of unity.
    """

    names: tuple[str, ...]
    weights: np.ndarray

    def __post_init__(self) -> None:
        if self.weights.ndim != 3 or self.weights.shape[0] != len(self.names):
            raise ValueError(f"weights must be (R={len(self.names)}, H, W), got {self.weights.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape[1], self.weights.shape[2]

    @classmethod
    def whole(cls, height: int, width: int) -> RegionMasks:
        """One region covering the image: what every segmenter degrades to."""
        return cls(("whole",), np.ones((1, height, width), np.float32))

    def resized(self, height: int, width: int) -> RegionMasks:
        if (height, width) == self.shape:
            return self
        planes = [cv2.resize(w, (width, height), interpolation=cv2.INTER_LINEAR) for w in self.weights]
        weights = np.stack(planes)
        weights /= np.maximum(weights.sum(axis=0, keepdims=True), 1e-6)
        return RegionMasks(self.names, weights.astype(np.float32))

    def hard(self) -> np.ndarray:
        """``(H, W)`` int index of the dominant region at each pixel."""
        return np.argmax(self.weights, axis=0)


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
