"""A film cut into segments along its shot plan: runs of whole shots, the units of a shot-parallel render.

Colour never crosses a cut (each shot starts from its references, hints and its own keyframes), so a
segment that starts on a shot is coloured by a worker exactly as the whole run colours those frames.
Short shots are grouped (a segment costs a seek and a start).

With 3 workers or more, a shot longer than a worker's share of the film is cut into pieces at its
keyframes. A shot's keyframes are chained, each warm-started from the colour carried to it, so they are
solved first, in order, by the shot's keyframe pass (``WindowColorizer.solve_keyframes``); each piece
then finds every keyframe it meets solved, and colours its frames from them exactly as the whole run does. A piece decodes from its
shot's first frame (a seek by the shot's time, then frames counted, so a variable frame rate cannot move
it) and colours up to the next piece's first keyframe, its right anchor, which it does not write.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from vidcolor.frames.timecode import FrameRange, TimePoint
from vidcolor.plan.model import Plan

# Segments per worker: more than one, so a worker that drew short ones takes another while a long one runs.
SEGMENTS_PER_WORKER = 4
# The fewest workers for which a long shot is cut into pieces. Its keyframe pass costs about half of
# colouring the shot and runs before the pieces, so with W workers the shot takes about 1/2 + 1/W of its
# single-run time: nothing gained with 2 (measured on 2 cores: 0.78x, one 300-frame shot), a gain from 3.
MIN_WORKERS_FOR_PIECES = 3


@dataclass(frozen=True)
class Segment:
    """Frames ``first`` to ``last`` (both included, numbered as the plan numbers them) of shots ``shots``.

    ``start_s`` is the time of the first frame it decodes, from the video's start; ``end_s`` the next
    shot's (None for the last): a worker keeps the frames whose times fall between them, half a frame of
    slack either side. A piece of a shot (``origin`` given) decodes from the shot's first frame ``origin``
    and colours ``first`` to ``through`` (beyond ``last``: the next piece's first keyframe, its right anchor),
    once the keyframe pass of shot ``shots[0]`` is done.
    """

    number: int  # from 1
    first: int
    last: int
    shots: tuple[int, int]  # the first and last shot (counted from 1)
    start_s: float
    end_s: float | None
    origin: int | None = None
    through: int | None = None

    @property
    def frames(self) -> int:
        return self.last - self.first + 1

    @property
    def is_piece(self) -> bool:
        return self.origin is not None

    @property
    def decoded_from(self) -> int:
        """The plan's number of the first frame it decodes."""
        return self.origin if self.origin is not None else self.first

    @property
    def name(self) -> str:
        return f"segment_{self.number:05d}.packets"

    def frame_range(self) -> FrameRange:
        """The decode range of its frames (by time, so the decoder seeks to it instead of counting from 0)."""
        start = TimePoint(seconds=Fraction(self.start_s)) if self.decoded_from > 0 else None
        end = TimePoint(seconds=Fraction(self.end_s)) if self.end_s is not None else None
        return FrameRange(start=start, end=end)


KeyframesOf = Callable[[int], list[int]]
"""The keyframes (frames, as the plan numbers them) of a shot (counted from 0), as the colouring makes them."""


def split_segments(
    plan: Plan, workers: int, min_frames: int = 24, keyframes_of: KeyframesOf | None = None
) -> list[Segment]:
    """``plan``'s shots grouped into segments of at least ``min_frames`` (or a worker's share of the film
    over :data:`SEGMENTS_PER_WORKER`, if larger) frames, in film order; the last may be shorter.

    With ``keyframes_of`` and at least :data:`MIN_WORKERS_FOR_PIECES` workers, a shot longer than a worker's
    share of the film (which would keep one worker busy after the others finish) is cut into pieces of about the segments' size at
    its keyframes; a shot left grey is not (it costs nothing to colour).
    """
    total = plan.input.frames
    target = max(min_frames, math.ceil(total / max(1, workers * SEGMENTS_PER_WORKER)))
    share = math.ceil(total / max(1, workers))
    groups: list[list[int]] = [[]]
    pieces: dict[int, list[int]] = {}  # a long shot (from 0) → the first frame of each of its pieces
    held = 0  # frames in the group being filled
    for k, shot in enumerate(plan.shots):
        starts = None
        long_shot = shot.frames > share and not shot.overrides.neutral
        if keyframes_of is not None and workers >= MIN_WORKERS_FOR_PIECES and long_shot:
            starts = _piece_starts(keyframes_of(k), shot.last_frame, target, min_frames)
        if held >= target or (starts is not None and held):
            groups.append([])
            held = 0
        groups[-1].append(k)
        held += shot.frames
        if starts is not None:
            pieces[k] = starts
            held = target  # nothing joins a shot in pieces
    segments: list[Segment] = []
    for group in groups:
        first, last = plan.shots[group[0]], plan.shots[group[-1]]
        following = plan.shots[group[-1] + 1] if group[-1] + 1 < len(plan.shots) else None
        end_s = following.start_time if following is not None else None
        starts = pieces.get(group[0])
        if starts is None:
            segments.append(Segment(len(segments) + 1, first.first_frame, last.last_frame, (first.index, last.index),
                                    first.start_time, end_s))  # fmt: skip
            continue
        for start, after in zip(starts, [*starts[1:], None], strict=True):
            segments.append(
                Segment(
                    len(segments) + 1,
                    start,
                    after - 1 if after is not None else first.last_frame,
                    (first.index, first.index),
                    first.start_time,
                    end_s,
                    origin=first.first_frame,
                    through=after if after is not None else first.last_frame,
                )
            )
    return segments


def _piece_starts(keyframes: list[int], last: int, target: int, min_frames: int) -> list[int] | None:
    """The keyframes a shot's pieces start on: about ``target`` frames apart, none shorter than
    ``min_frames`` (the last joins the one before); None when the shot stays whole."""
    starts = [keyframes[0]]
    for frame in keyframes[1:]:
        if frame - starts[-1] >= target and last + 1 - frame >= min_frames:
            starts.append(frame)
    return starts if len(starts) > 1 else None
