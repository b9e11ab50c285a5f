"""The temporal method: keyframes solved from the reference, colour carried to the frames between.

A stream of windows (a keyframe and the frames up to the next, see ``temporal.windows``) becomes a
stream of (frame, work-size chroma) pairs in order. In every window the left keyframe's colour is
carried forward along optical flow and the right keyframe's backward, and the two are blended by
confidence. Within a shot each keyframe is solved with the colour carried from the previous one
(its warm start), and its regions ride the same flow until the flow loses them. Solved keyframes
go to the cache, so a re-run only redoes the cheap propagation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.cache import KeyframeCache
from vidcolor.colour import YCbCrSpec
from vidcolor.frames.frame import LumaFrame
from vidcolor.references import References
from vidcolor.segment.base import RegionMasks, Segmenter
from vidcolor.segment.tracking import keep_identities, track, tracking_confidence
from vidcolor.solver.base import Keyframe, KeyframeColorizer
from vidcolor.temporal.flow import FlowEstimator
from vidcolor.temporal.propagate import Propagated, blend, step
from vidcolor.temporal.shots import thumbnail
from vidcolor.temporal.windows import Window

# Below this mean flow confidence over the tracked regions, a keyframe's regions are detected again.
REDETECT_BELOW = 0.6

# A shot at least this long also gets its last frame solved as a right anchor.
MIN_FRAMES_FOR_END_ANCHOR = 8

MaskInspector = Callable[[LumaFrame, np.ndarray, RegionMasks], None]
"""Called with (frame, unit luma at work size, regions) for every keyframe that is segmented."""


@dataclass
class WorkFrame:
    """A frame plus its work-size luma, as the temporal stages need it."""

    frame: LumaFrame
    unit: np.ndarray  # (h, w) float32 unit luma at work size
    u8: np.ndarray  # (h, w) uint8, for flow and cut detection

    @classmethod
    def of(cls, frame: LumaFrame, spec: YCbCrSpec, size: tuple[int, int]) -> WorkFrame:
        """``frame`` brought to work ``size`` ``(w, h)``."""
        unit = np.clip(spec.luma_to_unit(frame.luma), 0.0, 1.0)
        if (unit.shape[1], unit.shape[0]) != size:
            unit = cv2.resize(unit, size, interpolation=cv2.INTER_AREA)
        return cls(frame=frame, unit=unit, u8=np.rint(unit * 255.0).astype(np.uint8))

    def thumbnail(self) -> np.ndarray:
        """The cut detector's view of this frame."""
        return thumbnail(self.u8)


@dataclass
class KeyframeStats:
    """What the window colorizer did, for the run's result."""

    keyframes: int = 0
    cached: int = 0
    shots: int = 0
    masks_tracked: int = 0


class WindowColorizer:
    """Turns windows of work frames into (frame, work-size chroma) pairs, in order.

    Args:
        colorizer, segmenter, flow: the run's stages.
        references: the run's colour references.
        cache: where solved keyframes are kept (a disabled cache keeps nothing).
        inspect: called for every segmented keyframe (``--debug-masks`` writes overlays with it).
    """

    def __init__(
        self,
        colorizer: KeyframeColorizer,
        segmenter: Segmenter,
        flow: FlowEstimator,
        references: References,
        cache: KeyframeCache,
        inspect: MaskInspector | None = None,
    ) -> None:
        self._colorizer = colorizer
        self._segmenter = segmenter
        self._flow = flow
        self._references = references
        self._cache = cache
        self._inspect = inspect
        self._masks: RegionMasks | None = None  # the last solved keyframe's, for tracking within a shot
        self.stats = KeyframeStats()

    def run(self, stream: Iterable[Window[WorkFrame]]) -> Iterator[tuple[WorkFrame, np.ndarray]]:
        anchor: np.ndarray | None = None  # the solved chroma of the window's first frame
        for window in stream:
            frames = window.frames
            if window.starts_shot or anchor is None:
                self.stats.shots += 1
                anchor = self._solve(frames[0], previous=None)
            forward = [Propagated.anchor(anchor)]
            for prev, cur in itertools.pairwise(frames):
                forward.append(self._carry(forward[-1], cur, prev))
            if window.next_keyframe is not None:
                # The shot goes on: the next keyframe is the right anchor, and the next window's left.
                carried = self._carry(forward[-1], window.next_keyframe, frames[-1])
                anchor = self._solve(window.next_keyframe, previous=carried)
                chromas = self._blend_backward(frames, forward, window.next_keyframe, anchor, span=len(frames))
            elif len(frames) >= MIN_FRAMES_FOR_END_ANCHOR:
                # The shot ends here: its last frame is solved too, so new content that entered
                # during the shot gets colour from the reference rather than from nothing.
                end = self._solve(frames[-1], previous=forward[-1])
                chromas = self._blend_backward(frames[:-1], forward, frames[-1], end, span=len(frames) - 1)
                chromas.append(end)
                anchor = None
            else:
                chromas = [p.chroma for p in forward]
                anchor = None
            yield from zip(frames, chromas, strict=True)

    def _blend_backward(
        self,
        frames: list[WorkFrame],
        forward: list[Propagated],
        right: WorkFrame,
        right_chroma: np.ndarray,
        span: int,
    ) -> list[np.ndarray]:
        """Carry ``right_chroma`` from ``right`` back over ``frames[1:]`` and blend with the forward chain.

        ``span`` is the distance in frames from ``frames[0]`` to ``right``.
        """
        chromas: list[np.ndarray] = [forward[0].chroma] * len(frames)
        backward = Propagated.anchor(right_chroma)
        later = right
        for i in range(len(frames) - 1, 0, -1):
            backward = self._carry(backward, frames[i], later)
            chromas[i] = blend(forward[i], backward, position=i / span)
            later = frames[i]
        return chromas

    def _carry(self, previous: Propagated, target: WorkFrame, source: WorkFrame) -> Propagated:
        return step(previous, self._flow.flow(target.u8, source.u8), target.unit, source.unit)

    def _solve(self, work: WorkFrame, previous: Propagated | None) -> np.ndarray:
        self.stats.keyframes += 1
        name = f"kf_{work.frame.pts if work.frame.pts is not None else work.frame.index}"
        cached = self._cache.get(name)
        if cached is not None and cached.shape[:2] == work.unit.shape:
            self.stats.cached += 1
            self._masks = None  # not segmented: the next keyframe detects afresh
            return cached
        masks = self._masks_for(work, previous)
        if self._inspect is not None:
            self._inspect(work.frame, work.unit, masks)
        reference = self._references.for_keyframe(work.unit)
        chroma = self._colorizer.colorize(Keyframe(work.unit, masks), reference, previous)
        self._cache.put(name, chroma)
        return chroma

    def _masks_for(self, work: WorkFrame, previous: Propagated | None) -> RegionMasks:
        """Regions of a keyframe: carried from the last keyframe of the shot while the flow holds them."""
        tracked = None
        if previous is not None and self._masks is not None:
            tracked = track(self._masks, previous.packed[..., :2])
            if tracking_confidence(tracked, previous.confidence) >= REDETECT_BELOW:
                self.stats.masks_tracked += 1
                self._masks = tracked
                return tracked
        detected = self._segmenter.segment(work.unit)
        self._masks = keep_identities(detected, tracked) if tracked is not None else detected
        return self._masks
