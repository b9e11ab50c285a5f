"""The edge-aware smoother (OpenCV's fast global smoother, Min et al. 2014) that spreads trusted colour and
smooths the exemplar colorizer's matches, run so that it repeats itself bit for bit.

Its result depends on how many of OpenCV's threads take part: with the pool busy (a flow computed in a side
thread at the same moment) it runs in the caller alone and rounds differently, so one run could differ from
the next, and a shot-parallel render from the serial one, by a unit in a few chroma samples. It always runs
with one OpenCV thread here (6.2 ms instead of 5.7 for a 480x270 keyframe; the run's own threads keep the
cores busy).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

# OpenCV's thread count is the process's: one smoother at a time sets it and puts it back.
_THREADS = threading.Lock()


def smooth_along(guide: np.ndarray, data: np.ndarray, strength: float, sigma: float) -> np.ndarray:
    """``data`` ``(h, w[, c])`` float32 smoothed where the uint8 ``guide`` ``(h, w)`` is flat, not across its
    edges; ``strength`` is the smoother's lambda, ``sigma`` its edge sigma in 8-bit luma steps."""
    with _THREADS:
        before = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            return cv2.ximgproc.fastGlobalSmootherFilter(guide, data, strength, sigma)
        finally:
            cv2.setNumThreads(before)
