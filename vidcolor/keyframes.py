"""The temporal method: keyframes coloured from the references, colour carried to the frames between.

A stream of windows (a keyframe and the frames up to the next, see ``temporal.windows``) becomes a
stream of (frame, work-size chroma) pairs in order. In every window the left keyframe's colour is
carried forward along optical flow and the right keyframe's backward, and the two are blended by
confidence. Flow is computed both ways between neighbouring frames once, and a pixel's trust falls
where the round trip does not come back (occlusion) or the luma it lands on differs.

A keyframe takes its colour in this order of trust: the reference's own pixels through a dense
correspondence, where the reference shows the same scene and the match is sure (one flow away from
the truth, where the carry has drifted over every frame since the last keyframe); the colour carried
from the previous keyframe of the shot, where the carry held; and, for what neither vouches for,
trusted colour spread along luma edges from nearby or, where there is none, the keyframe colorizer
(region matching against the reference). Solved keyframes go to the cache, so a re-run only redoes
the cheap propagation.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from vidcolor.cache import KeyframeStore
from vidcolor.colour import YCbCrSpec
from vidcolor.frames.frame import LumaFrame
from vidcolor.hints import HintImage
from vidcolor.match.correspond import ReferenceMatcher
from vidcolor.references import References
from vidcolor.segment.base import RegionMasks, Segmenter
from vidcolor.segment.tracking import keep_identities, track, tracking_confidence
from vidcolor.solver.base import Keyframe, KeyframeColorizer, Trusted
from vidcolor.temporal.affinity import propagate
from vidcolor.temporal.flow import FlowEstimator
from vidcolor.temporal.propagate import Propagated, blend, step
from vidcolor.temporal.reach import stroke_reach
from vidcolor.temporal.refine import spread_trusted
from vidcolor.temporal.shots import thumbnail
from vidcolor.temporal.windows import Window
from vidcolor.threads import side_threads

log = logging.getLogger("vidcolor")

# Below this mean flow confidence over the tracked regions, a keyframe's regions are detected again.
REDETECT_BELOW = 0.6

# A shot at least this long also gets its last frame solved as a right anchor.
MIN_FRAMES_FOR_END_ANCHOR = 8

# Where a keyframe's colour comes from, in order of trust.
SOURCES = ("reference", "carried", "spread", "colorizer")

# The keyframe colorizer runs only when more than this fraction of a keyframe has neither trusted
# colour nor trusted colour nearby (its cost is then worth paying).
SOLVE_ABOVE = 0.005
# How sure a keyframe's colour is where it was spread from trusted neighbours, and where the
# colorizer guessed it: the chains carried from the keyframe start with these confidences, so a
# guess does not outweigh a good carry from the other side of a window.
SPREAD_CERTAINTY = 0.5
SOLVED_CERTAINTY = 0.2
HINTED_CERTAINTY = 0.8


@dataclass(frozen=True)
class KeyframeColour:
    """A keyframe's chroma ``(h, w, 2)`` and how sure each pixel of it is ``(h, w)``."""

    chroma: np.ndarray
    certainty: np.ndarray

    def anchor(self) -> Propagated:
        return Propagated.anchor(self.chroma, self.certainty)

    def stacked(self) -> np.ndarray:
        """``(h, w, 3)`` float16: chroma then certainty, as the cache stores a keyframe."""
        return np.dstack([self.chroma, self.certainty]).astype(np.float16)

    @classmethod
    def unstacked(cls, stacked: np.ndarray) -> KeyframeColour:
        colour = stacked.astype(np.float32)
        return cls(np.ascontiguousarray(colour[..., :2]), np.ascontiguousarray(colour[..., 2]))


MaskInspector = Callable[[LumaFrame, np.ndarray, RegionMasks], None]
"""Called with (frame, unit luma at work size, regions) for every keyframe that is segmented."""


