"""Colour hints: strokes painted on a frame (a picture) or points (JSON/CSV), each at a time in the video.

A hint picture may be any size (it is scaled to the frame); a pixel is a hint unless it is
transparent or exactly grey (R = G = B), so the greyscale frame from ``vidcolor hints-template`` can
be painted on directly. Points are ``x, y, #rrggbb`` in the frame's pixels (optionally a radius), as
JSON ``{"points": [{"x": 10, "y": 20, "colour": "#ff0000"}, ...], "radius": 3}`` (or ``[x, y, "#rrggbb"]``
triples) or CSV rows ``x,y,colour[,radius]``; each becomes a disc, exactly as if painted.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidcolor.cache import pinned_files_key
from vidcolor.colour import rgb_to_ycbcr
from vidcolor.errors import InputError, check_readable_file
from vidcolor.frames.timecode import TimePoint, parse_time
from vidcolor.native import native_stderr_silenced
from vidcolor.temporal.affinity import shrink_constraints

POINT_RADIUS = 3
MAX_POINT_RADIUS = 10_000  # a disc larger than any frame is a typo
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class HintSource:
    """A hint file and the time of the frame it marks (the run's first frame when not given)."""

    path: Path
    at: TimePoint

    @classmethod
    def parse(cls, text: str | os.PathLike[str]) -> HintSource:
        """``hints.png``, ``hints.png@12.5`` or ``points.json@300f``."""
        raw = str(text)
        head, sep, tail = raw.rpartition("@")
        if sep and head and not Path(raw).exists():
            return cls(Path(head), parse_time(tail, setting="hints"))
        return cls(Path(raw), TimePoint(frames=0))

    def frame_index(self, rate: Fraction | None) -> int:
        """The run's frame this hint marks (times become frames at the nominal rate)."""
        if self.at.frames is not None:
            return self.at.frames
        return round(float(self.at.seconds or 0) * float(rate or 25))


@dataclass(frozen=True)
class HintImage:
    """Hints for one frame: unit chroma ``(h, w, 2)`` and where it is given ``(h, w)`` bool."""

    chroma: np.ndarray
    given: np.ndarray

    def at_size(self, height: int, width: int) -> HintImage:
        """Scaled so that no stroke is lost: a pixel is a hint where any hint covers a fifth of it."""
        if self.given.shape == (height, width):
            return self
        return HintImage(*shrink_constraints(self.chroma, self.given, (width, height), min_cover=0.2))


def read_hints(source: HintSource, width: int, height: int, matrix: str) -> HintImage:
    """The hints of ``source`` on a ``width x height`` frame, in the video's Y'CbCr ``matrix``.

    Raises:
        InputError: a missing or unreadable file, no hint in it, or a malformed point.
    """
    path = source.path
    check_readable_file(path, InputError, "a hint file")
    suffix = path.suffix.lower()
    if suffix in (".json", ".csv"):
        rgba = _points_picture(_read_points(path), width, height)
    else:
        rgba = _read_picture(path, width, height)
    rgb = rgba[..., :3].astype(np.float32) / 255.0
    grey = (rgba[..., 0] == rgba[..., 1]) & (rgba[..., 1] == rgba[..., 2])
    given = (rgba[..., 3] > 127) & ~grey
    if not given.any():
        raise InputError(f"{path}: holds no hint (every pixel is transparent or grey)")
    _, chroma = rgb_to_ycbcr(rgb, matrix)
    return HintImage(np.where(given[..., None], chroma, 0.0).astype(np.float32), given)


def hints_key(sources: Sequence[HintSource]) -> str:
    """A key of the hint files' contents and their times, for the keyframe cache's key (as references get)."""
    return pinned_files_key(sources)


def _read_picture(path: Path, width: int, height: int) -> np.ndarray:
    """RGBA uint8 at the frame's size (nearest neighbour: painted colours stay exact)."""
    data = np.fromfile(path, dtype=np.uint8)
    with native_stderr_silenced():
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise InputError(f"{path}: not a readable hint picture (PNG, JPEG, TIFF, WebP, BMP)")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    if rgba.shape[:2] != (height, width):
        rgba = cv2.resize(rgba, (width, height), interpolation=cv2.INTER_NEAREST)
    return rgba


def _read_points(path: Path) -> list[tuple[float, float, tuple[int, int, int], int]]:
    """``(x, y, (r, g, b), radius)`` per point of a JSON or CSV file."""
    text = path.read_text(encoding="utf-8")
    points = []
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(text)
            radius = int(document.get("radius", POINT_RADIUS)) if isinstance(document, dict) else POINT_RADIUS
            entries = document.get("points", []) if isinstance(document, dict) else document
            for entry in entries:
                if isinstance(entry, dict):
                    x, y, colour = entry["x"], entry["y"], entry.get("colour", entry.get("color"))
                    points.append((float(x), float(y), _rgb(colour), int(entry.get("radius", radius))))
                else:
                    x, y, colour = entry[:3]
                    points.append((float(x), float(y), _rgb(colour), radius))
        else:
            for row in csv.reader(text.splitlines()):
                if not row or row[0].strip().lower() in ("x", "") or row[0].lstrip().startswith("#"):
                    continue
                radius = int(row[3]) if len(row) > 3 and row[3].strip() else POINT_RADIUS
                points.append((float(row[0]), float(row[1]), _rgb(row[2].strip()), radius))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: not a readable list of hint points ({exc})") from exc
    for k, (x, y, _, radius) in enumerate(points):
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InputError(f"{path}: point {k + 1}: x and y must be numbers of pixels; got {x}, {y}")
        if not 0 <= radius <= MAX_POINT_RADIUS:
            raise InputError(f"{path}: point {k + 1}: radius {radius} is not from 0 to {MAX_POINT_RADIUS} pixels")
    return points


def _rgb(text: object) -> tuple[int, int, int]:
    match = _COLOUR.match(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a colour like #ff8800")
    value = int(match.group(1), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _points_picture(
    points: list[tuple[float, float, tuple[int, int, int], int]], width: int, height: int
) -> np.ndarray:
    """The points painted as discs on a transparent RGBA picture of the frame's size."""
    rgba = np.zeros((height, width, 4), np.uint8)
    for x, y, (r, g, b), radius in points:
        cv2.circle(rgba, (round(x), round(y)), radius, (r, g, b, 255), thickness=-1)
    return rgba
