"""Where each reference belongs in the video, and which reference each shot takes its colours from.

A quick pass over the video's thumbnails (64 px wide: decoding is the only real cost) finds the
shots with the same cut detector as the main pass, and for each reference the frame it resembles
most (normalized cross-correlation of thumbnails, so exposure does not matter). A reference that
resembles some frame well is placed there: that frame becomes a keyframe coloured by the reference
itself. Each shot then takes the reference that resembles it best, as a whole or as a zoom into it (a
rostrum camera's into its photograph: ``match.framing``, looked for once a shot, on its frame most like
the reference); a shot that no reference resembles well takes the placed reference nearest in time.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.frames.timecode import TimePoint
from vidcolor.match.framing import ViewSearch
from vidcolor.temporal.shots import CutDetector

log = logging.getLogger("vidcolor")

# Thumbnail correlation above which a reference is taken to show a frame (placed there) or a shot.
PLACE_ABOVE = 0.6


@dataclass(frozen=True)
class Shot:
    """Frames ``start`` (inclusive) to ``end`` (exclusive), indices of the run's frames.

    Attributes:
        cut_score: the cut detector's score at the cut that starts the shot (0 for the first shot).
        start_s, end_s: the times of its first and last frames, in seconds from the video's start.
        dissolve: whether it begins halfway through a dissolve (the cut the detector put at its middle),
            not at a hard cut.
    """

    start: int
    end: int
    cut_score: float = 0.0
    start_s: float = 0.0
    end_s: float = 0.0
    dissolve: bool = False


@dataclass(frozen=True)
class Placement:
    """The outcome of the pass.

    Attributes:
        shots: the shots in order.
        frames: per reference, the frame it is placed on (pinned or found), or None.
        shot_reference: per shot, the index of the reference it takes its colours from (-1: none).
        similarity: per reference, how much it resembles the frame it is placed on (a pinned one: its
            pinned frame), else the frame it resembles most; empty when no pass was made.
        shot_similarity: per shot, how much it resembles the reference it takes (its best frame).
        nearest: per shot, whether it resembles no reference and took the placed one nearest in time.
        shot_zoom: per shot, the zoom of the view by which it resembles the reference it takes (1: as a whole,
            or at the reference's own framing; see ``match.framing``).
    """

    shots: tuple[Shot, ...]
    frames: tuple[int | None, ...]
    shot_reference: tuple[int, ...]
    similarity: tuple[float, ...] = ()
    shot_similarity: tuple[float, ...] = ()
    nearest: tuple[bool, ...] = ()
    shot_zoom: tuple[float, ...] = ()

    @classmethod
    def single(cls, frame: int | None) -> Placement:
        """One reference, no pass needed: every frame takes it; ``frame`` is where it was pinned."""
        return cls((Shot(0, 2**62),), (frame,), (0,))

    def shot_at(self, index: int) -> int:
        """The shot (its position in ``shots``) that frame ``index`` belongs to."""
        return next((k for k, s in enumerate(self.shots) if s.start <= index < s.end), len(self.shots) - 1)

    def resembled(self, index: int) -> bool:
        """Whether the shot of frame ``index`` resembles the reference it takes (not a guess, see ``nearest``)."""
        return not (self.nearest and self.nearest[self.shot_at(index)])

    def reference_for(self, index: int) -> tuple[int, bool]:
        """The reference frame ``index`` takes its colours from, and whether it is placed on this frame."""
        shot = self.shot_at(index)
        chosen = self.shot_reference[shot]
        # Several references placed inside this shot: each frame takes the nearest in time.
        inside = [
            r for r, f in enumerate(self.frames) if f is not None and self.shots[shot].start <= f < self.shots[shot].end
        ]
        if len(inside) > 1 and chosen >= 0:
            chosen = min(inside, key=lambda r: abs(self.frames[r] - index))  # type: ignore[operator]
        return chosen, chosen >= 0 and self.frames[chosen] == index


def normalized(thumb: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (correlation is then a mean of products)."""
    thumb = thumb.astype(np.float32)
    return (thumb - thumb.mean()) / (float(thumb.std()) + 1e-4)


def place(
    frames: Iterable[tuple[float, np.ndarray]],
    references: Sequence[np.ndarray],
    pins: Sequence[TimePoint | None],
    period_s: float,
    *,
    cuts: Collection[int] | None = None,
    only_shot: Sequence[int | None] | None = None,
) -> Placement:
    """Scan the run's frames once and place the references.

    Args:
        frames: per frame of the run, in order: its time in seconds from the video's start, and the
            cut detector's thumbnail (unit luma).
        references: per reference, its unit luma (any size; compared at thumbnail size).
        pins: per reference, where the user pinned it (a time, or a frame of the run), or None to search.
        period_s: the frame period, so that a pinned time selects the frame shown at that time.
        cuts: the frames that start a shot (a plan's, edited by hand perhaps); None: the cut detector's.
        only_shot: per reference, the shot (its position, from 0) it is given for, or None: a reference
            given for one shot is placed inside it only, and that shot takes it whatever the others show.
    """
    only = list(only_shot) if only_shot is not None else [None] * len(references)
    detector = CutDetector()
    starts: list[tuple[int, float, float]] = []  # (frame, cut score, time)
    best_frame: list[int | None] = [None] * len(references)
    best_score = [-1.0] * len(references)
    # Per shot, per reference: the best similarity inside it (a pin counts as a perfect match where it
    # lands, since the user said so), and the true similarity, for the plan.
    shot_scores: list[list[float]] = []
    shot_true: list[list[float]] = []
    shot_zooms: list[list[float]] = []  # per shot, per reference: the zoom of the view behind its score (1: none)
    targets: list[np.ndarray] | None = None
    count, last_time = 0, 0.0
    last_times: list[float] = []  # per shot, the time of the frame before it starts
    # Per reference, the current shot's frame that resembles it best as a whole: where the shot is looked for
    # as a zoom into the reference when it ends (see match.framing), and the search itself.
    best_thumb: list[np.ndarray | None] = [None] * len(references)
    searches = [ViewSearch(r) for r in references]

    def close_shot() -> None:
        for r, thumb in enumerate(best_thumb):
            if thumb is not None and pins[r] is None:
                view = searches[r].find(thumb)
                if view.resembles and view.score > shot_scores[-1][r]:
                    log.debug("shot %d shows reference %d zoomed %.2fx (similarity %.2f)", len(starts), r + 1,
                              view.zoom, view.score)  # fmt: skip
                    shot_scores[-1][r] = shot_true[-1][r] = view.score
                    shot_zooms[-1][r] = view.zoom
        best_thumb[:] = [None] * len(references)

    scanned = detector.scan(((time_s, thumb), thumb) for time_s, thumb in frames)
    for index, ((time_s, thumb), detected, cut_score) in enumerate(scanned):
        if targets is None:
            size = (thumb.shape[1], thumb.shape[0])
            targets = [normalized(cv2.resize(r, size, interpolation=cv2.INTER_AREA)) for r in references]
        if index == 0 or (index in cuts if cuts is not None else detected):
            if starts:
                close_shot()
            starts.append((index, cut_score, time_s))
            last_times.append(last_time)
            shot_scores.append([-1.0] * len(references))
            shot_true.append([-1.0] * len(references))
            shot_zooms.append([1.0] * len(references))
        current = len(starts) - 1
        frame = normalized(thumb) if targets else thumb  # (no reference: nothing to correlate it with)
        for r, target in enumerate(targets):
            if only[r] is not None and only[r] != current:
                continue
            score = float((frame * target).mean())
            pin = pins[r]
            if pin is not None:
                if best_frame[r] is None and _reached(pin, index, time_s, period_s):
                    best_frame[r], best_score[r] = index, score
                    shot_scores[-1][r], shot_true[-1][r] = 1.0, score
                continue
            if score > shot_scores[-1][r]:
                shot_scores[-1][r] = shot_true[-1][r] = score
                best_thumb[r] = thumb
            if score > best_score[r]:
                best_score[r], best_frame[r] = score, index
        count, last_time = index + 1, time_s
    if count == 0:
        return Placement((Shot(0, 0),), (None,) * len(references), (0,))
    close_shot()
    for r, pin in enumerate(pins):
        if pin is not None and best_frame[r] is None:
            log.debug("reference %d is pinned at %s, outside the frames of this run: it is not placed", r + 1, pin)
    bounds = [*(s for s, _, _ in starts[1:]), count]
    shots = tuple(
        Shot(start, end, round(score, 3), start_s, end_s, start > 0 and detector.dissolve_at(start))
        for (start, score, start_s), end, end_s in zip(starts, bounds, [*last_times[1:], last_time], strict=True)
    )
    for found in detector.dissolves:
        log.debug("a dissolve over frames %d-%d: cut once, at frame %d", found.first, found.last, found.cut)
    placed = tuple(
        f if f is not None and (pins[r] is not None or best_score[r] >= PLACE_ABOVE) else None
        for r, f in enumerate(best_frame)
    )
    for r, f in enumerate(placed):
        if f is not None:
            log.debug("reference %d placed at frame %d (similarity %.2f)", r + 1, f, best_score[r])
        elif pins[r] is None:
            log.debug("reference %d resembles no frame well (best %.2f): not placed", r + 1, best_score[r])
    chosen, similarity, nearest, zoom = [], [], [], []
    for k, (shot, scores) in enumerate(zip(shots, shot_scores, strict=True)):
        given = [r for r in range(len(references)) if only[r] == k]
        best = given[0] if given else int(np.argmax(scores)) if references else 0
        took_nearest = not given and bool(references) and scores[best] < PLACE_ABOVE
        if took_nearest:
            candidates = [r for r, f in enumerate(placed) if f is not None and only[r] is None]
            if candidates:
                middle = (shot.start + shot.end) / 2
                best = min(candidates, key=lambda r: abs(placed[r] - middle))  # type: ignore[operator]
        chosen.append(best)
        similarity.append(round(max(shot_true[k][best], 0.0), 3) if references else 0.0)
        nearest.append(took_nearest)
        zoom.append(round(shot_zooms[k][best], 2) if references and not took_nearest else 1.0)
    return Placement(
        shots,
        placed,
        tuple(chosen),
        tuple(round(max(s, 0.0), 3) for s in best_score),
        tuple(similarity),
        tuple(nearest),
        tuple(zoom),
    )


def _reached(pin: TimePoint, index: int, time_s: float, period_s: float) -> bool:
    """Whether the frame ``index`` shown at ``time_s`` is the one a pin points at (or the first after it)."""
    if pin.frames is not None:
        return index >= pin.frames
    return time_s >= float(pin.seconds or 0) - period_s / 2
