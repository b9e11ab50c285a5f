"""Split a frame stream into windows between keyframes, on the fly.

A window runs from one keyframe up to (not including) the next. Keyframes are the first
frame, every shot start, every frame the caller marks (where a reference was placed), and every
``interval`` frames inside a shot. A window holds at most ``interval`` frames, so memory is
bounded whatever the video's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from vidcolor.temporal.shots import CutDetector

F = TypeVar("F")


@dataclass
class Window(Generic[F]):
    """Frames ``[keyframe, ...]`` and, when the shot goes on, the next keyframe (the right anchor)."""

    frames: list[F]
    next_keyframe: F | None
    starts_shot: bool


def windows(
    frames: Iterable[F],
    thumb_of: Callable[[F], np.ndarray],
    *,
    interval: int,
    detector: CutDetector | None = None,
    is_keyframe: Callable[[F], bool] | None = None,
) -> Iterator[Window[F]]:
    """Group ``frames`` into :class:`Window` s; ``thumb_of`` gives a frame's cut-detection thumbnail,
    ``is_keyframe`` marks frames that must be keyframes."""
    if interval < 1:
        raise ValueError(f"keyframe interval must be >= 1, got {interval}")
    detector = detector or CutDetector()
    buffer: list[F] = []
    starts_shot = True
    for frame in frames:
        cut = detector.is_cut(thumb_of(frame))
        if buffer and cut:
            yield Window(buffer, None, starts_shot)
            buffer, starts_shot = [], True
        elif len(buffer) >= interval or (buffer and is_keyframe is not None and is_keyframe(frame)):
            yield Window(buffer, frame, starts_shot)
            buffer, starts_shot = [], False
        buffer.append(frame)
    if buffer:
        yield Window(buffer, None, starts_shot)
