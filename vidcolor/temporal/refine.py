"""Edge-aware spreading of trusted chroma into the pixels nobody vouches for, guided by luma.

Normalized smoothing with the fast global smoother (Min et al. 2014, a weighted-least-squares
solve, the energy of Levin et al.'s scribble propagation): smoothing ``trust × chroma`` and
``trust`` with the same luma-guided filter and dividing gives each untrusted pixel the colour of
the trusted pixels it is connected to without crossing a luma edge. The smoothed trust itself says
how much trusted support a pixel has nearby.

The smoother's edges leak (about a tenth of a colour crosses a strong edge, and over a whole object
that is a tint): support is also bounded by the geodesic reach of the trusted pixels
(:mod:`vidcolor.temporal.reach`), so what lies behind a strong luma edge from every trusted pixel, an
object that entered or was uncovered, has no support and is left to the colorizer, which matches its
appearance against the reference or mutes it.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidcolor.shared_types import TRUSTED_ABOVE
from vidcolor.smoothing import smooth_along
from vidcolor.temporal.reach import stroke_reach

# Strength and edge sensitivity of the smoother: large enough to cross a disocclusion, small
# enough (edge sigma, in 8-bit luma steps) to stop at object borders.
SPREAD_LAMBDA = 400.0
SPREAD_SIGMA = 5.0
# Smoothed trust above this counts as full support.
FULL_SUPPORT = 0.25
# Trusted colour reaches this far (a share of the frame's larger side, geodesic: a strong edge is a wall)
# into untrusted pixels: across a disocclusion's strip, not into an object behind an edge. Measured at
# half the work size (the distances are smooth; it costs a quarter).
SPREAD_REACH = 0.3


def spread_trusted(chroma: np.ndarray, trust: np.ndarray, luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trusted chroma carried along luma into untrusted pixels.

    Args:
        chroma: unit chroma ``(h, w, 2)``; only its trusted pixels matter.
        trust: ``(h, w)`` in [0, 1].
        luma: unit luma ``(h, w)``, the guide.

    Returns:
        ``(spread (h, w, 2), support (h, w) in [0, 1])``: support is 0 where no trusted pixel is reachable.
    """
    guide = np.clip(np.rint(luma * 255.0), 0, 255).astype(np.uint8)
    stacked = np.concatenate([chroma * trust[..., None], trust[..., None]], axis=2).astype(np.float32)
    smoothed = smooth_along(guide, stacked, SPREAD_LAMBDA, SPREAD_SIGMA)
    weight = smoothed[..., 2]
    spread = smoothed[..., :2] / np.maximum(weight, 1e-4)[..., None]
    support = np.clip(weight / FULL_SUPPORT, 0.0, 1.0)
    trusted = trust > TRUSTED_ABOVE
    if trusted.any() and not trusted.all():
        support = np.minimum(support, trusted_reach(luma, trust))
    return spread.astype(np.float32), support.astype(np.float32)


def trusted_reach(luma: np.ndarray, trust: np.ndarray) -> np.ndarray:
    """``(h, w)`` float32 in [0, 1]: how far the trusted pixels' colour may spread along luma, computed at
    half size (see ``SPREAD_REACH``)."""
    h, w = luma.shape
    size = (max(1, w // 2), max(1, h // 2))
    small = cv2.resize(luma.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    seeds = cv2.resize(trust.astype(np.float32), size, interpolation=cv2.INTER_AREA) > TRUSTED_ABOVE
    reach = stroke_reach(small, seeds, SPREAD_REACH)
    return cv2.resize(reach, (w, h), interpolation=cv2.INTER_LINEAR)
