"""Hard-cut detection on luma alone (the input is black and white).

A cut is where the luma histogram jumps far more than it does between neighbouring frames
of one shot. Scores are computed on a 64-pixel-wide thumbnail, so detection costs well under
a millisecond per frame.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_WIDTH = 64


def thumbnail(plane: np.ndarray) -> np.ndarray:
    """A small float32 thumbnail ``(h, 64)`` of a luma plane (any sample type), in the plane's own units.

    Its height follows the aspect ratio, at most four times the width (a 16x4000 frame stays small).
    """
    h, w = plane.shape
    size = (THUMB_WIDTH, min(max(1, round(h * THUMB_WIDTH / w)), 4 * THUMB_WIDTH))
    return cv2.resize(plane.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def cut_score(a: np.ndarray, b: np.ndarray) -> float:
    """Dissimilarity of two thumbnails in [0, 1]: half the histogram distance plus half the pixel change.

    The histogram term ignores motion; the pixel term catches cuts between shots of similar
    tone. A cut needs both, so fast pans (pixel change, same histogram) do not count.
    """
    ha = np.histogram(a, bins=32, range=(0.0, 1.0))[0].astype(np.float32) / a.size
    hb = np.histogram(b, bins=32, range=(0.0, 1.0))[0].astype(np.float32) / b.size
    hist = 0.5 * float(np.abs(ha - hb).sum())
    pixel = float(np.abs(a - b).mean()) * 4.0
    return 0.5 * hist + 0.5 * min(pixel, 1.0)


class CutDetector:
    """Online: ``is_cut(thumb)`` for each frame in order; a cut starts a new shot.

    A cut needs a score above ``threshold`` and several times the recent average, and shots
    shorter than ``min_shot`` frames are not split again (a flash is not a shot).
    """

    def __init__(self, threshold: float = 0.3, min_shot: int = 6, ratio: float = 2.0) -> None:
        self.threshold = threshold
        self.min_shot = min_shot
        self.ratio = ratio
        self._prev: np.ndarray | None = None
        self._recent: list[float] = []
        self._since_cut = 0
        self.last_score = 0.0  # the score of the last frame seen against the one before it

    def is_cut(self, thumb: np.ndarray) -> bool:
        prev, self._prev = self._prev, thumb
        if prev is None:
            return False
        self._since_cut += 1
        score = self.last_score = cut_score(prev, thumb)
        baseline = float(np.mean(self._recent)) if self._recent else 0.0
        cut = score > self.threshold and score > self.ratio * baseline and self._since_cut >= self.min_shot
        if cut:
            self._since_cut = 0
            self._recent = []
        else:
            self._recent = ([*self._recent, score])[-8:]
        return cut
