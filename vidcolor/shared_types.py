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

    The positions may be carried on a coarser grid than the keyframe's (flow size below work size): they
    still point into the keyframe's own chroma, so its detail is sampled, not blurred, whatever the grid.

    Attributes:
        source: the keyframe's unit chroma ``(H, W, 2)`` float32.
        positions: ``(h, w, 2)`` float32: where each pixel of this frame is on the keyframe (x, y, in the
            keyframe's pixels).
        confidence: ``(h, w)`` float32 in [0, 1] (1 on the keyframe itself).
    """

    source: np.ndarray
    positions: np.ndarray
    confidence: np.ndarray

    @property
    def chroma(self) -> np.ndarray:
        """Unit chroma ``(h, w, 2)`` on this frame (on the grid of its positions)."""
        return sample(self.source, self.positions)

    @property
    def flow(self) -> np.ndarray:
        """The accumulated flow ``(h, w, 2)`` from this frame back to the keyframe (on the keyframe's grid)."""
        if self.positions.shape[:2] != self.source.shape[:2]:
            raise ValueError("the accumulated flow needs the keyframe's grid: take at_grid() first")
        return self.positions - identity_positions(*self.positions.shape[:2])

    def at_grid(self, height: int, width: int) -> Propagated:
        """The same carried colour on a grid of ``(height, width)`` (the positions' values do not change: they
        are the keyframe's pixels; both maps are resized bilinearly)."""
        if self.positions.shape[:2] == (height, width):
            return self
        positions = cv2.resize(self.positions, (width, height), interpolation=cv2.INTER_LINEAR)
        confidence = cv2.resize(self.confidence, (width, height), interpolation=cv2.INTER_LINEAR)
        return Propagated(self.source, positions, confidence)

    @classmethod
    def anchor(
        cls, chroma: np.ndarray, certainty: np.ndarray | None = None, grid: tuple[int, int] | None = None
    ) -> Propagated:
        """A keyframe's chroma on the keyframe itself; ``certainty`` ``(h, w)`` says how sure its colour is (1);
        ``grid`` ``(h, w)``: the grid to carry it on, when coarser than the keyframe's."""
        h, w = chroma.shape[:2]
        source = np.ascontiguousarray(chroma, np.float32)
        confidence = np.ones((h, w), np.float32) if certainty is None else certainty.astype(np.float32, copy=True)
        if grid is None or grid == (h, w):
            return cls(source, identity_positions(h, w).copy(), confidence)
        gh, gw = grid
        # A grid pixel's centre on the keyframe (cv2.resize's convention: at_grid() brings back the identity inside
        # the border, where the outermost pixels are half a grid pixel from the first centres).
        scale = np.array([w / gw, h / gh], np.float32)
        positions = (identity_positions(gh, gw) + np.float32(0.5)) * scale - np.float32(0.5)
        small = cv2.resize(confidence, (gw, gh), interpolation=cv2.INTER_AREA)
        return cls(source, positions.astype(np.float32), small)
