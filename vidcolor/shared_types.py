"""The data every stage passes to the others: an image's regions, the colour reference, a keyframe to colour,
the colour it already has, and colour carried along the flow. Plain data with the arithmetic of their own shape
(resizing, sampling), in one neutral module, so the segmenters, colorizers, the matcher and the temporal stages
hand them to each other without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.geometry import size_within
from vidcolor.sampling import identity_positions, sample


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


@dataclass(frozen=True)
class Reference:
    """The colour reference, decomposed once per run.

    Attributes:
        luma: unit luma ``(H, W)`` float32.
        chroma: unit chroma ``(H, W, 2)`` float32, in the output's Y'CbCr matrix.
        masks: its regions, from the same segmenter as the keyframes (regions pair by name).
        matrix: the Y'CbCr matrix of ``chroma`` (``bt601`` or ``bt709``), so RGB can be recomposed.
    """

    luma: np.ndarray
    chroma: np.ndarray
    masks: RegionMasks
    matrix: str = "bt601"

    def at_size(self, long_side: int) -> Reference:
        """The reference scaled down so its long side is at most ``long_side`` (area averaging)."""
        h, w = self.luma.shape
        rh, rw = size_within(h, w, long_side)
        if (rh, rw) == (h, w):
            return self
        luma = cv2.resize(self.luma, (rw, rh), interpolation=cv2.INTER_AREA)
        chroma = cv2.resize(self.chroma, (rw, rh), interpolation=cv2.INTER_AREA)
        return Reference(luma, chroma, self.masks.resized(rh, rw), self.matrix)


@dataclass(frozen=True)
class Keyframe:
    """A keyframe to colorize at work size: unit luma ``(h, w)`` float32 and its regions."""

    luma: np.ndarray
    masks: RegionMasks

    def at_size(self, long_side: int) -> Keyframe:
        """The keyframe scaled down so its long side is at most ``long_side`` (area averaging)."""
        h, w = self.luma.shape
        sh, sw = size_within(h, w, long_side)
        if (sh, sw) == (h, w):
            return self
        return Keyframe(cv2.resize(self.luma, (sw, sh), interpolation=cv2.INTER_AREA), self.masks.resized(sh, sw))


TRUSTED_ABOVE = 0.5
"""A keyframe pixel whose certainty is above this shows what its trusted source shows (the reference's content,
the carried colour): the spreading starts from such pixels, the exemplar takes its statistics over them."""


@dataclass(frozen=True)
class Trusted:
    """Colour a keyframe already has from trusted sources (the reference through a dense match, the
    carried colour), at work size: chroma ``(h, w, 2)`` and how sure each pixel is ``(h, w)`` in [0, 1]."""

    chroma: np.ndarray
    certainty: np.ndarray


@dataclass(frozen=True)
class Propagated:
    """A keyframe's chroma carried to a later (or earlier) frame, with how much to trust it.

    Chroma is not warped step by step: each bilinear resampling blurs it, and after dozens of
    frames the colour washes out. Where each pixel is on the keyframe is carried instead (these
    positions are smooth, so resampling them costs little) and chroma is sampled once.

    Attributes:
        source: the keyframe's unit chroma ``(h, w, 2)`` float32.
        positions: ``(h, w, 2)`` float32: where each pixel of this frame is on the keyframe (x, y).
        confidence: ``(h, w)`` float32 in [0, 1] (1 on the keyframe itself).
    """

    source: np.ndarray
    positions: np.ndarray
    confidence: np.ndarray

    @property
    def chroma(self) -> np.ndarray:
        """Unit chroma ``(h, w, 2)`` on this frame."""
        return sample(self.source, self.positions)

    @property
    def flow(self) -> np.ndarray:
        """The accumulated flow ``(h, w, 2)`` from this frame back to the keyframe."""
        return self.positions - identity_positions(*self.positions.shape[:2])

    @classmethod
    def anchor(cls, chroma: np.ndarray, certainty: np.ndarray | None = None) -> Propagated:
        """A keyframe's chroma on the keyframe itself; ``certainty`` ``(h, w)`` says how sure its colour is (1)."""
        h, w = chroma.shape[:2]
        confidence = np.ones((h, w), np.float32) if certainty is None else certainty.astype(np.float32, copy=True)
        return cls(np.ascontiguousarray(chroma, np.float32), identity_positions(h, w).copy(), confidence)