@dataclass
class WorkFrame:
    """A frame plus its work-size luma, as the temporal stages need it."""

    frame: LumaFrame
    unit: np.ndarray  # (h, w) float32 unit luma at work size
    u8: np.ndarray  # (h, w) uint8, for flow and cut detection
    smooth: np.ndarray  # (h, w) float32 unit luma, 5x5 box-blurred: photometric checks on texture
    thumb: np.ndarray  # the cut detector's and the reference placement's view (see frame_thumbnail)

    @classmethod
    def of(cls, frame: LumaFrame, spec: YCbCrSpec, size: tuple[int, int]) -> WorkFrame:
        """``frame`` brought to work ``size`` ``(w, h)``."""
        # Clipped as integers, shrunk, then made unit: a full-size float plane gets one pass, not four.
        plane = spec.nominal_luma(frame.luma)
        if (plane.shape[1], plane.shape[0]) != size:
            plane = cv2.resize(plane.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        return cls._at_work_size(frame, spec.luma_to_unit(plane), frame_thumbnail(frame, spec))

    @classmethod
    def of_unit(
        cls, frame: LumaFrame, unit: np.ndarray, size: tuple[int, int], thumb: np.ndarray | None = None
    ) -> WorkFrame:
        """A frame whose full-size unit luma ``(H, W)`` is ``unit`` (a photograph's), at work ``size`` ``(w, h)``."""
        full = unit
        if (unit.shape[1], unit.shape[0]) != size:
            unit = cv2.resize(unit, size, interpolation=cv2.INTER_AREA)
        return cls._at_work_size(frame, unit, thumb if thumb is not None else thumbnail(full))

    @classmethod
    def _at_work_size(cls, frame: LumaFrame, unit: np.ndarray, thumb: np.ndarray) -> WorkFrame:
        u8 = np.rint(unit * 255.0).astype(np.uint8)
        return cls(frame, unit, u8, cv2.blur(unit, (5, 5)), thumb)

    def thumbnail(self) -> np.ndarray:
        return self.thumb


def frame_thumbnail(frame: LumaFrame, spec: YCbCrSpec) -> np.ndarray:
    """Unit luma ``(h, 64)`` float32 of a frame, from its full-size plane.

    Both passes (reference placement, then colouring) see frames through this one function, so
    their cut detectors find the same shots.
    """
    return np.clip(spec.luma_to_unit(thumbnail(frame.luma)), 0.0, 1.0)


@dataclass
class KeyframeStats:
    """What the window colorizer did, for the run's result."""

    keyframes: int = 0
    cached: int = 0
    shots: int = 0
    masks_tracked: int = 0
    # Summed over the keyframes coloured in this run: the fraction of pixels whose colour came from
    # the reference through correspondence, from the carried colour, from trusted neighbours, or
    # from the colorizer.
    sources: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0.0))

    def source_shares(self) -> dict[str, float]:
        """Mean share of each colour source over the keyframes coloured in this run."""
        coloured = self.keyframes - self.cached
        return {k: v / coloured for k, v in self.sources.items()} if coloured else dict.fromkeys(SOURCES, 0.0)


