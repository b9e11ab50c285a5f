"""A film cut into segments along its shot plan: runs of whole shots, the units of a shot-parallel render.

Colour never crosses a cut (each shot starts from its references, hints and its own keyframes), so a
segment that starts on a shot is coloured by a worker exactly as the whole run colours those frames.
Short shots are grouped (a segment costs a seek and a start), long ones stay whole: a shot's keyframes
are chained, each warm-started from the colour carried to it, so a shot is not cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from vidcolor.frames.timecode import FrameRange, TimePoint
from vidcolor.plan.model import Plan

# Segments per worker: more than one, so a worker that drew short ones takes another while a long one runs.
SEGMENTS_PER_WORKER = 4


@dataclass(frozen=True)
class Segment:
    """Frames ``first`` to ``last`` (both included, numbered as the plan numbers them) of shots ``shots``.

    ``start_s`` is its first frame's time from the video's start; ``end_s`` the next segment's (None for the
    last): a worker keeps the frames whose times fall between them, half a frame of slack either side.
    """

    number: int  # from 1
    first: int
    last: int
    shots: tuple[int, int]  # the first and last shot (counted from 1)
    start_s: float
    end_s: float | None

    @property
    def frames(self) -> int:
        return self.last - self.first + 1

    @property
    def name(self) -> str:
        return f"segment_{self.number:05d}.packets"

    def frame_range(self) -> FrameRange:
        """The decode range of its frames (by time, so the decoder seeks to it instead of counting from 0)."""
        start = TimePoint(seconds=Fraction(self.start_s)) if self.first > 0 else None
        end = TimePoint(seconds=Fraction(self.end_s)) if self.end_s is not None else None
        return FrameRange(start=start, end=end)


def split_segments(plan: Plan, workers: int, min_frames: int = 24) -> list[Segment]:
    """``plan``'s shots grouped into segments of at least ``min_frames`` (or a worker's share of the film
    over :data:`SEGMENTS_PER_WORKER`, if larger) frames, in film order; the last may be shorter."""
    total = plan.input.frames
    target = max(min_frames, math.ceil(total / max(1, workers * SEGMENTS_PER_WORKER)))
    groups: list[list[int]] = [[]]
    held = 0  # frames in the group being filled
    for k, shot in enumerate(plan.shots):
        if held >= target:
            groups.append([])
            held = 0
        groups[-1].append(k)
        held += shot.frames
    segments = []
    for number, group in enumerate(groups, start=1):
        first, last = plan.shots[group[0]], plan.shots[group[-1]]
        following = plan.shots[group[-1] + 1] if group[-1] + 1 < len(plan.shots) else None
        segments.append(
            Segment(
                number,
                first.first_frame,
                last.last_frame,
                (first.index, last.index),
                first.start_time,
                following.start_time if following is not None else None,
            )
        )
    return segments
