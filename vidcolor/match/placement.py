"""Where each reference belongs in the video, and which reference each shot takes its colours from.

A quick pass over the video's thumbnails (64 px wide: decoding is the only real cost) finds the
shots with the same cut detector as the main pass, and for each reference the frame it resembles
most (normalized cross-correlation of thumbnails, so exposure does not matter). A reference that
resembles some frame well is placed there: that frame becomes a keyframe coloured by the reference
itself. Each shot then takes the reference that resembles it best; a shot that no reference
resembles well takes the placed reference nearest in time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.frames.timecode import TimePoint
from vidcolor.temporal.shots import CutDetector

log = logging.getLogger("vidcolor")

# Thumbnail correlation above which a reference is taken to show a frame (placed there) or a shot.
PLACE_ABOVE = 0.6


@dataclass(frozen=True)
class Shot:
    """Frames ``start`` (inclusive) to ``end`` (exclusive), indices of the run's frames."""

    start: int
    end: int


@dataclass(frozen=True)
class Placement:
    """The outcome of the pass.

    Attributes:
        shots: the shots in order.
        frames: per reference, the frame it is placed on (pinned or found), or None.
        shot_reference: per shot, the index of the reference it takes its colours from.
    """

    shots: tuple[Shot, ...]
    frames: tuple[int | None, ...]
    shot_reference: tuple[int, ...]

    @classmethod
    def single(cls, frame: int | None) -> Placement:
        """One reference, no pass needed: every frame takes it; ``frame`` is where it was pinned."""
        return cls((Shot(0, 2**62),), (frame,), (0,))

    def reference_for(self, index: int) -> tuple[int, bool]:
        """The reference frame ``index`` takes its colours from, and whether it is placed on this frame."""
        shot = next((k for k, s in enumerate(self.shots) if s.start <= index < s.end), len(self.shots) - 1)
        chosen = self.shot_reference[shot]
        # Several references placed inside this shot: each frame takes the nearest in time.
        inside = [
            r for r, f in enumerate(self.frames) if f is not None and self.shots[shot].start <= f < self.shots[shot].end
        ]
        if len(inside) > 1:
            chosen = min(inside, key=lambda r: abs(self.frames[r] - index))  # type: ignore[operator]
        return chosen, self.frames[chosen] == index


def normalized(thumb: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (correlation is then a mean of products)."""
    thumb = thumb.astype(np.float32)
    return (thumb - thumb.mean()) / (float(thumb.std()) + 1e-4)


def place(
    frames: Iterable[tuple[float, np.ndarray]],
    references: Sequence[np.ndarray],
    pins: Sequence[TimePoint | None],
    period_s: float,
) -> Placement:
    """Scan the run's frames once and place the references.

    Args:
        frames: per frame of the run, in order: its time in seconds from the video's start, and the
            cut detector's thumbnail (unit luma).
        references: per reference, its unit luma (any size; compared at thumbnail size).
        pins: per reference, where the user pinned it (a time, or a frame of the run), or None to search.
        period_s: the frame period, so that a pinned time selects the frame shown at that time.
    """
    detector = CutDetector()
    starts: list[int] = []
    best_frame: list[int | None] = [None] * len(references)
    best_score = [-1.0] * len(references)
    shot_scores: list[list[float]] = []  # per shot, per reference: best similarity inside it
    targets: list[np.ndarray] | None = None
    count = 0
    for index, (time_s, thumb) in enumerate(frames):
        count = index + 1
        if targets is None:
            size = (thumb.shape[1], thumb.shape[0])
            targets = [normalized(cv2.resize(r, size, interpolation=cv2.INTER_AREA)) for r in references]
        if detector.is_cut(thumb) or index == 0:
            starts.append(index)
            shot_scores.append([-1.0] * len(references))
        frame = normalized(thumb)
        for r, target in enumerate(targets):
            pin = pins[r]
            if pin is not None:
                if best_frame[r] is None and _reached(pin, index, time_s, period_s):
                    best_frame[r], best_score[r] = index, 1.0
                    shot_scores[-1][r] = 1.0
                continue
            score = float((frame * target).mean())
            shot_scores[-1][r] = max(shot_scores[-1][r], score)
            if score > best_score[r]:
                best_score[r], best_frame[r] = score, index
    if count == 0:
        return Placement((Shot(0, 0),), (None,) * len(references), (0,))
    for r, pin in enumerate(pins):
        if pin is not None and best_frame[r] is None:
            log.warning("reference %d is pinned at %s, outside the frames of this run: it is not placed", r + 1, pin)
    shots = tuple(Shot(a, b) for a, b in zip(starts, [*starts[1:], count], strict=True))
    placed = tuple(f if f is not None and best_score[r] >= PLACE_ABOVE else None for r, f in enumerate(best_frame))
    for r, f in enumerate(placed):
        if f is not None:
            log.info("reference %d placed at frame %d (similarity %.2f)", r + 1, f, best_score[r])
        elif pins[r] is None:
            log.info("reference %d resembles no frame well (best %.2f): not placed", r + 1, best_score[r])
    chosen = []
    for k, (shot, scores) in enumerate(zip(shots, shot_scores, strict=True)):
        best = int(np.argmax(scores))
        if scores[best] < PLACE_ABOVE:
            candidates = [r for r, f in enumerate(placed) if f is not None]
            if candidates:
                middle = (shot.start + shot.end) / 2
                best = min(candidates, key=lambda r: abs(placed[r] - middle))  # type: ignore[operator]
            log.info(
                "shot %d (frames %d-%d) resembles no reference (best %.2f); it takes reference %d, the nearest in time",
                k,
                shot.start,
                shot.end - 1,
                scores[int(np.argmax(scores))],
                best + 1,
            )
        chosen.append(best)
    return Placement(shots, placed, tuple(chosen))


def _reached(pin: TimePoint, index: int, time_s: float, period_s: float) -> bool:
    """Whether the frame ``index`` shown at ``time_s`` is the one a pin points at (or the first after it)."""
    if pin.frames is not None:
        return index >= pin.frames
    return time_s >= float(pin.seconds or 0) - period_s / 2
