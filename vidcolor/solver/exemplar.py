"""Region-aware exemplar colour transfer (Welsh et al. 2002) with edge-aware propagation.

For every keyframe pixel, find the reference pixels of the same region whose luminance
neighbourhood looks alike (luma, local mean, local contrast, wider context, weak position
prior) after matching the region's luminance statistics, and take their chroma. The noisy
per-pixel result is then spread along luma edges by a fast global smoother (a weighted-least-
squares solve, the same energy as Levin et al.'s scribble propagation) and regions are
recombined through their soft masks, so region borders are feathered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
from scipy.spatial import cKDTree

from vidcolor.shared_types import TRUSTED_ABOVE, Keyframe, Propagated, Reference, Trusted
from vidcolor.smoothing import smooth_along
from vidcolor.solver.base import COLORIZERS, KeyframeColorizer, keep_carried, reference_region
from vidcolor.solver.upsample import chroma_to_size
from vidcolor.threads import side_threads

if TYPE_CHECKING:
    from vidcolor.registry import RunContext
    from vidcolor.solver.options import SolverOptions


@COLORIZERS.register("exemplar")
class ExemplarColorizer(KeyframeColorizer):
    """Welsh-style luminance-neighbourhood matching, region by region.

    Args:
        match_size: long side, in pixels, at which matching runs (cost grows with its square).
        neighbours: reference matches averaged per pixel.
        position_weight: pull toward the same place in the frame (0 = none); helps when the
            reference shows the same scene, harmless otherwise at small values.
        smoothness: strength of the edge-aware smoothing of the matched chroma.
        continuity: how much a keyframe keeps of the previous keyframe's carried colour where
            that colour is trusted (0 = solve every keyframe afresh); a run takes it from its settings.
    """

    name = "exemplar"

    def __init__(
        self,
        match_size: int = 192,
        neighbours: int = 6,
        position_weight: float = 0.15,
        smoothness: float = 60.0,
        continuity: float = 0.85,
    ) -> None:
        if match_size < 16 or neighbours < 1 or not 0.0 <= continuity <= 1.0:
            raise ValueError(
                f"exemplar colorizer: need match_size >= 16, neighbours >= 1, continuity in [0, 1]; "
                f"got {match_size}, {neighbours}, {continuity}"
            )
        self.match_size = match_size
        self.neighbours = neighbours
        self.position_weight = position_weight
        self.smoothness = smoothness
        self.continuity = continuity

    @classmethod
    def create(cls, options: SolverOptions, context: RunContext) -> ExemplarColorizer:
        return cls(continuity=options.continuity)

    def colorize(self, keyframe: Keyframe, reference: Reference, previous: Propagated | None) -> np.ndarray:
        return self._colorize(keyframe, reference, previous, None)

    def refine(
        self, keyframe: Keyframe, reference: Reference, previous: Propagated | None, trusted: Trusted
    ) -> np.ndarray:
        """As :meth:`colorize`, with each region's luminance statistics taken over its trusted pixels: those
        show what the reference shows, so new content (an object that entered, brighter or more textured
        than anything there) does not stretch the reference's luma over itself and match it."""
        return self._colorize(keyframe, reference, previous, trusted.certainty)

    def _colorize(
        self, keyframe: Keyframe, reference: Reference, previous: Propagated | None, trust: np.ndarray | None
    ) -> np.ndarray:
        small = keyframe.at_size(self.match_size)
        # The reference at the same scale, so that its pixels are about as large as the keyframe's.
        ref = reference.at_size(self.match_size)
        luma, masks = small.luma, small.masks
        if trust is not None and trust.shape != luma.shape:
            trust = cv2.resize(trust, (luma.shape[1], luma.shape[0]), interpolation=cv2.INTER_AREA)
        known = trust > TRUSTED_ABOVE if trust is not None else np.zeros(luma.shape, bool)

        chroma = np.zeros((*luma.shape, 2), np.float32)
        labels = masks.hard()
        for r, name in enumerate(masks.names):
            weight = masks.weights[r]
            if weight.max() < 1e-3:
                continue
            region = labels == r
            if not region.any():
                region = weight > 0.5 * weight.max()
            # The region's statistics over what is known to show the reference's content, where enough is.
            shown = region & known
            stats = shown if shown.sum() >= MIN_KNOWN * region.sum() else region
            matched = self._match(luma, stats, weight > 1e-3, ref.luma, ref.chroma, reference_region(ref, name))
            chroma += matched * weight[..., None]

        guide = np.clip(luma * 255.0, 0, 255).astype(np.uint8)
        smoothed = smooth_along(guide, chroma, self.smoothness, 6.0)
        return keep_carried(chroma_to_size(smoothed, keyframe.luma), previous, self.continuity)

    def _match(
        self,
        luma: np.ndarray,
        region: np.ndarray,
        wanted: np.ndarray,
        ref_luma: np.ndarray,
        ref_chroma: np.ndarray,
        ref_region: np.ndarray,
    ) -> np.ndarray:
        """Chroma ``(h, w, 2)`` for the pixels in ``wanted`` from the reference pixels in ``ref_region``, the
        reference's luma remapped to the statistics of the keyframe's pixels in ``region``."""
        # Welsh's luminance remapping: give the reference region the keyframe region's mean and contrast.
        mu_t, sd_t = float(luma[region].mean()), float(luma[region].std()) + 1e-4
        mu_r, sd_r = float(ref_luma[ref_region].mean()), float(ref_luma[ref_region].std()) + 1e-4
        remapped = (ref_luma - mu_r) * (sd_t / sd_r) + mu_t
        ref_feat = _features(remapped, self.position_weight)[ref_region]
        # Half the pixels are matched, on a checkerboard; each of the others takes its four neighbours' mean. The
        # matches are noisy per pixel and smoothed along luma edges next, so the other half added nothing that
        # the bench or our clips could see (a tenth of a dB up on two, the rest unchanged), for half the queries.
        queried = half_of(wanted)
        feat = _features(luma, self.position_weight)[queried]
        k = min(self.neighbours, len(ref_feat))
        tree = cKDTree(ref_feat)
        # Halves queried side by side, one here and one in a side thread, not with scipy's workers=-1: scipy
        # joins its own threads, and Ctrl-C or SIGTERM raised inside that join unwinds this frame while they
        # still read its arrays (a crash seen in about half of the runs interrupted under load); a side thread's
        # task holds its own references, and this thread's query ends before a signal is handled. This thread
        # would only wait otherwise. Each point's neighbours are the same whichever half it is in.
        parts = np.array_split(feat, 2) if len(feat) >= 1024 else [feat]

        def query(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return tree.query(part, k=k, workers=1, eps=NEIGHBOUR_SLACK)

        later = [side_threads().submit(query, part) for part in parts[1:]]
        halves = [query(parts[0]), *(future.result() for future in later)]
        dist, idx = (np.concatenate(parts) for parts in zip(*halves, strict=True))
        if k == 1:
            dist, idx = dist[:, None], idx[:, None]
        weights = 1.0 / (dist + 1e-3)
        weights /= weights.sum(axis=1, keepdims=True)
        ref_values = ref_chroma[ref_region]
        out = np.zeros((*luma.shape, 2), np.float32)
        values = np.einsum("nk,nkc->nc", weights, ref_values[idx]).astype(np.float32)
        # What nothing in the reference looks like (content it does not show) gets its nearest matches'
        # colour muted toward neutral in proportion to how far they are: muted rather than wrong.
        values *= match_quality(dist.mean(axis=1))[:, None]
        out[queried] = values
        return filled_from_neighbours(out, queried, wanted)


# The neighbours are found approximately (SciPy's eps): each is within 1 + NEIGHBOUR_SLACK of the true one's
# distance. Their colours are averaged anyway; a keyframe's tree queries cost 40 % less (a 6-shot 640x360 reel,
# a keyframe every 20 frames: 2.2 of 15 CPU-s less), and the bench and our clips moved by at most 0.1 dB.
NEIGHBOUR_SLACK = 0.5

# When at least MIN_KNOWN of a region is trusted (shared_types.TRUSTED_ABOVE), its luminance statistics are
# taken over its trusted pixels.
MIN_KNOWN = 0.25

# Mean distance of a pixel's nearest reference descriptors (unit luma): up to GOOD_MATCH they are alike (most
# pixels of a frame of the reference's scene lie below 0.06); beyond, the colour fades, to a third at +POOR_MATCH.
GOOD_MATCH = 0.06
POOR_MATCH = 0.06


def match_quality(distance: np.ndarray) -> np.ndarray:
    """``(n,)`` mean descriptor distances → ``(n,)`` float32 in (0, 1]: 1 for good matches, toward 0 for none."""
    excess = np.maximum(distance - GOOD_MATCH, 0.0) / POOR_MATCH
    return np.exp(-excess * excess).astype(np.float32)


def half_of(wanted: np.ndarray) -> np.ndarray:
    """The pixels of ``wanted`` ``(h, w)`` bool that are matched: those on the white squares of a checkerboard,
    and any other with no such pixel of ``wanted`` among its four neighbours (it would have nothing to take)."""
    h, w = wanted.shape
    ys, xs = np.ogrid[0:h, 0:w]
    queried = wanted & ((ys + xs) % 2 == 0)
    queried |= wanted & (_around(queried.astype(np.float32)) == 0)
    return queried


def filled_from_neighbours(values: np.ndarray, queried: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` ``(h, w, 2)`` (set where ``queried``) with every other pixel of ``wanted`` given the mean of
    its queried four neighbours (see :func:`half_of`); in place."""
    rest = wanted & ~queried
    count = _around(queried.astype(np.float32))[rest]
    values[rest] = _around(values)[rest] / count[:, None]
    return values


def _around(image: np.ndarray) -> np.ndarray:
    """The sum of each pixel's four neighbours (outside the image: 0)."""
    return cv2.filter2D(image, -1, _CROSS, borderType=cv2.BORDER_CONSTANT)


_CROSS = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32)


def _features(luma: np.ndarray, position_weight: float) -> np.ndarray:
    """Per-pixel descriptor ``(h, w, 6)``: luma, 5x5 mean and contrast, 15x15 context, position."""
    mean5 = cv2.blur(luma, (5, 5))
    contrast = np.sqrt(np.maximum(cv2.blur(luma * luma, (5, 5)) - mean5 * mean5, 0.0))
    context = cv2.blur(luma, (15, 15))
    h, w = luma.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    scale = position_weight / max(h, w)
    return np.stack([luma, mean5, 2.0 * contrast, 0.5 * context, xs * scale, ys * scale], axis=-1)
