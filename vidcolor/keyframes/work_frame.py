"""A decoded frame as the temporal stages see it: its luma at work size (colour) and at flow size (flow and the
colour carried along it)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.colour import YCbCrSpec
from vidcolor.frames.frame import LumaFrame
from vidcolor.temporal.shots import thumbnail


@dataclass
class WorkFrame:
    """A frame plus its luma at work size (where keyframes are coloured) and at flow size (where flow is
    computed and colour carried between keyframes: ``FlowOptions.size``), as the temporal stages need it."""

    frame: LumaFrame
    unit: np.ndarray  # (h, w) float32 unit luma at work size
    u8: np.ndarray  # (fh, fw) uint8 at flow size, for flow
    smooth: np.ndarray  # (fh, fw) float32 unit luma at flow size, 5x5 box-blurred: photometric checks on texture

    @property
    def flow_shape(self) -> tuple[int, int]:
        """``(fh, fw)``: the size at which flow runs and colour is carried."""
        return self.u8.shape  # type: ignore[return-value]

    @classmethod
    def of(
        cls, frame: LumaFrame, spec: YCbCrSpec, size: tuple[int, int], flow: tuple[int, int] | None = None
    ) -> WorkFrame:
        """``frame`` brought to work ``size`` ``(w, h)`` and to ``flow`` size ``(w, h)`` (default: work size)."""
        # Clipped as integers, shrunk, then made unit: a full-size float plane gets one pass, not four.
        plane = spec.nominal_luma(frame.luma)
        if (plane.shape[1], plane.shape[0]) != size:
            plane = cv2.resize(plane.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        return cls._at_work_size(frame, spec.luma_to_unit(plane), flow)

    @classmethod
    def of_unit(cls, frame: LumaFrame, unit: np.ndarray, size: tuple[int, int]) -> WorkFrame:
        """A frame whose full-size unit luma ``(H, W)`` is ``unit`` (a photograph's), at work ``size`` ``(w, h)``."""
        if (unit.shape[1], unit.shape[0]) != size:
            unit = cv2.resize(unit, size, interpolation=cv2.INTER_AREA)
        return cls._at_work_size(frame, unit)

    @classmethod
    def _at_work_size(cls, frame: LumaFrame, unit: np.ndarray, flow: tuple[int, int] | None = None) -> WorkFrame:
        small = unit
        if flow is not None and (unit.shape[1], unit.shape[0]) != flow:
            small = cv2.resize(unit, flow, interpolation=cv2.INTER_AREA)
        u8 = np.rint(small * 255.0).astype(np.uint8)
        return cls(frame, unit, u8, cv2.blur(small, (5, 5)))


def frame_thumbnail(frame: LumaFrame, spec: YCbCrSpec) -> np.ndarray:
    """Unit luma ``(h, 64)`` float32 of a frame, from its full-size plane.

    The analysis pass sees frames through it (cuts, dissolves, where each reference shows); the render takes its
    shots from the plan and makes none (an HD frame's thumbnail was half a millisecond, for nothing).
    """
    return np.clip(spec.luma_to_unit(thumbnail(frame.luma)), 0.0, 1.0)
