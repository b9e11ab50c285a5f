"""Chroma brought from work or solve size up to a larger luma without bleeding across its edges."""

from __future__ import annotations

import cv2
import numpy as np


def chroma_to_size(chroma: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """Resize unit chroma ``(h, w, 2)`` to the size of unit luma ``(H, W)``, then guided-filter it by that luma.

    The guided filter (He et al.) snaps the interpolated chroma to the full-size luma's edges.
    """
    h, w = luma.shape
    if chroma.shape[:2] == (h, w):
        return chroma.astype(np.float32)
    scale = max(h / chroma.shape[0], w / chroma.shape[1])
    up = cv2.resize(chroma.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    guide = np.clip(luma * 255.0, 0, 255).astype(np.uint8)
    return cv2.ximgproc.guidedFilter(guide, up, max(2, round(scale)), 1e-3 * 255**2).astype(np.float32)
