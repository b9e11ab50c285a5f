"""Which part of a reference a frame shows: a rostrum camera's zoom into a photograph, a close-up of a wide still.

Archive documentaries film photographs with a rostrum camera, zooming and drifting over them (the 'Ken Burns'
move), and a restorer's best reference for such a shot is the colour photograph itself; a still of a set is
often wider than the shot that shows part of it. A frame is then a crop of its reference at some scale,
which neither a whole-frame correlation (the placement's) nor optical flow (the correspondence's: it finds
motion, not a change of scale) can see. So the frame's thumbnail is looked for inside the reference at a ladder
of zooms by normalised cross-correlation (OpenCV's ``matchTemplate``, exposure-blind like the placement's): the
best zoom and place is the *view*, the box of reference pixels the frame shows.

Measured on pans over scikit-image's photographs (their frames 0, 48 and 96, zoomed 1.0 to 1.5x): a frame
scores 0.85-1.00 inside its own photograph, at most 0.57 inside another's; unrelated shots of the bench's
bikes score at most 0.56, at zooms of 1.6-3x (a small template finds something alike somewhere). Hence a frame
resembles a reference from ``VIEW_ABOVE``, and the correspondence cuts the reference to the view only where it
zooms in (``MIN_ZOOM``) or lies off the reference's centre (``MIN_OFFSET``: a tilt down a portrait photograph):
at the whole reference's own framing nothing changes there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

VIEW_ABOVE = 0.75
MIN_ZOOM = 1.1  # against the whole reference's framing (its centre cut to the frame's shape)
MIN_OFFSET = 0.05  # view widths between a view's centre and the reference's: where the flow would have to travel
MAX_ZOOM = 3.0
ZOOM_STEP = 1.12  # the ladder's rungs: 11 from 1 to 3 (a rung's scale error is at most 6 %, DIS absorbs it)
THUMB_WIDTH = 64  # the search's (what the placement's thumbnails are)
FINE_WIDTH = 128  # the refinement's, for a keyframe's view: finer zooms around the best rung, on finer pictures
CONTRAST_FLOOR = 0.03  # unit luma: a frame flatter than this shows nothing to look for (the cut detector's floor)


@dataclass(frozen=True)
class View:
    """The box of reference pixels a frame shows: ``x``, ``y`` (top left), ``width``, ``height``, in the
    reference's own pixels; ``zoom`` against the whole reference's framing; ``score`` the correlation there;
    ``offset`` the distance of its centre from the reference's, in view widths."""

    x: float
    y: float
    width: float
    height: float
    zoom: float
    score: float
    offset: float = 0.0

    @property
    def resembles(self) -> bool:
        """Whether the frame clearly shows this part of the reference (at its own framing too: a reference of
        another shape, which the whole-frame correlation compares stretched)."""
        return self.score >= VIEW_ABOVE

    @property
    def counts(self) -> bool:
        """Whether it is a view worth cutting the reference to: a clear match, zoomed in from the reference's own
        framing or away from its centre (a tilt down a portrait photograph shows its top band, then its bottom)."""
        return self.resembles and (self.zoom >= MIN_ZOOM or self.offset > MIN_OFFSET)


def zoom_ladder() -> list[float]:
    """The zooms searched, from the reference's own framing (1) to ``MAX_ZOOM``."""
    count = int(np.floor(np.log(MAX_ZOOM) / np.log(ZOOM_STEP) + 1e-9)) + 1
    return [ZOOM_STEP**k for k in range(count)]


class ViewSearch:
    """Views of frames inside one reference (its unit luma ``(rh, rw)``); the reference is scaled once for each
    zoom and template size, however many frames are searched (the placement searches one a shot)."""

    def __init__(self, reference: np.ndarray) -> None:
        self.reference = reference
        self._scaled: dict[tuple[int, int], np.ndarray] = {}

    def find(self, luma: np.ndarray, *, zooms: Sequence[float] | None = None, width: int = THUMB_WIDTH) -> View:
        """The view of unit luma ``(h, w)`` (any size), searched at ``zooms`` (default: :func:`zoom_ladder`; 1 is
        the largest box of the frame's shape inside the reference) on pictures ``width`` pixels wide."""
        h, w = luma.shape
        rh, rw = self.reference.shape
        tw = min(width, w)
        th = max(1, round(h * tw / w))
        template = np.ascontiguousarray(cv2.resize(luma, (tw, th), interpolation=cv2.INTER_AREA), np.float32)
        whole = min(float(rw), rh * w / h)  # the width of the reference's own framing, in its pixels
        best = View(0.0, 0.0, whole, whole * h / w, 1.0, -1.0)
        if float(template.std()) < CONTRAST_FLOOR:
            return best  # a flat frame (black, a fade's end) matches everything: OpenCV scores it 1 anywhere
        for zoom in zooms if zooms is not None else zoom_ladder():
            scale = tw * zoom / whole  # reference pixels to the search's: a view at this zoom is the template's size
            small = self._at((max(tw, round(rw * scale)), max(th, round(rh * scale))))
            _, score, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(small, template, cv2.TM_CCOEFF_NORMED))
            if score > best.score:
                vx, vy, vw, vh = x / scale, y / scale, tw / scale, th / scale
                offset = float(np.hypot(vx + vw / 2 - rw / 2, vy + vh / 2 - rh / 2)) / vw
                best = View(vx, vy, vw, vh, zoom, float(score), offset)
        return best

    def _at(self, size: tuple[int, int]) -> np.ndarray:
        scaled = self._scaled.get(size)
        if scaled is None:
            shrink = size[0] < self.reference.shape[1]
            interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            scaled = np.ascontiguousarray(cv2.resize(self.reference, size, interpolation=interpolation), np.float32)
            self._scaled[size] = scaled
        return scaled


def find_view(
    luma: np.ndarray, reference: np.ndarray, *, zooms: Sequence[float] | None = None, width: int = THUMB_WIDTH
) -> View:
    """:meth:`ViewSearch.find` of unit luma ``(h, w)`` inside the reference's unit luma ``(rh, rw)``."""
    return ViewSearch(reference).find(luma, zooms=zooms, width=width)


def find_keyframe_view(luma: np.ndarray, search: ViewSearch) -> View:
    """:meth:`ViewSearch.find` for a keyframe's correspondence: the ladder at thumbnail size, then the best rung's
    neighbourhood (a quarter and half a rung either side) on pictures twice as fine."""
    coarse = search.find(luma)
    if not coarse.counts:
        return coarse
    around = [coarse.zoom * ZOOM_STEP**k for k in (-0.5, -0.25, 0.0, 0.25, 0.5)]
    fine = search.find(luma, zooms=around, width=FINE_WIDTH)
    # Finer pictures score a little lower (texture the thumbnail averaged away): the finer place is kept unless
    # it is clearly worse, and the view counts as the coarse search said.
    return replace(fine, score=coarse.score) if fine.score >= coarse.score - 0.1 else coarse
