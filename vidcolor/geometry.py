"""Sizes of images between full, work and solve resolution (pure arithmetic, no image library)."""

from __future__ import annotations

# No side is made smaller than this: filters and flow need a few pixels to work with.
MIN_SIDE = 8


def size_within(height: int, width: int, long_side: int) -> tuple[int, int]:
    """``(height, width)`` scaled down (never up) so the long side is at most ``long_side``; at least 8 px."""
    scale = min(1.0, long_side / max(height, width))
    return max(MIN_SIDE, round(height * scale)), max(MIN_SIDE, round(width * scale))
