"""The colouring of a run's frames, set up once from its plan: the stages, the references segmented and
placed, the hints at work size, the keyframe cache and the window colorizer.

A whole run colours every frame with one :class:`Colouring`; a worker of a shot-parallel run
(``vidcolor.film``) builds the same one from the same plan and colours only its segment's frames. Both
number frames as the plan does (from the run's first frame), and both key the keyframe cache the same
way, so a segment's colours are the whole run's, and a keyframe solved by one is read back by the other.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from vidcolor.cache import KeyframeCache, KeyframeStore, LayeredStore
from vidcolor.colour import YCbCrSpec
from vidcolor.frames.decode import DecodeStats, iter_luma_frames
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.prefetch import prefetch
from vidcolor.frames.probe import VideoInfo
from vidcolor.frames.timecode import FrameRange
from vidcolor.geometry import size_within, work_size
from vidcolor.hints import hints_key, read_hints
from vidcolor.keyframes import KeyframeComposer, KeyframeStats, MaskInspector, WindowColorizer, WorkFrame
from vidcolor.keyframes.windowing import MIN_FRAMES_FOR_END_ANCHOR
from vidcolor.places import cache_place
from vidcolor.plan.make import render_parts
from vidcolor.plan.model import Plan
from vidcolor.references import References
from vidcolor.settings import Settings
from vidcolor.stages import Stages, build_automatic
from vidcolor.temporal.windows import Window, keyframes_of_shot, windows

log = logging.getLogger("vidcolor")


# Frames read (and their flows started) ahead of the one being coloured, and queued behind it for the encoder:
# a window and a margin, so that all of the next window's flows are started while this one is carried, and the
# encoder has all of this window while the next one's keyframe is solved (a 640x360 reel of 50-frame shots,
# a keyframe every 48 frames: 8 % faster than 32 each way, +60 MB; three runs each). Never fewer than
# AHEAD_AT_LEAST; never more than BYTES_AHEAD of what the frames hold (a 4K frame's luma alone is 8 MB).
AHEAD_MARGIN = 16
AHEAD_AT_LEAST = 32
BYTES_AHEAD = 192 << 20


def frames_ahead(window: int, frame_bytes: int) -> int:
    """Frames to hold ahead (and behind) for windows of up to ``window`` frames, each holding ``frame_bytes``."""
    return max(AHEAD_AT_LEAST, min(window + AHEAD_MARGIN, BYTES_AHEAD // max(1, frame_bytes)))


@dataclass(frozen=True)
class ShotKeyframes:
    """Where the keyframes of a shot coloured in pieces are kept during a film's render (``vidcolor.film``):
    ``folder`` holds them all, whatever the keyframe cache's settings and limit. ``solving``: the shot's
    keyframe pass, which also reads and fills the keyframe cache, rather than a piece, which reads the
    folder only (a keyframe missing there would be solved from another start, and differ)."""

    folder: Path
    solving: bool


@dataclass
class Colouring:
    """Everything that colours the frames of one plan; :meth:`frames` streams them coloured."""

    info: VideoInfo
    spec: YCbCrSpec
    plan: Plan
    settings: Settings
    keyframes: WindowColorizer
    placed: frozenset[int]  # frames that must be keyframes: a reference placed there, hints on them
    work: tuple[int, int]  # (w, h) at which keyframes are coloured
    flow: tuple[int, int]  # (w, h) at which flow is computed and colour carried between keyframes
    intervals: dict[int, int]  # the shots (from 0) with a keyframe interval of their own
    colour_key: str  # what keys the keyframe cache: every colour setting, the references, the plan, the stages

    @classmethod
    def build(
        cls,
        info: VideoInfo,
        content: str,
        plan: Plan,
        references: References,
        settings: Settings,
        stages: Stages,
        inspect: MaskInspector | None = None,
        shot_keyframes: ShotKeyframes | None = None,
    ) -> Colouring:
        """The colouring of ``plan`` (made for ``info``, whose content key is ``content``) with the run's
        ``references`` as read (not yet segmented) and ``stages``; ``shot_keyframes``: a piece of a shot, or
        its keyframe pass (see :class:`ShotKeyframes`)."""
        spec = info.spec
        parts = render_parts(plan)
        automatic = build_automatic(settings, spec.matrix, stages.solve_service) if plan.automatic else None
        work_h, work_w = work_size(info.height, info.width, settings.work_size)
        hint_map = {
            source.frame_index(plan.input.fps): read_hints(source, info.width, info.height, spec.matrix).at_size(
                work_h, work_w
            )
            for source in parts.hints
        }
        references = references.segmented(stages.segmenter).placed(parts.placement)
        colour_sources = references.key + (f"|hints:{hints_key(parts.hints)}" if parts.hints else "")
        colour_sources += f"|auto:{automatic.identity}" if automatic is not None else ""
        colour_sources += f"|plan:{plan.render_key()}"
        settings_key, describe = settings.colour_key(colour_sources, stages.colorizer.identity())
        place = cache_place(settings.cache_dir)
        log.debug("keyframe cache: %s (%s)%s", place.path, place.why, "" if settings.use_cache else ", not used")
        cache: KeyframeStore = KeyframeCache(
            place.path if settings.use_cache else None,
            content,
            settings_key,
            describe,
            limit_bytes=settings.cache_limit_mb << 20,
        )
        if shot_keyframes is not None:
            own = KeyframeCache(shot_keyframes.folder, content, settings_key)  # no limit: it lasts one render
            cache = LayeredStore(own, cache) if shot_keyframes.solving else own
        composer = KeyframeComposer(
            stages.colorizer,
            stages.segmenter,
            references,
            cache,
            inspect,
            hint_map,
            automatic.colorize if automatic is not None else None,
            match_flow=stages.match_flow,
        )
        keyframes = WindowColorizer(composer, stages.flow, neutral=parts.neutral)
        placed = parts.forced_keyframes(plan.input.fps)
        flow_h, flow_w = size_within(work_h, work_w, settings.flow_options.size)
        sizes = (work_w, work_h), (flow_w, flow_h)
        return cls(info, spec, plan, settings, keyframes, placed, *sizes, dict(parts.intervals), settings_key)

    @property
    def frames_ahead(self) -> int:
        """How many frames are read ahead of the one being coloured, and queued for the encoder behind it."""
        window = max([self.settings.keyframe_interval, *self.intervals.values()])
        luma = self.info.width * self.info.height * (1 if self.info.bit_depth == 8 else 2)
        # A frame ahead holds its full-size luma, its work-size unit luma (float32) and, at flow size, its uint8
        # and smoothed luma and the two flows to the frame before (float32 pairs).
        work = self.work[0] * self.work[1] * 4
        flow = self.flow[0] * self.flow[1] * (1 + 4 + 2 * 8)
        return frames_ahead(window, luma + work + flow)

    @property
    def references(self) -> References:
        return self.keyframes.references

    @property
    def stats(self) -> KeyframeStats:
        return self.keyframes.stats

    def frames(
        self, frame_range: FrameRange, stats: DecodeStats, first: int = 0, only: tuple[int, int] | None = None
    ) -> Generator[tuple[WorkFrame, np.ndarray], None, None]:
        """(work frame, work-size chroma) of the frames ``frame_range`` keeps, in order; ``first`` is the plan's
        number of the first of them (a segment's first frame), so frames are numbered as the plan numbers them.
        ``only``: the plan's numbers of the first and last frame to colour, the others decoded and dropped (a
        piece of a shot starts on one of its keyframes, and its frames are counted from the shot's first).

        Decoding and the work frames' preparation run a few frames ahead in a thread (see frames.prefetch).
        Close the generator when leaving early: that stops the decoder thread.
        """
        ahead = self._work_frames(frame_range, stats, first, only)
        coloured = self.keyframes.run(self._windows(ahead))
        try:
            yield from coloured
        finally:
            coloured.close()
            ahead.close()

    def solve_keyframes(self, frame_range: FrameRange, stats: DecodeStats, first: int = 0) -> int:
        """Solve and keep the keyframes of the frames ``frame_range`` keeps (one shot, whose first frame the
        plan numbers ``first``) as :meth:`frames` would, without colouring the others; returns the frames seen."""
        seen = 0

        def counted(frames: Iterator[WorkFrame]) -> Iterator[WorkFrame]:
            nonlocal seen
            for work in frames:
                seen += 1
                yield work

        ahead = self._work_frames(frame_range, stats, first, None)
        try:
            self.keyframes.solve_keyframes(self._windows(counted(ahead)))
        finally:
            ahead.close()
        return seen

    def _work_frames(
        self, frame_range: FrameRange, stats: DecodeStats, first: int, only: tuple[int, int] | None
    ) -> Generator[WorkFrame, None, None]:
        decoded: Iterator[LumaFrame] = iter_luma_frames(self.info, frame_range, stats)
        if first:
            decoded = (replace(frame, index=frame.index + first) for frame in decoded)
        if only is not None:
            low, high = only
            decoded = itertools.takewhile(
                lambda frame: frame.index <= high, itertools.dropwhile(lambda frame: frame.index < low, decoded)
            )
        shot_of = lambda work: self.plan.shot_of(work.frame.index)  # noqa: E731
        prepared = (WorkFrame.of(frame, self.spec, self.work, self.flow) for frame in decoded)
        ahead = self.keyframes.flows_ahead(prepared, shot_of, self.solved_frames)
        return prefetch(ahead, depth=self.frames_ahead)

    @functools.cached_property
    def solved_frames(self) -> frozenset[int]:
        """The frames the windows will solve as keyframes (those ``keyframes_of_shots`` names, and each shot's
        last frame where it gets an end anchor), so that their reference matches start ahead. A prediction:
        a frame it misses is matched when solved, one it names in vain costs a match in a side thread."""
        of_shot = keyframes_of_shots(self.plan, self.settings)
        frames: set[int] = set()
        for k, shot in enumerate(self.plan.shots):
            keyframes = of_shot(k)
            frames.update(keyframes)
            if keyframes and shot.last_frame + 1 - keyframes[-1] >= MIN_FRAMES_FOR_END_ANCHOR:
                frames.add(shot.last_frame)
        return frozenset(frames)

    def _windows(self, frames: Iterator[WorkFrame]) -> Iterator[Window[WorkFrame]]:
        return windows(
            frames,
            lambda work: self.plan.shot_of(work.frame.index),
            interval=lambda shot: self.intervals.get(shot, self.settings.keyframe_interval),
            is_keyframe=lambda work: work.frame.index in self.placed,
        )


def keyframes_of_shots(plan: Plan, settings: Settings) -> Callable[[int], list[int]]:
    """A shot's keyframes (by its position from 0; frames as the plan numbers them), as :meth:`Colouring.frames`
    will make them: from its first frame every keyframe interval, and where a reference or hints are placed."""
    parts = render_parts(plan)
    forced = parts.forced_keyframes(plan.input.fps)

    def keyframes(k: int) -> list[int]:
        shot = plan.shots[k]
        interval = parts.intervals.get(k, settings.keyframe_interval)
        return keyframes_of_shot(shot.first_frame, shot.last_frame, interval=interval, is_keyframe=forced.__contains__)

    return keyframes


def plane_chroma(chroma: np.ndarray, frame: LumaFrame, spec: YCbCrSpec, step: tuple[int, int]) -> np.ndarray:
    """Work-size chroma ``(h, w, 2)`` as an output subsampled by ``step`` ``(sx, sy)`` stores it, ``(H // sy,
    W // sx, 2)``, scaled into the RGB gamut of the pixels each sample covers: resized once, from work size
    straight to the chroma planes' (an HD frame's full-size chroma is never made for a 4:2:0 output)."""
    h, w = frame.luma.shape
    size = (w // step[0], h // step[1])
    if (chroma.shape[1], chroma.shape[0]) != size:
        shrink = size[0] < chroma.shape[1]
        chroma = cv2.resize(chroma, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return spec.fit_subsampled_chroma(frame.luma, chroma, step)


def full_chroma(chroma: np.ndarray, frame: LumaFrame, spec: YCbCrSpec) -> np.ndarray:
    """Work-size chroma ``(h, w, 2)`` at the frame's full size, scaled into the RGB gamut of its own luma."""
    h, w = frame.luma.shape
    if chroma.shape[:2] != (h, w):
        chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    return spec.fit_chroma(frame.luma, chroma)
