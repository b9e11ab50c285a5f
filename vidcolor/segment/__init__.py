"""Segmenter interface, registry, region vocabulary and the MediaPipe segmenter."""

from vidcolor.segment import bisenet as _bisenet  # noqa: F401  (registers "bisenet"; torch only when used)
from vidcolor.segment import mediapipe_seg as _mediapipe_seg  # noqa: F401  (registers "mediapipe")
from vidcolor.segment.base import SEGMENTERS, RegionMasks, SegmentationError, Segmenter
from vidcolor.segment.regions import counterpart, feathered, overlay

__all__ = ["SEGMENTERS", "RegionMasks", "SegmentationError", "Segmenter", "counterpart", "feathered", "overlay"]
