"""The one small type every stage speaks: a decoded frame's luma and its timing."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class LumaFrame:
    """One decoded frame, upright, reduced to what is sacred: its Y plane and its timestamp.

    Attributes:
        index: position in presentation order among the frames of this run (0 = first kept).
        pts: presentation timestamp in ``time_base`` units, as decoded (None if the file has none).
        time_base: the input stream's time base; the output reuses it so VFR timing survives.
        luma: the decoded Y plane ``(H, W)``, uint8 or uint16 (10-bit), rotated upright.
    """

    index: int
    pts: int | None
    time_base: Fraction
    luma: np.ndarray

    @property
    def time(self) -> float | None:
        return None if self.pts is None else float(self.pts * self.time_base)
