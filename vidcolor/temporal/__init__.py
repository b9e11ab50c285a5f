"""Optical flow, shot cuts, keyframe windows and colour propagation (OpenCV, numpy)."""

from vidcolor.sampling import warp
from vidcolor.shared_types import Propagated
from vidcolor.temporal.flow import FLOWS, FlowError, FlowEstimator
from vidcolor.temporal.propagate import blend, step
from vidcolor.temporal.shots import CutDetector
from vidcolor.temporal.windows import Window, windows

__all__ = [
    "FLOWS",
    "CutDetector",
    "FlowError",
    "FlowEstimator",
    "Propagated",
    "Window",
    "blend",
    "step",
    "warp",
    "windows",
]
