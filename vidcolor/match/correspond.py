"""Dense correspondence from a keyframe to a colour reference of the same scene, with a confidence.

The everyday restoration workflow colours one frame by hand and asks for the rest: then the
reference shows the very scene of nearby keyframes, and its colour should arrive pixel for pixel,
not through statistics. Optical flow between the keyframe's luma and the reference's (after
matching their exposure; a reference of another shape is first cut to the video's around its
centre, and one the keyframe shows a zoomed part of is cut to that part: ``match.framing``) finds
where each keyframe pixel is in the reference; the flow is
computed both ways, and a pixel is trusted where the two agree (forward–backward consistency:
occlusions and mismatches break it) and where the luma it lands on looks alike (on slightly
blurred luma, so that fine texture such as grass does not fail the test on sub-pixel shifts).
A reference of another scene simply gets low confidence everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.match.framing import View, ViewSearch, find_keyframe_view
from vidcolor.sampling import positions_of, sample
from vidcolor.shared_types import Reference
from vidcolor.temporal.flow import FlowEstimator
from vidcolor.temporal.trust import TO_REFERENCE

log = logging.getLogger("vidcolor")

# References whose aspect ratio differs more than this from the video's show another framing: they
# are cut to the video's shape around their centre before matching.
ASPECT_TOLERANCE = 0.04


@dataclass(frozen=True)
class Match:
    """A reference's colour brought onto a keyframe.

    Attributes:
        chroma: unit chroma ``(h, w, 2)`` float32 taken from the reference.
        confidence: ``(h, w)`` float32 in [0, 1]; 0 where the reference does not show the pixel.
    """

    chroma: np.ndarray
    confidence: np.ndarray


class ReferenceMatcher:
    """Matches keyframes to references with an optical flow estimator (the run's, set for larger motion than
    frame to frame: see ``stages.MATCH_FLOW_PRESET``)."""

    def __init__(self, flow: FlowEstimator) -> None:
        self._flow = flow
        # Each reference's view search, kept for its next keyframe (by the luma array's id: the search holds the
        # array, so the id stays its own).
        self._searches: dict[int, ViewSearch] = {}

    @property
    def thread_safe(self) -> bool:
        """Whether matches may be made in several threads at once (its flow estimator's)."""
        return self._flow.thread_safe

    def match(self, luma: np.ndarray, reference: Reference) -> Match:
        """Where each pixel of unit luma ``(h, w)`` is in ``reference``, and the colour found there."""
        h, w = luma.shape
        search = self._searches.setdefault(id(reference.luma), ViewSearch(reference.luma))
        view = find_keyframe_view(luma, search)
        if view.counts:  # a zoom into the reference (a rostrum camera's into its photograph): cut to what it shows
            log.debug("keyframe shows the reference zoomed %.2fx at (%.0f, %.0f)", view.zoom, view.x, view.y)
            ref_luma, ref_chroma = _viewed(reference, view, h, w)
        else:
            ref_luma, ref_chroma = _framed_like(reference, h, w)
        # Exposure: a photograph of the scene may be brighter or flatter than the film.
        ref_luma = (ref_luma - ref_luma.mean()) * (luma.std() + 1e-4) / (ref_luma.std() + 1e-4) + luma.mean()
        a, b = _u8(luma), _u8(ref_luma)
        back = self._flow.flow(a, b)  # keyframe pixel x is at x + back(x) in the reference
        ahead = self._flow.flow(b, a)  # and back again
        at = positions_of(back)
        blurred = cv2.blur(ref_luma.astype(np.float32), (5, 5))
        distrust = TO_REFERENCE.distrust(at, back, cv2.blur(luma, (5, 5)), blurred, ahead)
        confidence = np.exp(-distrust, out=distrust)
        confidence *= _inside(back)
        # A pixel is only as sure as its least sure neighbour: edges of trusted areas are where flow errs.
        confidence = cv2.erode(confidence.astype(np.float32), np.ones((3, 3), np.uint8))
        return Match(sample(ref_chroma, at), confidence)


def _framed_like(reference: Reference, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference's luma and chroma at ``(h, w)``.

    A reference of another shape (a still photograph of the scene, a video frame in 4:3) is scaled
    to cover the keyframe and cut to it around its centre, so the flow has only an offset to find.
    """
    rh, rw = reference.luma.shape
    ref_luma, ref_chroma = reference.luma, reference.chroma
    if abs(rw / rh - w / h) > ASPECT_TOLERANCE * (w / h):
        scale = max(w / rw, h / rh)
        sw, sh = max(w, round(rw * scale)), max(h, round(rh * scale))
        x0, y0 = (sw - w) // 2, (sh - h) // 2
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        ref_luma = cv2.resize(ref_luma, (sw, sh), interpolation=interpolation)[y0 : y0 + h, x0 : x0 + w]
        ref_chroma = cv2.resize(ref_chroma, (sw, sh), interpolation=interpolation)[y0 : y0 + h, x0 : x0 + w]
        return np.ascontiguousarray(ref_luma), np.ascontiguousarray(ref_chroma)
    if (rh, rw) != (h, w):
        interpolation = cv2.INTER_AREA if rh > h else cv2.INTER_LINEAR
        ref_luma = cv2.resize(ref_luma, (w, h), interpolation=interpolation)
        ref_chroma = cv2.resize(ref_chroma, (w, h), interpolation=interpolation)
    return ref_luma, ref_chroma


def _viewed(reference: Reference, view: View, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference's luma and chroma inside ``view``, at ``(h, w)`` (sub-pixel, bilinear; a view more than
    twice the keyframe's size is first shrunk by area, so that its detail is averaged, not skipped)."""
    luma, chroma, scale = reference.luma, reference.chroma, 1.0
    if view.width > 2 * w:
        scale = 2 * w / view.width
        size = (max(1, round(luma.shape[1] * scale)), max(1, round(luma.shape[0] * scale)))
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
        chroma = cv2.resize(chroma, size, interpolation=cv2.INTER_AREA)
    sx, sy = w / (view.width * scale), h / (view.height * scale)
    matrix = np.array([[sx, 0, -view.x * scale * sx], [0, sy, -view.y * scale * sy]], np.float32)
    return tuple(  # type: ignore[return-value]
        cv2.warpAffine(plane, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for plane in (luma, chroma)
    )


def _u8(luma: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(luma * 255.0), 0, 255).astype(np.uint8)


def _inside(flow: np.ndarray) -> np.ndarray:
    """1 where ``grid + flow`` lands inside the image, 0 outside (the reference does not show it)."""
    h, w = flow.shape[:2]
    xs = np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]
    return ((xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)).astype(np.float32)
