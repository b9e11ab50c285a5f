"""Hard-cut detection on luma alone (the input is black and white), blind to film damage.

A cut is where the picture's *structure* jumps far more than it does between neighbouring frames of
one shot. Archive film changes in other ways from frame to frame, and none of them is a cut:

- exposure flicker and fades change the level and contrast of the whole frame: each thumbnail's
  structure is compared after it is normalised to zero mean and unit contrast (``prepared``), and its
  level counts only where it jumps further than flicker moves it;
- dust specks and thin scratches are a few pixels: a 3x3 median on the 64-pixel thumbnail removes them;
- a flash (one over-exposed or damaged frame) differs from both neighbours, which resemble each other:
  a cut is confirmed only once the next frame is seen, and refused when that frame resembles the one
  before the candidate (:meth:`CutDetector.scan`, one frame of look-ahead).

Scores are computed on a 64-pixel-wide thumbnail, so detection costs well under a millisecond a frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np

THUMB_WIDTH = 64
CONTRAST_FLOOR = 0.03  # unit luma: a near-flat frame (a fade's end) is not stretched into amplified noise
# Earth mover's distance between the normalised value distributions of two shots' frames (0.2-0.35 across
# the cuts measured; within a shot, below 0.1): a change of this much counts fully.
DISTRIBUTION_CHANGE = 0.4
# Level: |log| of the ratio of two frames' mean luma (each plus LEVEL_FLOOR, so that dark frames' noise is no
# jump). Flicker of +-7 % moves it by up to 0.14; beyond FLICKER_LEVEL a jump counts, fully at +LEVEL_CHANGE.
LEVEL_FLOOR = 0.1
FLICKER_LEVEL = 0.15
LEVEL_CHANGE = 0.3
UNRELATED_CHANGE = 1.128  # mean |a - b| of two independent unit normals (2/sqrt(pi)): unrelated frames

T = TypeVar("T")


def thumbnail(plane: np.ndarray) -> np.ndarray:
    """A small float32 thumbnail ``(h, 64)`` of a luma plane (any sample type), in the plane's own units.

    Its height follows the aspect ratio, at most four times the width (a 16x4000 frame stays small).
    """
    h, w = plane.shape
    size = (THUMB_WIDTH, min(max(1, round(h * THUMB_WIDTH / w)), 4 * THUMB_WIDTH))
    if plane.dtype in (np.uint8, np.uint16):
        # Decoded samples are averaged as integers (rounded to the nearest sample, far below what a cut or a
        # placement notices): converting a whole HD plane to float first cost half as much again as decoding it.
        return cv2.resize(plane, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.resize(plane.astype(np.float32), size, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Prepared:
    """A thumbnail as the detector compares it: ``z`` ``(h, w)`` median-filtered (specks, scratches) and
    normalised to zero mean and unit contrast (flicker, fades), and ``level``, its mean unit luma."""

    z: np.ndarray
    level: float


def prepared(thumb: np.ndarray) -> Prepared:
    """Prepare a unit-luma thumbnail ``(h, w)`` for :func:`cut_score`."""
    cleaned = cv2.medianBlur(np.ascontiguousarray(thumb, np.float32), 3)
    level = float(cleaned.mean())
    return Prepared((cleaned - level) / max(float(cleaned.std()), CONTRAST_FLOOR), level)


def cut_score(a: Prepared, b: Prepared) -> float:
    """Dissimilarity in [0, 1] of two prepared thumbnails: the larger of their change of structure and
    their change of level beyond what flicker does.

    Structure: half the change of the normalised value distributions, half the pixel change (relative to
    that of unrelated frames). The distributions' term ignores motion; the pixel term catches cuts between
    shots of similar tone; a cut needs both, so fast pans (pixel change, same distribution) do not count.
    The distributions are compared by their sorted values (the 1-D earth mover's distance), not by
    histograms: a picture of a few flat levels puts its pixels in a few bins, and a tiny shift across a
    bin edge would look like a cut. Level: a jump of the mean luma larger than exposure flicker makes
    (so that a cut between two nearly flat shots of different brightness is still a cut).
    """
    spread = float(np.abs(np.sort(a.z, axis=None) - np.sort(b.z, axis=None)).mean()) / DISTRIBUTION_CHANGE
    pixel = float(np.abs(a.z - b.z).mean()) / UNRELATED_CHANGE
    structure = 0.5 * min(spread, 1.0) + 0.5 * min(pixel, 1.0)
    ratio = abs(math.log((a.level + LEVEL_FLOOR) / (b.level + LEVEL_FLOOR)))
    level = (ratio - FLICKER_LEVEL) / LEVEL_CHANGE
    return max(structure, min(max(level, 0.0), 1.0))


class CutDetector:
    """Finds the cuts of a stream of thumbnails, in order (see the module's docstring).

    A cut needs a score above ``threshold`` and ``ratio`` times the recent average; shots shorter than
    ``min_shot`` frames are not split again; a candidate whose next frame resembles the frame before it
    (a score below ``threshold``) is a flash, not a cut.
    """

    def __init__(self, threshold: float = 0.4, min_shot: int = 6, ratio: float = 2.0) -> None:
        self.threshold = threshold
        self.min_shot = min_shot
        self.ratio = ratio
        self._recent: list[float] = []
        self._since_cut = 1  # frames since the last cut (the first frame counts as one)
        self.flashes = 0  # candidates refused as flashes

    def scan(self, items: Iterable[tuple[T, np.ndarray]]) -> Iterator[tuple[T, bool, float]]:
        """``(item, thumbnail)`` in frame order → ``(item, starts a shot, its score)``, one frame behind.

        The score is the frame's against the one before it (0 for the first frame)."""
        before: Prepared | None = None  # the frame before the one waiting for its decision
        waiting: tuple[T, Prepared, float] | None = None
        for item, thumb in items:
            current = prepared(thumb)
            if waiting is None:  # the first frame starts the first shot, which is no cut
                yield item, False, 0.0
                waiting = (item, current, 0.0)
                continue
            if before is not None:
                held, _, held_score = waiting
                across = cut_score(before, current)  # the held frame skipped
                cut, refused = self._decide(held_score, across < self.threshold)
                yield held, cut, held_score
                if refused:
                    # The flash is no frame's predecessor: the next is compared with the frame before it.
                    waiting = (item, current, across)
                    continue
            before, waiting = waiting[1], (item, current, cut_score(waiting[1], current))
        if waiting is not None and before is not None:
            yield waiting[0], self._decide(waiting[2], False)[0], waiting[2]

    def _decide(self, score: float, flash: bool) -> tuple[bool, bool]:
        """For the frame with ``score`` against its predecessor: whether it starts a shot, and whether it
        was refused as a flash (updating the baseline)."""
        self._since_cut += 1
        baseline = float(np.mean(self._recent)) if self._recent else 0.0
        candidate = score > self.threshold and score > self.ratio * baseline and self._since_cut > self.min_shot
        if candidate and flash:
            self.flashes += 1
            return False, True  # its score stays out of the baseline: a flash says nothing of the shot's motion
        if candidate:
            self._since_cut = 1
            self._recent = []
        else:
            self._recent = [*self._recent, score][-8:]
        return candidate, False
