"""Split a frame stream into windows between keyframes, on the fly.

A window runs from one keyframe up to (not including) the next. Keyframes are the first frame,
every shot start (the shots come from the caller: a plan's, see ``vidcolor.plan``), every frame the
caller marks (where a reference was placed, a hinted frame), and every ``interval`` frames inside
a shot. A window holds at most ``interval`` frames, so memory is bounded whatever the video's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

F = TypeVar("F")


@dataclass
class Window(Generic[F]):
    """Frames ``[keyframe, ...]`` and, when the shot goes on, the next keyframe (the right anchor).

    ``shot`` is the shot the frames belong to (as ``shot_of`` numbers them)."""

    frames: list[F]
    next_keyframe: F | None
    starts_shot: bool
    shot: int = 0


def windows(
    frames: Iterable[F],
    shot_of: Callable[[F], int],
    *,
    interval: int | Callable[[int], int],
    is_keyframe: Callable[[F], bool] | None = None,
) -> Iterator[Window[F]]:
    """Group ``frames`` into :class:`Window` s.

    Args:
        shot_of: the shot a frame belongs to; where it changes, a shot starts.
        interval: most frames between keyframes, or a function of the shot giving it.
        is_keyframe: marks frames that must be keyframes.
    """
    interval_of = interval if callable(interval) else (lambda shot: interval)
    buffer: list[F] = []
    starts_shot = True
    shot = None
    for frame in frames:
        here = shot_of(frame)
        if shot is None:
            shot = here
        limit = interval_of(shot)
        if limit < 1:
            raise ValueError(f"keyframe interval must be >= 1, got {limit}")
        if buffer and here != shot:
            yield Window(buffer, None, starts_shot, shot)
            buffer, starts_shot, shot = [], True, here
        elif len(buffer) >= limit or (buffer and is_keyframe is not None and is_keyframe(frame)):
            yield Window(buffer, frame, starts_shot, shot)
            buffer, starts_shot = [], False
        buffer.append(frame)
    if buffer:
        yield Window(buffer, None, starts_shot, shot or 0)


def keyframes_of_shot(
    first: int, last: int, *, interval: int, is_keyframe: Callable[[int], bool] | None = None
) -> list[int]:
    """The frames ``first`` to ``last`` (one shot, numbered as a run numbers them) that :func:`windows`
    makes keyframes, with the same ``interval`` and marked frames: found by running it, so the two agree."""
    return [w.frames[0] for w in windows(range(first, last + 1), lambda frame: 0, interval=interval,
                                         is_keyframe=is_keyframe)]  # fmt: skip
