"""Images sampled at given positions (bilinear, edges replicated), and the identity grid positions start from:
what carrying colour along a flow, checking a flow's trust and warping masks all do."""

from __future__ import annotations

import functools

import cv2
import numpy as np


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` ``(H, W[, C])`` at ``grid + flow`` (bilinear, edges replicated): where a backward ``flow``
    ``(H, W, 2)`` says each pixel comes from."""
    return sample(image, positions_of(flow))


def sample(image: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Sample ``image`` ``(H, W[, C])`` at absolute ``positions`` ``(h, w, 2)`` (x, y; bilinear, edges replicated)."""
    # One two-channel map (no second map): cv2's stubs do not allow the None that OpenCV takes.
    return cv2.remap(image, positions, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # type: ignore[call-overload]


def positions_of(flow: np.ndarray) -> np.ndarray:
    """Absolute sampling positions ``grid + flow`` ``(h, w, 2)`` float32."""
    return identity_positions(*flow.shape[:2]) + flow


@functools.lru_cache(maxsize=4)
def identity_positions(h: int, w: int) -> np.ndarray:
    """``(h, w, 2)`` float32: each pixel's own (x, y). Read-only: it is shared."""
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
    grid.setflags(write=False)
    return grid