class WindowColorizer:
    """Turns windows of work frames into (frame, work-size chroma) pairs, in order.

    Args:
        colorizer, segmenter, flow: the run's stages.
        references: the run's colour references.
        cache: where solved keyframes are kept (a disabled cache keeps nothing).
        inspect: called for every segmented keyframe (``--debug-masks`` writes overlays with it).
        hints: colour hints by frame index of the run (each such frame is a keyframe; see ``hints``).
        automatic: unit luma → chroma without a reference (a colorization network), for runs with
            neither references nor hints; it fills what the carry does not vouch for.
        match_flow: the flow estimator that matches keyframes to references (``Stages.match_flow``).
        neutral: the shots (as the windows number them) left uncoloured: no keyframe of theirs is solved.
    """

    def __init__(
        self,
        colorizer: KeyframeColorizer,
        segmenter: Segmenter,
        flow: FlowEstimator,
        references: References,
        cache: KeyframeStore,
        inspect: MaskInspector | None = None,
        hints: Mapping[int, HintImage] | None = None,
        automatic: Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        match_flow: FlowEstimator,
        neutral: Collection[int] = (),
    ) -> None:
        self._colorizer = colorizer
        self._segmenter = segmenter
        self._flow = flow
        self._references = references
        self._cache = cache
        self._inspect = inspect
        self._hints = dict(hints or {})
        self._automatic = automatic
        self._neutral = frozenset(neutral)
        self._matcher = ReferenceMatcher(match_flow)
        self._masks: RegionMasks | None = None  # the last segmented keyframe's, for tracking within a shot
        # Flows started ahead, by the later frame's index: (the earlier frame's index, the flows to come).
        self._ahead: dict[int, tuple[int, cf.Future[tuple[np.ndarray, np.ndarray]]]] = {}
        self.stats = KeyframeStats()

    @property
    def references(self) -> References:
        """The run's references, segmented and placed."""
        return self._references

    def run(self, stream: Iterable[Window[WorkFrame]]) -> Generator[tuple[WorkFrame, np.ndarray], None, None]:
        return self._run(stream, colour_frames=True)

    def solve_keyframes(self, stream: Iterable[Window[WorkFrame]]) -> None:
        """Solve (and cache) the keyframes of ``stream`` exactly as :meth:`run` does, without colouring the
        frames between: each keyframe is still warm-started from the colour carried to it, so the flow of
        every frame is computed, but the backward chains, the blends and the frames' chroma are not.

        Run over one shot before its pieces are coloured apart (``vidcolor.film``): a piece that finds all
        its keyframes cached colours its frames as the whole run does.
        """
        for _ in self._run(stream, colour_frames=False):
            pass

    def _run(
        self, stream: Iterable[Window[WorkFrame]], colour_frames: bool
    ) -> Generator[tuple[WorkFrame, np.ndarray], None, None]:
        anchor: KeyframeColour | None = None  # the colour of the window's first frame
        for window in stream:
            frames, right = window.frames, window.next_keyframe
            if window.shot in self._neutral:  # left grey, as the restorer asked: nothing to solve or carry
                self.stats.shots += window.starts_shot
                anchor = None
                yield from ((f, np.zeros((*f.unit.shape, 2), np.float32)) for f in frames)
                continue
            # Flow both ways between each pair of neighbours (and into the next keyframe), computed
            # once: the forward chain runs on one direction, the backward chain on the other, and
            # each checks its round trip with the opposite one.
            chain = [*frames, right] if right is not None else frames
            flows = self._flows_along(chain)
            right_colour: KeyframeColour | None = None
            if window.starts_shot or anchor is None:
                self.stats.shots += 1
                self._masks = None
                carried_back = None
                if right is not None and (
                    self._references.for_frame(right.frame.index)[1] or right.frame.index in self._hints
                ):
                    # The shot's reference is placed (or hints are given) on this window's right end:
                    # colour that frame first and carry its colour back, so the shot's first frame starts from it.
                    right_colour = self._solve(right, previous=None)
                    *_, (_, carried_back) = self._backward_chain(frames, flows, right, right_colour, down_to=0)
                anchor = self._solve(frames[0], previous=carried_back)
            forward = [anchor.anchor()]
            for i in range(len(frames) - 1):
                forward.append(self._carry_forward(forward[-1], flows[i], frames[i], frames[i + 1]))
            if right is not None:
                # The shot goes on: the next keyframe is the right anchor, and the next window's left.
                if right_colour is None:
                    carried = self._carry_forward(forward[-1], flows[-1], frames[-1], right)
                    right_colour = self._solve(right, previous=carried)
                anchor = right_colour
                if colour_frames:
                    chromas = self._blend(forward, self._backward_chain(frames, flows, right, anchor), len(frames))
            elif len(frames) >= MIN_FRAMES_FOR_END_ANCHOR:
                # The shot ends here: its last frame is solved too, so new content that entered
                # during the shot gets colour from the reference rather than from nothing.
                end = self._solve(frames[-1], previous=forward[-1])
                if colour_frames:
                    backward = self._backward_chain(frames[:-1], flows, frames[-1], end)
                    chromas = [*self._blend(forward[:-1], backward, len(frames) - 1), end.chroma]
                anchor = None
            else:
                chromas = [p.chroma for p in forward]
                anchor = None
            if colour_frames:
                yield from zip(frames, chromas, strict=True)

    def flows_ahead(self, frames: Iterable[WorkFrame], shot_of: Callable[[WorkFrame], int]) -> Iterator[WorkFrame]:
        """``frames`` as they are; as each passes, the flows between it and the frame before (of its shot) are
        started in the side threads (where the estimator allows it), so that they are computed while the
        windows before are coloured. Put it where frames are read ahead (``frames.prefetch``)."""
        if not self._flow.thread_safe:
            yield from frames
            return
        previous: WorkFrame | None = None
        previous_shot = None
        for work in frames:
            shot = shot_of(work)
            if previous is not None and shot == previous_shot and shot not in self._neutral:
                pending = side_threads().submit(self._flows_between, previous, work)
                self._ahead[work.frame.index] = (previous.frame.index, pending)
            previous, previous_shot = work, shot
            yield work

    def _flows_along(self, chain: list[WorkFrame]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The flows between each pair of neighbours of ``chain``: those started ahead (see :meth:`flows_ahead`),
        the others now, side by side in the side threads where the estimator allows it (OpenCV releases the
        GIL: two DIS flows at once take about 0.75 of the time of one after the other)."""
        pending: list[cf.Future[tuple[np.ndarray, np.ndarray]] | None] = []
        for a, b in itertools.pairwise(chain):
            ahead = self._ahead.pop(b.frame.index, None)
            if ahead is not None and ahead[0] == a.frame.index:
                pending.append(ahead[1])
            elif self._flow.thread_safe:
                pending.append(side_threads().submit(self._flows_between, a, b))
            else:
                pending.append(None)
        return [
            p.result() if p is not None else self._flows_between(a, b)
            for p, (a, b) in zip(pending, itertools.pairwise(chain), strict=True)
        ]

    def _flows_between(self, earlier: WorkFrame, later: WorkFrame) -> tuple[np.ndarray, np.ndarray]:
        """(flow later → earlier, flow earlier → later): where each pixel comes from in the other frame."""
        return self._flow.flow(later.u8, earlier.u8), self._flow.flow(earlier.u8, later.u8)

    @staticmethod
    def _carry_forward(
        carried: Propagated, flows: tuple[np.ndarray, np.ndarray], earlier: WorkFrame, later: WorkFrame
    ) -> Propagated:
        back, ahead = flows
        return step(carried, back, later.smooth, earlier.smooth, reverse=ahead)

    @staticmethod
    def _backward_chain(
        frames: list[WorkFrame],
        flows: list[tuple[np.ndarray, np.ndarray]],
        right: WorkFrame,
        right_colour: KeyframeColour,
        down_to: int = 1,
    ) -> Iterator[tuple[int, Propagated]]:
        """``right_colour`` carried back from ``right`` (the frame after ``frames``) to ``frames[i]``, for
        ``i`` from the last down to ``down_to``; one step at a time, so only one is held.

        ``flows[i]`` are the flows between ``frames[i]`` and the frame after it.
        """
        backward = right_colour.anchor()
        later = right
        for i in range(len(frames) - 1, down_to - 1, -1):
            back, ahead = flows[i]
            backward = step(backward, ahead, frames[i].smooth, later.smooth, reverse=back)
            yield i, backward
            later = frames[i]

    @staticmethod
    def _blend(forward: list[Propagated], backward: Iterator[tuple[int, Propagated]], span: int) -> list[np.ndarray]:
        """The forward chain blended with the backward one; ``span``: frames from the left anchor to the right."""
        chromas = [forward[0].chroma] * len(forward)
        for i, carried in backward:
            chromas[i] = blend(forward[i], carried, position=i / span)
        return chromas

    def _solve(self, work: WorkFrame, previous: Propagated | None) -> KeyframeColour:
        self.stats.keyframes += 1
        name = f"kf_{work.frame.pts if work.frame.pts is not None else work.frame.index}"
        cached = self._cache.get(name)
        if cached is not None and cached.shape == (*work.unit.shape, 3):
            self.stats.cached += 1
            self._masks = None  # not segmented: the next keyframe detects afresh
            self._inspect_unsolved(work)
            return KeyframeColour.unstacked(cached)
        # The cache keeps float16; a run uses the same rounded values whether it solved a keyframe
        # or read it back, so a resumed run gives exactly the output of an uninterrupted one.
        stored = self._compose(work, previous).stacked()
        self._cache.put(name, stored)
        return KeyframeColour.unstacked(stored)

    def _inspect_unsolved(self, work: WorkFrame) -> None:
        """``--debug-masks`` shows every keyframe: one its colorizer did not solve (the reference's own
        frame, a fully matched or cached one) is segmented afresh for the picture only."""
        if self._inspect is not None:
            self._inspect(work.frame, work.unit, self._segmenter.segment(work.unit))

    def _compose(self, work: WorkFrame, previous: Propagated | None) -> KeyframeColour:
        """A keyframe's colour from its sources in order of trust, joined along luma edges."""
        reference, placed_here = self._references.for_frame(work.frame.index)
        if reference is not None:
            match = self._matcher.match(work.unit, reference)
            w_match, match_chroma = match.confidence, match.chroma
        else:  # hints alone: nothing to match
            w_match, match_chroma = np.zeros(work.unit.shape, np.float32), np.zeros((*work.unit.shape, 2), np.float32)
        if placed_here:
            log.debug("keyframe %d shows the reference itself", work.frame.index)
        w_carry = (1.0 - w_match) * (previous.confidence if previous is not None else 0.0)
        trust = w_match + w_carry
        data = w_match[..., None] * match_chroma
        if previous is not None:
            data += w_carry[..., None] * previous.chroma
        data /= np.maximum(trust, 1e-6)[..., None]
        spread, support = spread_trusted(data, trust, work.unit)
        unvouched = (1.0 - trust) * (1.0 - support)  # neither trusted nor near trusted colour
        if reference is not None and float(unvouched.mean()) > SOLVE_ABOVE:
            masks = self._masks_for(work, previous)
            if self._inspect is not None:
                self._inspect(work.frame, work.unit, masks)
            fill = self._colorizer.refine(Keyframe(work.unit, masks), reference, previous, Trusted(data, trust))
        elif reference is None and self._automatic is not None and float(unvouched.mean()) > SOLVE_ABOVE:
            fill = self._automatic(work.unit)
            self._inspect_unsolved(work)
        else:
            fill = spread
            self._masks = None  # not segmented: the next keyframe detects afresh
            self._inspect_unsolved(work)
        spread_share = (1.0 - trust) * support
        chroma = trust[..., None] * data + spread_share[..., None] * spread + unvouched[..., None] * fill
        certainty = trust + SPREAD_CERTAINTY * spread_share + SOLVED_CERTAINTY * unvouched
        shares = dict(
            zip(SOURCES, (w_match.mean(), w_carry.mean(), spread_share.mean(), unvouched.mean()), strict=True)
        )
        for source, share in shares.items():
            self.stats.sources[source] += float(share)
        log.debug(
            "keyframe %d: %.0f%% from the reference, %.0f%% kept from the carried colour, %.0f%% spread, %.0f%% %s",
            work.frame.index,
            *(100 * v for v in shares.values()),
            "left to spreading"
            if fill is spread
            else "coloured automatically"
            if reference is None
            else f"solved by {self._colorizer.name}",
        )
        hints = self._hints.get(work.frame.index)
        if hints is not None:  # the other sources' guesses (the unvouched share) do not hold against hints
            chroma, certainty = self._with_hints(work, hints, chroma, certainty - SOLVED_CERTAINTY * unvouched)
        return KeyframeColour(chroma.astype(np.float32), certainty.astype(np.float32))

    def _with_hints(
        self, work: WorkFrame, hints: HintImage, chroma: np.ndarray, sure: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The hints as hard constraints, spread by luma affinity; the colour the frame has from
        trusted sources (``sure`` of it: matched, carried, spread from those) is kept as a soft prior."""
        h, w = work.unit.shape
        hints = hints.at_size(h, w)
        # The strokes' colours alone, divided between strokes along the luma edges...
        alone = propagate(work.unit, hints.chroma, hints.given)
        # ...hold where the strokes reach (what is connected to them by similar luma, fading with the
        # distance); beyond, the frame keeps the colour it had (its reference's, or none).
        reach = stroke_reach(work.unit, hints.given)
        solved = reach[..., None] * alone + (1.0 - reach[..., None]) * chroma
        log.debug(
            "keyframe %d: %.1f%% of its pixels hinted, %.0f%% within their reach",
            work.frame.index,
            100 * float(hints.given.mean()),
            100 * float((reach > 0.5).mean()),
        )
        # A user's hints are the authority where they reach: their colour outweighs guesses carried from elsewhere.
        certainty = np.where(hints.given, 1.0, np.maximum(sure, HINTED_CERTAINTY * reach))
        return solved, certainty.astype(np.float32)

    def _masks_for(self, work: WorkFrame, previous: Propagated | None) -> RegionMasks:
        """Regions of a keyframe: carried from the last keyframe of the shot while the flow holds them."""
        tracked = None
        if previous is not None and self._masks is not None:
            tracked = track(self._masks, previous.flow)
            if tracking_confidence(tracked, previous.confidence) >= REDETECT_BELOW:
                self.stats.masks_tracked += 1
                self._masks = tracked
                return tracked
        detected = self._segmenter.segment(work.unit)
        self._masks = keep_identities(detected, tracked) if tracked is not None else detected
        return self._masks
