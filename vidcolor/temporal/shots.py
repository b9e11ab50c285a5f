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

A dissolve changes the picture too gradually for a cut between any two neighbouring frames, yet it is a
transition between two shots: it is found as one, and cut once, at its middle (:class:`DissolveFinder`).

Scores are computed on a 64-pixel-wide thumbnail, so detection costs well under a millisecond a frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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
# Dissolves (see DissolveFinder): the frames DISSOLVE_HALF before and after a candidate middle are its ends.
# A middle's variance against its ends' (mixed in the share it has of each) is 0.5-0.65 for a blend of
# unrelated pictures and at least about 1 for a pan or a wipe (a mosaic of its ends' parts); its fit as
# a*A + b*B + c leaves a residual (relative to |A - B|) of 0.05-0.25 for dissolves, still or moving, and
# 0.5-0.7 for pans and hard cuts, measured on smoothed thumbnails.
DISSOLVE_HALF = 12
VARIANCE_DIP = 0.8
MIX_RESIDUAL = 0.45
MIX_BLUR = 1.5  # thumbnail pixels: the fit forgives the few pixels things move during a dissolve

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
    normalised to zero mean and unit contrast (flicker, fades), ``level``, its mean unit luma, and
    ``contrast``, its standard deviation in unit luma (before normalising)."""

    z: np.ndarray
    level: float
    contrast: float = 1.0
    # ``z``'s values in order, for the distributions' term of cut_score: a frame is compared two to four times.
    ordered: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ordered", np.sort(self.z, axis=None))


def prepared(thumb: np.ndarray) -> Prepared:
    """Prepare a unit-luma thumbnail ``(h, w)`` for :func:`cut_score`."""
    cleaned = cv2.medianBlur(np.ascontiguousarray(thumb, np.float32), 3)
    level, contrast = float(cleaned.mean()), float(cleaned.std())
    return Prepared((cleaned - level) / max(contrast, CONTRAST_FLOOR), level, contrast)


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
    spread = float(np.abs(a.ordered - b.ordered).mean()) / DISTRIBUTION_CHANGE
    pixel = float(np.abs(a.z - b.z).mean()) / UNRELATED_CHANGE
    structure = 0.5 * min(spread, 1.0) + 0.5 * min(pixel, 1.0)
    ratio = abs(math.log((a.level + LEVEL_FLOOR) / (b.level + LEVEL_FLOOR)))
    level = (ratio - FLICKER_LEVEL) / LEVEL_CHANGE
    return max(structure, min(max(level, 0.0), 1.0))


@dataclass(frozen=True)
class Dissolve:
    """A dissolve found by :class:`DissolveFinder`: the middles that passed run from ``first`` to ``last``
    (frame positions in the scan, from 0); the cut is at ``cut``, where the blend is most even."""

    first: int
    cut: int
    last: int


@dataclass
class _Seen:
    """A frame after the hard-cut pass: its item, whether it starts a shot, its score, and what the
    dissolve test compares (the prepared thumbnail, smoothed cleaned luma, whether it was a flash)."""

    item: object
    cut: bool
    score: float
    prepared: Prepared
    flash: bool
    smooth: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0), np.float32))


def _smoothed(p: Prepared) -> np.ndarray:
    """The cleaned thumbnail in unit luma, smoothed by ``MIX_BLUR`` (what a blend is fitted on)."""
    cleaned = p.z * max(p.contrast, CONTRAST_FLOOR) + p.level
    return cv2.GaussianBlur(cleaned, (0, 0), MIX_BLUR)


def _mix(a: np.ndarray, b: np.ndarray, middle: np.ndarray) -> tuple[float, float, float]:
    """Fit ``middle ≈ wa * a + wb * b + c`` (all ``(h, w)``): ``(wa, wb, residual)``, the residual's root mean
    square relative to that of ``a - b``."""
    basis = np.stack([a.ravel(), b.ravel(), np.ones(a.size, np.float32)], axis=1)
    weights, *_ = np.linalg.lstsq(basis, middle.ravel(), rcond=None)
    residual = middle.ravel() - basis @ weights
    spread = float(np.sqrt(np.mean((a - b) ** 2)))
    return float(weights[0]), float(weights[1]), float(np.sqrt(np.mean(residual**2))) / max(spread, 1e-6)


class DissolveFinder:
    """Finds dissolves in the hard-cut pass's frames and cuts each once, at its middle.

    For each frame ``m`` taken as a middle, its ends are the frames ``half`` before and after it. It is a
    dissolve's middle when:

    - the ends are different shots (:func:`cut_score` above ``threshold``; neither a flash, both with
      contrast), and no cut lies between them;
    - its variance dips below ``VARIANCE_DIP`` of its ends' mean in the share it has of each (a blend of
      two unrelated pictures has about half that; a pan, a wipe or a moving object shows parts of each
      end, so at least that);
    - it, and the frames halfway to each end, are blends ``wa * A + wb * B + c`` of the ends with a small
      residual (``MIX_RESIDUAL``), ``wa + wb`` near 1 (a blend, not a flat frame) and ``B``'s share rising
      from the first quarter to the last.

    Middles that pass, with gaps of at most ``half // 2`` (damage fails one now and then), are one
    dissolve, cut where the ends' shares are most even, provided the shots on either side keep
    ``min_shot`` frames; no later window reaches back into it. Frames come out in order, at most about
    ``4 * half`` frames late.
    """

    def __init__(self, threshold: float, min_shot: int, half: int = DISSOLVE_HALF) -> None:
        self.threshold = threshold
        self.min_shot = min_shot
        self.half = half
        self.found: list[Dissolve] = []
        self._frames: dict[int, _Seen] = {}
        self._count = 0  # frames pushed
        self._released = 0  # frames handed back
        self._run: list[tuple[int, float, float]] = []  # passing middles: (position, |share - 1/2|, ends' score)
        self._cuts = [0]  # positions of the cuts so far, hard and dissolves (the first frame counting as one)
        self._quiet_until = 0  # no window reaches back before this: the end of the last dissolve

    def push(self, seen: _Seen) -> list[_Seen]:
        """Take the next frame; hand back the frames now decided, in order."""
        seen.smooth = _smoothed(seen.prepared)
        position = self._count
        self._frames[position] = seen
        self._count += 1
        if seen.cut:
            self._cuts = [*self._cuts[-3:], position]
        middle = position - self.half
        if middle >= self.half:
            passed = self._test(middle)
            if passed is not None:
                self._run.append((middle, *passed))
            # Damage can fail a middle or two inside a dissolve: a run ends after a gap of half // 2.
            if self._run and (middle - self._run[-1][0] > self.half // 2 or middle - self._run[0][0] >= 3 * self.half):
                self._close()
        upto = self._run[0][0] if self._run else max(0, middle + 1)
        return self._release(upto)

    def finish(self) -> list[_Seen]:
        """The stream ended: decide what is held and hand it back."""
        if self._run:
            self._close()
        return self._release(self._count)

    def _release(self, upto: int) -> list[_Seen]:
        out = []
        while self._released < upto:
            out.append(self._frames[self._released])
            self._released += 1
        # Keep what a later middle's window reaches back to.
        for position in [p for p in self._frames if p < min(self._released, self._count - 2 * self.half - 1)]:
            del self._frames[position]
        return out

    def _close(self) -> None:
        run, self._run = self._run, []
        cut, _, score = min(run, key=lambda r: r[1])
        before = max(c for c in self._cuts if c < cut)
        after = min((c for c in self._cuts if c > cut), default=None)
        if cut - before < self.min_shot or (after is not None and after - cut < self.min_shot):
            return  # a shot shorter than min_shot is not split off
        seen = self._frames[cut]
        seen.cut, seen.score = True, score
        self._cuts = sorted([*self._cuts, cut])[-4:]
        self._quiet_until = max(run[-1][0], cut + self.half // 2)
        self.found.append(Dissolve(run[0][0], cut, run[-1][0]))

    def _test(self, m: int) -> tuple[float, float] | None:
        """For middle ``m``: ``(how far B's share in it is from half, the ends' cut score)`` when it passes,
        else None (see the class's docstring)."""
        first, last = self._frames[m - self.half], self._frames[m + self.half]
        a, b, mid = first.prepared, last.prepared, self._frames[m].prepared
        floor = CONTRAST_FLOOR  # a fade to black is no dissolve: its end has no picture to blend
        if self._cuts[-1] > m - self.half or self._quiet_until >= m - self.half:
            return None  # a cut inside the window, or the last dissolve's blended frames
        if first.flash or last.flash or a.contrast < floor or b.contrast < floor:
            return None
        # Cheapest first: a blend of two unrelated pictures has less variance than either (a mosaic of their
        # parts has at least their mean), whatever the share.
        if mid.contrast**2 > VARIANCE_DIP * max(a.contrast, b.contrast) ** 2:
            return None
        score = cut_score(a, b)
        if score <= self.threshold:
            return None
        shares = []
        for offset in (-self.half // 2, 0, self.half // 2):
            wa, wb, residual = _mix(first.smooth, last.smooth, self._frames[m + offset].smooth)
            # Motion during the dissolve shrinks both weights a little; a flat frame fits with none.
            if residual > MIX_RESIDUAL or not 0.4 < wa + wb < 1.5:
                return None
            shares.append(wb / (wa + wb))
        share = min(max(shares[1], 0.0), 1.0)
        expected = (1 - share) * a.contrast**2 + share * b.contrast**2  # a mosaic of the ends in this share
        if not (shares[0] < shares[1] < shares[2] and 0.2 < share < 0.8) or mid.contrast**2 > VARIANCE_DIP * expected:
            return None
        return abs(share - 0.5), score


class CutDetector:
    """Finds the cuts of a stream of thumbnails, in order (see the module's docstring).

    A cut needs a score above ``threshold`` and ``ratio`` times the recent average; shots shorter than
    ``min_shot`` frames are not split again; a candidate whose next frame resembles the frame before it
    (a score below ``threshold``) is a flash, not a cut. A dissolve is cut once, at its middle
    (``dissolves=False``: not looked for); the dissolves found are in ``dissolves``.
    """

    def __init__(
        self, threshold: float = 0.4, min_shot: int = 6, ratio: float = 2.0, *, dissolves: bool = True
    ) -> None:
        self.threshold = threshold
        self.min_shot = min_shot
        self.ratio = ratio
        self.find_dissolves = dissolves
        self._recent: list[float] = []
        self._since_cut = 1  # frames since the last cut (the first frame counts as one)
        self.flashes = 0  # candidates refused as flashes
        self.dissolves: list[Dissolve] = []

    def scan(self, items: Iterable[tuple[T, np.ndarray]]) -> Iterator[tuple[T, bool, float]]:
        """``(item, thumbnail)`` in frame order → ``(item, starts a shot, its score)``, in order, one frame
        behind (about ``4 * DISSOLVE_HALF`` frames behind when dissolves are looked for).

        The score is the frame's against the one before it (0 for the first frame); a dissolve's cut has
        the score of its ends against each other."""
        if not self.find_dissolves:
            for seen in self._hard_cuts(items):
                yield seen.item, seen.cut, seen.score  # type: ignore[misc]
            return
        finder = DissolveFinder(self.threshold, self.min_shot)
        self.dissolves = finder.found
        for seen in self._hard_cuts(items):
            for done in finder.push(seen):
                yield done.item, done.cut, done.score  # type: ignore[misc]
        for done in finder.finish():
            yield done.item, done.cut, done.score  # type: ignore[misc]

    def dissolve_at(self, position: int) -> bool:
        """Whether the cut at frame ``position`` of the scan (from 0) is a dissolve's."""
        return any(d.cut == position for d in self.dissolves)

    def _hard_cuts(self, items: Iterable[tuple[T, np.ndarray]]) -> Iterator[_Seen]:
        """The hard cuts and flashes, one frame behind (see :meth:`scan`)."""
        before: Prepared | None = None  # the frame before the one waiting for its decision
        waiting: tuple[T, Prepared, float] | None = None
        for item, thumb in items:
            current = prepared(thumb)
            if waiting is None:  # the first frame starts the first shot, which is no cut
                yield _Seen(item, False, 0.0, current, False)
                waiting = (item, current, 0.0)
                continue
            if before is not None:
                held, held_prepared, held_score = waiting
                across = cut_score(before, current)  # the held frame skipped
                cut, refused = self._decide(held_score, across < self.threshold)
                yield _Seen(held, cut, held_score, held_prepared, refused)
                if refused:
                    # The flash is no frame's predecessor: the next is compared with the frame before it.
                    waiting = (item, current, across)
                    continue
            before, waiting = waiting[1], (item, current, cut_score(waiting[1], current))
        if waiting is not None and before is not None:
            yield _Seen(waiting[0], self._decide(waiting[2], False)[0], waiting[2], waiting[1], False)

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
