"""Sizes of images between full, work and solve resolution (pure arithmetic, no image library)."""

from __future__ import annotations

# No side is made smaller than this: filters and flow need a few pixels to work with.
MIN_SIDE = 8


# Flow and colour are computed at no less than this per side: optical flow needs a dozen pixels,
# so tiny frames are computed enlarged and very wide ones stretched (luma is never touched).
MIN_WORK_SIDE = 32


def work_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """``(height, width)`` at which a frame's flow and colour are computed: scaled down so the long
    side is at most ``long_side``, then each side raised to :data:`MIN_WORK_SIDE` if smaller."""
    h, w = size_within(height, width, long_side)
    return max(h, MIN_WORK_SIDE), max(w, MIN_WORK_SIDE)


def size_within(height: int, width: int, long_side: int) -> tuple[int, int]:
    """``(height, width)`` scaled down (never up) so the long side is at most ``long_side``; at least 8 px."""
    scale = min(1.0, long_side / max(height, width))
    return max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale))
