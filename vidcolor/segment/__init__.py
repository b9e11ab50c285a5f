"""Segmenter interface, registry and region masks."""

from vidcolor.segment.base import SEGMENTERS, RegionMasks, SegmentationError, Segmenter

__all__ = ["SEGMENTERS", "RegionMasks", "SegmentationError", "Segmenter"]
