"""Colour arithmetic in Y'CbCr, where luma stays exact.

The decoded Y plane is the truth and is never recomputed: the pipeline only computes the two
chroma planes. Chroma is carried as float32 ``(H, W, 2)`` arrays of (Cb, Cr) in ``[-0.5, 0.5]``
("unit chroma"); luma as float32 ``(H, W)`` in ``[0, 1]`` ("unit luma", nominal black to white).

Chroma is scaled toward neutral where the colour would leave the RGB cube for the pixel's luma:
a player clips out-of-gamut RGB, and clipping would change the luma the viewer sees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

# Kr, Kb of the two matrices players assume: BT.601 for SD, BT.709 for HD (also used by the torch solver).
LUMA_COEFFICIENTS = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}


@dataclass(frozen=True)
class YCbCrSpec:
    """How integer Y'CbCr samples map to unit values."""

    matrix: str = "bt601"
    bit_depth: int = 8
    full_range: bool = False

    def __post_init__(self) -> None:
        if self.matrix not in LUMA_COEFFICIENTS:
            raise ValueError(f"matrix must be one of {sorted(LUMA_COEFFICIENTS)}, got {self.matrix!r}")
        if not 8 <= self.bit_depth <= 16:
            raise ValueError(f"bit_depth must be 8..16, got {self.bit_depth}")

    @property
    def _scale(self) -> float:
        return float(1 << (self.bit_depth - 8))

    @property
    def dtype(self) -> type:
        return np.uint8 if self.bit_depth == 8 else np.uint16

    def luma_to_unit(self, y: np.ndarray) -> np.ndarray:
        """Integer Y plane ``(H, W)`` to unit luma ``(H, W)`` float32 (may slightly exceed [0, 1])."""
        y = y.astype(np.float32)
        if self.full_range:
            return y / float((1 << self.bit_depth) - 1)
        return (y - 16.0 * self._scale) / (219.0 * self._scale)

    def nominal_luma(self, y: np.ndarray) -> np.ndarray:
        """Integer Y plane ``(H, W)`` clipped to nominal black..white (unit 0..1), still integer: clipping here
        and converting after equals converting and clipping to [0, 1], in a pass over integers, not floats."""
        if self.full_range:
            return y
        return np.clip(y, 16 << (self.bit_depth - 8), 235 << (self.bit_depth - 8))

    def fit_chroma(self, y: np.ndarray, chroma: np.ndarray) -> np.ndarray:
        """:func:`fit_chroma_to_gamut` for this spec's integer Y plane ``(H, W)``, converted strip by strip."""
        if chroma.shape[:2] != y.shape or chroma.shape[-1] != 2:
            raise ValueError(f"chroma must be (H, W, 2) matching luma {y.shape}, got {chroma.shape}")
        return _fit_in_strips(y, y, chroma, self.matrix, self._rooms)

    def fit_subsampled_chroma(self, y: np.ndarray, chroma: np.ndarray, step: tuple[int, int]) -> np.ndarray:
        """Chroma ``(H // sy, W // sx, 2)`` of a plane subsampled by ``step`` ``(sx, sy)`` (4:2:0: (2, 2)), fitted
        for the integer Y plane ``(H, W)``: each sample so that every pixel it covers stays inside the cube (room
        toward white above the brightest, toward black below the darkest). A player spreads each sample over its
        pixels, so a fit pixel by pixel before subsampling would not hold after it either."""
        step_x, step_y = step
        h, w = chroma.shape[:2]
        if (h * step_y > y.shape[0]) or (w * step_x > y.shape[1]) or chroma.shape[-1] != 2:
            raise ValueError(f"chroma {chroma.shape} subsampled by {step} does not fit luma {y.shape}")
        if step == (1, 1):
            return self.fit_chroma(y[:h, :w], chroma)
        cover = np.ones((step_y, step_x), np.uint8)
        # A dilation (erosion) anchored at the block's first pixel: each block's extreme lands on that pixel.
        brightest = cv2.dilate(y, cover, anchor=(0, 0))[: h * step_y : step_y, : w * step_x : step_x]
        darkest = cv2.erode(y, cover, anchor=(0, 0))[: h * step_y : step_y, : w * step_x : step_x]
        return _fit_in_strips(
            np.ascontiguousarray(brightest), np.ascontiguousarray(darkest), chroma, self.matrix, self._rooms
        )

    def _rooms(self, brightest: np.ndarray, darkest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_rooms_of_unit` of integer Y samples, looked up in a table of every sample value (two passes
        over the plane instead of a dozen: the fit of an HD frame's chroma planes spent half its time there)."""
        white, black = _room_tables(self.bit_depth, self.full_range)
        if self.bit_depth == 8:
            return cv2.LUT(np.ascontiguousarray(brightest), white), cv2.LUT(np.ascontiguousarray(darkest), black)
        return white[0, brightest], black[0, darkest]

    def unit_to_luma(self, y: np.ndarray) -> np.ndarray:
        """Unit luma ``(H, W)`` to integer samples of this spec (for tests and reference images)."""
        v = y * float((1 << self.bit_depth) - 1) if self.full_range else y * 219.0 * self._scale + 16.0 * self._scale
        return np.clip(np.rint(v), 0, (1 << self.bit_depth) - 1).astype(self.dtype)

    def chroma_to_samples(self, chroma: np.ndarray) -> np.ndarray:
        """Unit chroma ``(..., 2)`` or any shape to integer chroma samples of this spec (rounded to nearest)."""
        if self.full_range:
            scale, offset = float((1 << self.bit_depth) - 1), float(1 << (self.bit_depth - 1))
        else:
            scale, offset = 224.0 * self._scale, 128.0 * self._scale
        top = (1 << self.bit_depth) - 1
        if chroma.ndim == 3 and chroma.shape[-1] <= 4 and chroma.dtype == np.float32:
            # One pass, scaled, rounded and saturated by OpenCV (a tenth of NumPy's four passes over an HD
            # frame's planes); a sample may round the other way where the product falls on a half.
            depth = cv2.CV_8U if self.bit_depth == 8 else cv2.CV_16U
            samples = cv2.addWeighted(chroma, scale, chroma, 0.0, offset, dtype=depth).reshape(chroma.shape)
            return samples if self.bit_depth in (8, 16) else np.minimum(samples, top, out=samples)
        return np.clip(np.rint(chroma * scale + offset), 0, top).astype(self.dtype)


def matrix_for_height(height: int) -> str:
    """The matrix players assume for untagged video of this height (HD means BT.709)."""
    return "bt709" if height >= 720 else "bt601"


def rgb_to_ycbcr(rgb: np.ndarray, matrix: str = "bt601") -> tuple[np.ndarray, np.ndarray]:
    """Gamma-encoded RGB ``(H, W, 3)`` in [0, 1] to unit luma ``(H, W)`` and unit chroma ``(H, W, 2)``."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3), got {rgb.shape}")
    kr, kb = LUMA_COEFFICIENTS[matrix]
    rgb = rgb.astype(np.float32, copy=False)
    y = kr * rgb[..., 0] + (1.0 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb = (rgb[..., 2] - y) / (2.0 * (1.0 - kb))
    cr = (rgb[..., 0] - y) / (2.0 * (1.0 - kr))
    return y, np.stack([cb, cr], axis=-1)


def ycbcr_to_rgb(y: np.ndarray, chroma: np.ndarray, matrix: str = "bt601") -> np.ndarray:
    """Unit luma ``(H, W)`` and unit chroma ``(H, W, 2)`` to RGB ``(H, W, 3)`` (not clipped)."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    kg = 1.0 - kr - kb
    cb, cr = chroma[..., 0], chroma[..., 1]
    r = y + 2.0 * (1.0 - kr) * cr
    b = y + 2.0 * (1.0 - kb) * cb
    g = (y - kr * r - kb * b) / kg
    return np.stack([r, g, b], axis=-1)


def fit_chroma_to_gamut(y: np.ndarray, chroma: np.ndarray, matrix: str = "bt601") -> np.ndarray:
    """Scale chroma toward neutral, per pixel, until RGB for the given luma lies in [0, 1].

    Args:
        y: unit luma ``(H, W)``; clipped to [0, 1] for the test (super-white stays neutral).
        chroma: unit chroma ``(H, W, 2)``.

    Returns:
        chroma ``(H, W, 2)`` float32 whose RGB is inside the cube; luma is untouched by design.
    """
    if chroma.shape[:2] != y.shape or chroma.shape[-1] != 2:
        raise ValueError(f"chroma must be (H, W, 2) matching luma {y.shape}, got {chroma.shape}")
    return _fit_in_strips(y, y, chroma, matrix, _rooms_of_unit)


Rooms = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(brightest, darkest luma of a strip) → (1 / room toward white, -1 / room toward black), float32."""


def _rooms_of_unit(brightest: np.ndarray, darkest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much a unit luma ``(h, w)`` leaves for colour: ``1 / (1 - y)`` toward white above the brightest,
    ``-1 / y`` toward black below the darkest (luma clipped to [0, 1]: super-white stays neutral)."""
    high = np.clip(brightest, 0.0, 1.0).astype(np.float32, copy=False)
    low = high if darkest is brightest else np.clip(darkest, 0.0, 1.0).astype(np.float32, copy=False)
    toward_white = np.float32(1.0) / np.maximum(np.float32(1.0) - high, np.float32(1e-6))
    toward_black = np.float32(-1.0) / np.maximum(low, np.float32(1e-6))
    return toward_white, toward_black


@functools.lru_cache(maxsize=8)
def _room_tables(bit_depth: int, full_range: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_rooms_of_unit` of every integer sample of a spec, ``(1, 2**bit_depth)`` float32 each."""
    unit = YCbCrSpec(bit_depth=bit_depth, full_range=full_range).luma_to_unit(np.arange(1 << bit_depth))
    white, black = _rooms_of_unit(unit, unit)
    return white.reshape(1, -1), black.reshape(1, -1)


def _fit_in_strips(
    brightest: np.ndarray,
    darkest: np.ndarray,
    chroma: np.ndarray,
    matrix: str,
    rooms: Rooms,
) -> np.ndarray:
    """The fit of ``chroma`` to the room above ``brightest`` and below ``darkest`` (one luma, or the extremes of
    the pixels a chroma sample covers; ``rooms`` turns them into room), in strips of rows: a dozen passes over an
    HD frame's planes then run from the cache rather than from memory (2.5x faster at 1080p)."""
    chroma = np.asarray(chroma, np.float32)
    out = np.empty(chroma.shape, np.float32)
    rows = max(1, GAMUT_STRIP_PIXELS // max(1, chroma.shape[1]))
    for top in range(0, chroma.shape[0], rows):
        part = slice(top, top + rows)
        _fit_strip(*rooms(brightest[part], darkest[part]), chroma[part], matrix, out[part])
    return out


# Pixels of one strip of the gamut fit: a strip's dozen float32 planes stay within a core's cache.
GAMUT_STRIP_PIXELS = 32_768


def _fit_strip(
    toward_white: np.ndarray, toward_black: np.ndarray, chroma: np.ndarray, matrix: str, out: np.ndarray
) -> None:
    """``chroma`` ``(h, w, 2)`` scaled into the room ``(h, w)`` each way (see :data:`Rooms`), into ``out``."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    kg = 1.0 - kr - kb
    # A channel's offset d from grey (r = y + d) takes the share d / (1 - y) of the room toward white, or
    # -d / y of the room toward black; s is 1 over the largest share (or 1). The room's factors are positive
    # toward white and negative toward black, so the largest share is the larger of the largest offset times the
    # one and the smallest times the other (rounding keeps order: the same as channel by channel, in half the
    # passes). Products, maxima and minima only, on contiguous planes.
    cb, cr = chroma[..., 0], chroma[..., 1]  # views: a split and a merge cost more than the passes they save
    # RGB offset from grey per unit of chroma: r = y + dr, g = y + dg, b = y + db.
    dr = cr * np.float32(2.0 * (1.0 - kr))
    db = cb * np.float32(2.0 * (1.0 - kb))
    dg = dr * np.float32(-kr / kg)
    dg -= db * np.float32(kb / kg)
    highest = np.maximum(np.maximum(dr, dg), db)
    lowest = np.minimum(np.minimum(dr, dg, out=dg), db, out=dg)
    largest = np.maximum(np.multiply(highest, toward_white, out=highest), np.multiply(lowest, toward_black, out=lowest))
    np.maximum(largest, np.float32(1.0), out=largest)
    s = np.divide(np.float32(1.0), largest, out=largest)
    np.multiply(cb, s, out=out[..., 0])
    np.multiply(cr, s, out=out[..., 1])
