"""Keyframes and the frames between: a frame at work size (``work_frame``), a keyframe's colour from its sources
(``compose``), and windows of frames coloured from their keyframes along optical flow (``windowing``)."""

from vidcolor.keyframes.compose import (
    SOURCES,
    KeyframeColour,
    KeyframeComposer,
    KeyframeStats,
    MaskInspector,
)
from vidcolor.keyframes.windowing import WindowColorizer
from vidcolor.keyframes.work_frame import WorkFrame, frame_thumbnail

__all__ = [
    "SOURCES",
    "KeyframeColour",
    "KeyframeComposer",
    "KeyframeStats",
    "MaskInspector",
    "WindowColorizer",
    "WorkFrame",
    "frame_thumbnail",
]
