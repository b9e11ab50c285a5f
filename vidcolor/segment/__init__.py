"""Segmenter interface, registry, region vocabulary; the MediaPipe and BiSeNet segmenters load on use."""

from vidcolor.segment.base import SEGMENTERS, SegmentationError, Segmenter
from vidcolor.segment.regions import counterpart, feathered, overlay
from vidcolor.shared_types import RegionMasks

# Imported when chosen: MediaPipe's import costs about a second, BiSeNet's brings torch.
SEGMENTERS.register_lazy("mediapipe", "vidcolor.segment.mediapipe_seg:MediaPipeSegmenter")
SEGMENTERS.register_lazy("bisenet", "vidcolor.segment.bisenet:BiSeNetSegmenter", needs_torch=True, extra="solver")

__all__ = ["SEGMENTERS", "RegionMasks", "SegmentationError", "Segmenter", "counterpart", "feathered", "overlay"]
