"""The colour references of a run: loaded, decomposed into luma, chroma and regions, chosen per keyframe."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidcolor.cache import pinned_files_key
from vidcolor.colour import rgb_to_ycbcr
from vidcolor.errors import ReferenceImageError, check_readable_file
from vidcolor.frames.timecode import TimePoint, parse_time
from vidcolor.geometry import size_within
from vidcolor.match.placement import Placement
from vidcolor.native import native_stderr_silenced
from vidcolor.segment.base import Segmenter
from vidcolor.shared_types import Reference, RegionMasks

# Larger references only cost time: matching and statistics run far below this size.
MAX_REFERENCE_SIDE = 1024


def load_rgb(path: Path) -> np.ndarray:
    """Read an image as RGB ``(H, W, 3)`` float32 in [0, 1] (EXIF orientation applied, 16-bit kept).

    Images larger than :data:`MAX_REFERENCE_SIDE` are scaled down before they become float (an
    8000x8000 photograph would otherwise take 770 MB as float32).
    """
    path = Path(path)
    check_readable_file(path, ReferenceImageError, "an image")
    data = np.fromfile(path, dtype=np.uint8)
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH
    size = _jpeg_size(data)
    if size is not None and max(size) >= 2 * MAX_REFERENCE_SIDE:
        # JPEG decodes at 1/2, 1/4 or 1/8 scale directly: an 8000x8000 photograph never exists in full.
        reduction = min(8, 2 ** int(np.log2(max(size) / MAX_REFERENCE_SIDE)))
        flags = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[reduction]
    with native_stderr_silenced():  # libpng and libjpeg print their own complaints about bad files
        image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise ReferenceImageError(f"{path}: not a readable image (PNG, JPEG, TIFF, WebP, BMP)")
    h, w = image.shape[:2]
    if max(h, w) > MAX_REFERENCE_SIDE:
        rh, rw = size_within(h, w, MAX_REFERENCE_SIDE)
        image = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_AREA)
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(scale)


def _jpeg_size(data: np.ndarray) -> tuple[int, int] | None:
    """``(width, height)`` from a JPEG's frame header, or None when ``data`` is not a readable JPEG."""
    raw = data.tobytes()
    if not raw.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 9 < len(raw):
        if raw[at] != 0xFF:
            return None
        marker = raw[at + 1]
        length = int.from_bytes(raw[at + 2 : at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            return int.from_bytes(raw[at + 7 : at + 9], "big"), int.from_bytes(raw[at + 5 : at + 7], "big")
        at += 2 + length
    return None


def read_reference(path: Path, matrix: str) -> tuple[Reference, np.ndarray]:
    """The reference as luma and chroma (in the output's matrix), not yet segmented, and its RGB."""
    rgb = load_rgb(path)
    luma, chroma = rgb_to_ycbcr(rgb, matrix)
    if float(np.abs(chroma).max()) < 1.0 / 255.0:
        raise ReferenceImageError(f"{path}: has no colour (it is greyscale); a colour reference is needed")
    return Reference(luma, chroma, RegionMasks.whole(*luma.shape), matrix), rgb


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")


@dataclass(frozen=True)
class StyleSource:
    """A reference image and, when the user pinned it, the place in the video it shows."""

    path: Path
    at: TimePoint | None = None

    @classmethod
    def parse_all(cls, given: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[StyleSource]:
        """One reference or several, each as :meth:`parse` reads it."""
        texts = [given] if isinstance(given, str | os.PathLike) else list(given)
        return [source for text in texts for source in cls.parse(text)]

    @classmethod
    def parse(cls, text: str | os.PathLike[str]) -> list[StyleSource]:
        """``ref.png``, ``ref.png@12.5`` / ``ref.png@300f`` (pinned), or a folder of images (sorted by name).

        An ``@`` is a pin only where what follows it reads as a time and the whole text is not a file.
        """
        raw = str(text)
        path, at = Path(raw), None
        head, sep, tail = raw.rpartition("@")
        if sep and head and not path.exists():
            at = parse_time(tail, setting="style")
            path = Path(head)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not images:
                raise ReferenceImageError(f"{path}: a folder with no reference image ({', '.join(IMAGE_SUFFIXES)})")
            if at is not None:
                raise ReferenceImageError(f"{raw}: a folder of references cannot be pinned to one time")
            return [cls(p) for p in images]
        return [cls(path, at)]


def sources_key(sources: Sequence[StyleSource]) -> str:
    """A key of reference files' contents and pins (cheap: files are sampled, not decoded)."""
    return pinned_files_key(sources) or "none"


@dataclass(frozen=True)
class References:
    """Every colour reference of a run, in the order given, where each belongs, and a cache key.

    Attributes:
        sources: the files (and pins) as given.
        items: the decomposed references, one per source.
        placement: where each reference is placed and which one each shot takes (see ``match.placement``).
    """

    sources: tuple[StyleSource, ...]
    items: tuple[Reference, ...]
    placement: Placement
    rgb: tuple[np.ndarray, ...]  # the images as read, for the segmenter

    @classmethod
    def read(cls, sources: Sequence[StyleSource], matrix: str) -> References:
        """Read and check every reference (cheap: done before any model loads); regions come later.

        No sources gives no references: a run coloured by hints alone."""
        read = [read_reference(s.path, matrix) for s in sources]
        pinned_frame = sources[0].at.frames if len(sources) == 1 and sources[0].at is not None else None
        if not sources:
            return cls((), (), Placement.single(None), ())
        return cls(
            tuple(sources), tuple(r for r, _ in read), Placement.single(pinned_frame), tuple(rgb for _, rgb in read)
        )

    def segmented(self, segmenter: Segmenter) -> References:
        """The references with the segmenter's regions (the keyframes are segmented the same way)."""
        items = tuple(
            dataclasses.replace(r, masks=segmenter.segment(r.luma, rgb))
            for r, rgb in zip(self.items, self.rgb, strict=True)
        )
        return dataclasses.replace(self, items=items)

    @property
    def key(self) -> str:
        """Changes whenever a reference file's content or pin changes."""
        return sources_key(self.sources)

    def placed(self, placement: Placement) -> References:
        return dataclasses.replace(self, placement=placement)

    def for_frame(self, index: int) -> tuple[Reference | None, bool]:
        """The reference frame ``index`` of the run takes its colours from (None without references),
        and whether the reference is placed on this very frame (it then shows the frame's true colours)."""
        if not self.items:
            return None, False
        chosen, here = self.placement.reference_for(index)
        if chosen < 0:  # a shot the plan gives no reference (coloured by its hints, or left grey)
            return None, False
        return self.items[chosen], here
