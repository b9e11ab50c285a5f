"""Load the colour reference image and decompose it into luma, chroma and regions."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vidcolor.colour import rgb_to_ycbcr
from vidcolor.errors import ReferenceImageError, check_readable_file
from vidcolor.segment.base import Segmenter
from vidcolor.solver.base import Reference
from vidcolor.solver.upsample import size_within

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
        rgb = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA)
    return rgb


def load_reference(path: Path, segmenter: Segmenter, matrix: str) -> Reference:
    """The reference as luma, chroma (in the output's matrix) and the segmenter's regions."""
    rgb = load_rgb(path)
    luma, chroma = rgb_to_ycbcr(rgb, matrix)
    if float(np.abs(chroma).max()) < 1.0 / 255.0:
        raise ReferenceImageError(f"{path}: has no colour (it is greyscale); a colour reference is needed")
    return Reference(luma=luma, chroma=chroma, masks=segmenter.segment(luma, rgb))
