"""The colour references of a run: loaded, decomposed into luma, chroma and regions, chosen per keyframe."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidcolor.cache import fingerprint
from vidcolor.colour import rgb_to_ycbcr
from vidcolor.errors import ReferenceImageError, check_readable_file
from vidcolor.geometry import size_within
from vidcolor.segment.base import Segmenter
from vidcolor.solver.base import Reference

# Larger references only cost time: matching and statistics run far below this size.
MAX_REFERENCE_SIDE = 1024


def load_rgb(path: Path) -> np.ndarray:
    """Read an image as RGB ``(H, W, 3)`` float32 in [0, 1] (EXIF orientation applied, 16-bit kept)."""
    path = Path(path)
    check_readable_file(path, ReferenceImageError, "an image")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH) if data.size else None
    if image is None:
        raise ReferenceImageError(f"{path}: not a readable image (PNG, JPEG, TIFF, WebP, BMP)")
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / scale
    h, w = rgb.shape[:2]
    if max(h, w) > MAX_REFERENCE_SIDE:
        rh, rw = size_within(h, w, MAX_REFERENCE_SIDE)
        return cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA).astype(np.float32)
    return rgb


def load_reference(path: Path, segmenter: Segmenter, matrix: str) -> Reference:
    """The reference as luma, chroma (in the output's matrix) and the segmenter's regions."""
    rgb = load_rgb(path)
    luma, chroma = rgb_to_ycbcr(rgb, matrix)
    if float(np.abs(chroma).max()) < 1.0 / 255.0:
        raise ReferenceImageError(f"{path}: has no colour (it is greyscale); a colour reference is needed")
    return Reference(luma=luma, chroma=chroma, masks=segmenter.segment(luma, rgb), matrix=matrix)


@dataclass(frozen=True)
class References:
    """Every colour reference of a run, in the order given, with a content key for the cache.

    A run has one reference today; this is the unit that places references in time and picks
    one per shot when a run has several.
    """

    paths: tuple[Path, ...]
    items: tuple[Reference, ...]

    @classmethod
    def load(cls, paths: tuple[Path, ...], segmenter: Segmenter, matrix: str) -> References:
        return cls(paths, tuple(load_reference(p, segmenter, matrix) for p in paths))

    @property
    def key(self) -> str:
        """Changes whenever any reference file's content changes."""
        return "+".join(fingerprint(p) for p in self.paths)

    def for_keyframe(self, luma: np.ndarray) -> Reference:
        """The reference a keyframe ``(h, w)`` unit luma takes its colours from."""
        return self.items[0]
