"""The colouring of a run's frames, set up once from its plan: the stages, the references segmented and
placed, the hints at work size, the keyframe cache and the window colorizer.

A whole run colours every frame with one :class:`Colouring`; a worker of a shot-parallel run
(``vidcolor.film``) builds the same one from the same plan and colours only its segment's frames. Both
number frames as the plan does (from the run's first frame), and both key the keyframe cache the same
way, so a segment's colours are the whole run's, and a keyframe solved by one is read back by the other.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vidcolor.cache import KeyframeCache
from vidcolor.colour import YCbCrSpec, fit_chroma_to_gamut, matrix_for_height
from vidcolor.frames.decode import DecodeStats, iter_luma_frames
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.prefetch import prefetch
from vidcolor.frames.probe import VideoInfo
from vidcolor.frames.timecode import FrameRange
from vidcolor.geometry import work_size
from vidcolor.hints import hints_key, read_hints
from vidcolor.keyframes import KeyframeStats, MaskInspector, WindowColorizer, WorkFrame
from vidcolor.places import cache_place
from vidcolor.plan.make import render_parts
from vidcolor.plan.model import Plan
from vidcolor.references import References
from vidcolor.settings import Settings
from vidcolor.stages import Stages, build_automatic
from vidcolor.temporal.windows import windows

log = logging.getLogger("vidcolor")


def spec_of(info: VideoInfo) -> YCbCrSpec:
    """How the input's samples map to unit luma and chroma (its matrix, depth and range)."""
    return YCbCrSpec(matrix=matrix_for_height(info.height), bit_depth=info.bit_depth, full_range=info.full_range)


@dataclass
class Colouring:
    """Everything that colours the frames of one plan; :meth:`frames` streams them coloured."""

    info: VideoInfo
    spec: YCbCrSpec
    plan: Plan
    settings: Settings
    keyframes: WindowColorizer
    placed: frozenset[int]  # frames that must be keyframes: a reference placed there, hints on them
    work: tuple[int, int]  # (w, h) at which colour and flow are computed
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
    ) -> Colouring:
        """The colouring of ``plan`` (made for ``info``, whose content key is ``content``) with the run's
        ``references`` as read (not yet segmented) and ``stages``."""
        spec = spec_of(info)
        parts = render_parts(plan)
        automatic = build_automatic(settings, spec.matrix) if plan.automatic else None
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
        cache = KeyframeCache(
            place.path if settings.use_cache else None,
            content,
            settings_key,
            describe,
            limit_bytes=settings.cache_limit_mb << 20,
        )
        keyframes = WindowColorizer(
            stages.colorizer,
            stages.segmenter,
            stages.flow,
            references,
            cache,
            inspect,
            hint_map,
            automatic.colorize if automatic is not None else None,
            match_flow=stages.match_flow,
            neutral=parts.neutral,
        )
        placed = frozenset({f for f in references.placement.frames if f is not None} | set(hint_map))
        return cls(info, spec, plan, settings, keyframes, placed, (work_w, work_h), dict(parts.intervals), settings_key)

    @property
    def references(self) -> References:
        return self.keyframes.references

    @property
    def stats(self) -> KeyframeStats:
        return self.keyframes.stats

    def frames(
        self, frame_range: FrameRange, stats: DecodeStats, first: int = 0
    ) -> Generator[tuple[WorkFrame, np.ndarray], None, None]:
        """(work frame, work-size chroma) of the frames ``frame_range`` keeps, in order; ``first`` is the plan's
        number of the first of them (a segment's first frame), so frames are numbered as the plan numbers them.

        Decoding and the work frames' preparation run a few frames ahead in a thread (see frames.prefetch).
        Close the generator when leaving early: that stops the decoder thread.
        """
        decoded: Iterator[LumaFrame] = iter_luma_frames(self.info, frame_range, stats)
        if first:
            decoded = (replace(frame, index=frame.index + first) for frame in decoded)
        ahead = prefetch(WorkFrame.of(frame, self.spec, self.work) for frame in decoded)
        coloured = self.keyframes.run(
            windows(
                ahead,
                lambda work: self.plan.shot_of(work.frame.index),
                interval=lambda shot: self.intervals.get(shot, self.settings.keyframe_interval),
                is_keyframe=lambda work: work.frame.index in self.placed,
            )
        )
        try:
            yield from coloured
        finally:
            coloured.close()
            ahead.close()


def full_chroma(chroma: np.ndarray, frame: LumaFrame, spec: YCbCrSpec) -> np.ndarray:
    """Work-size chroma ``(h, w, 2)`` at the frame's full size, scaled into the RGB gamut of its own luma."""
    h, w = frame.luma.shape
    if chroma.shape[:2] != (h, w):
        chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    return fit_chroma_to_gamut(spec.luma_to_unit(frame.luma), chroma, spec.matrix)
