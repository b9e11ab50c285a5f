"""A keyframe's colour, from its sources in order of trust.

The reference's own pixels through a dense correspondence come first, where the reference shows the same
scene and the match is sure (one flow away from the truth, where the carry has drifted over every frame
since the last keyframe); then the colour carried from the previous keyframe of the shot, where the carry
held; and, for what neither vouches for, trusted colour spread along luma edges from nearby or, where there
is none, the keyframe colorizer (region matching against the reference). Hints are hard constraints on top.
Solved keyframes go to the cache, so a re-run only redoes the cheap propagation (``windowing``).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from vidcolor.cache import KeyframeStore
from vidcolor.frames.frame import LumaFrame
from vidcolor.hints import HintImage
from vidcolor.keyframes.work_frame import WorkFrame
from vidcolor.match.correspond import Match, ReferenceMatcher
from vidcolor.references import References
from vidcolor.segment.base import Segmenter
from vidcolor.segment.tracking import keep_identities, track, tracking_confidence
from vidcolor.shared_types import Keyframe, Propagated, RegionMasks, Trusted
from vidcolor.solver.base import KeyframeColorizer
from vidcolor.temporal.affinity import propagate
from vidcolor.temporal.flow import FlowEstimator
from vidcolor.temporal.reach import stroke_reach
from vidcolor.temporal.refine import spread_trusted
from vidcolor.threads import SOON, side_threads

log = logging.getLogger("vidcolor")

# Below this mean flow confidence over the tracked regions, a keyframe's regions are detected again.
REDETECT_BELOW = 0.6

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

    def anchor(self, grid: tuple[int, int] | None = None) -> Propagated:
        """Its colour, to be carried from the keyframe on ``grid`` ``(h, w)`` (default: its own)."""
        return Propagated.anchor(self.chroma, self.certainty, grid)

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


class KeyframeComposer:
    """Colours keyframes, one at a time, in the order of their shot (a keyframe's regions are tracked from the
    last one, and its colour is warm-started from the colour carried to it).

    Args:
        colorizer, segmenter: the run's stages.
        references: the run's colour references.
        cache: where solved keyframes are kept (a disabled cache keeps nothing).
        inspect: called for every segmented keyframe (``--debug-masks`` writes overlays with it).
        hints: colour hints by frame index of the run (each such frame is a keyframe; see ``hints``).
        automatic: unit luma → chroma without a reference (a colorization network), for runs with
            neither references nor hints; it fills what the carry does not vouch for.
        match_flow: the flow estimator that matches keyframes to references (``Stages.match_flow``).
    """

    def __init__(
        self,
        colorizer: KeyframeColorizer,
        segmenter: Segmenter,
        references: References,
        cache: KeyframeStore,
        inspect: MaskInspector | None = None,
        hints: Mapping[int, HintImage] | None = None,
        automatic: Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        match_flow: FlowEstimator,
    ) -> None:
        self._colorizer = colorizer
        self._segmenter = segmenter
        self._references = references
        self._cache = cache
        self._inspect = inspect
        self._hints = dict(hints or {})
        self._automatic = automatic
        self._matcher = ReferenceMatcher(match_flow)
        # Keyframes' reference matches started ahead (match_ahead), by frame index: (its unit luma, the match).
        self._matches: dict[int, tuple[np.ndarray, cf.Future[Match]]] = {}
        self._matches_lock = threading.Lock()
        self._masks: RegionMasks | None = None  # the last segmented keyframe's, for tracking within a shot
        self.stats = KeyframeStats()

    @property
    def references(self) -> References:
        """The run's references, segmented and placed."""
        return self._references

    def has_own_colour(self, index: int) -> bool:
        """Whether frame ``index`` has colour of its own: a reference placed on it, or hints."""
        return self._references.for_frame(index)[1] or index in self._hints

    def new_shot(self) -> None:
        """A shot starts: the next keyframe's regions are detected afresh."""
        self.stats.shots += 1
        self._masks = None

    def match_ahead(self, work: WorkFrame) -> None:
        """Start matching ``work``, a frame that will be a keyframe, to its reference in the side threads (the
        match depends on nothing else), so that it is done when the keyframe is solved: a tenth of a keyframe's
        time off the colouring thread. Not for a frame without a reference, nor where the flow is not
        thread-safe."""
        reference, _ = self._references.for_frame(work.frame.index)
        if reference is not None and self._matcher.thread_safe and self._corresponds(work):
            started = side_threads().submit(self._matcher.match, work.unit, reference, priority=SOON)
            with self._matches_lock:  # (called from the thread that reads frames ahead)
                self._matches[work.frame.index] = (work.unit, started)

    def _corresponds(self, work: WorkFrame) -> bool:
        """Whether ``work`` is matched to its reference pixel by pixel: not in a shot that resembles no
        reference and takes the nearest placed one as a guess. That guess lends its palette (the colorizer
        matches looks region by region), not a correspondence: the flow pairs pixels of one scene, and a scene
        the reference does not show has none; what it found there was spurious (0-2 % of those keyframes'
        pixels on a 6-shot reel) and cost 25-55 ms of a side thread a keyframe (the view search, a flow at work
        size)."""
        return self._references.placement.resembled(work.frame.index)

    def _match_started(self, work: WorkFrame) -> cf.Future[Match] | None:
        """The match started ahead for ``work``, if any; those of frames before it are dropped (not solved
        after all: a cached keyframe, a prediction that did not come true)."""
        index = work.frame.index
        with self._matches_lock:
            for earlier in [i for i in self._matches if i < index]:
                self._matches.pop(earlier)[1].cancel()
            started = self._matches.pop(index, None)
        return started[1] if started is not None and started[0] is work.unit else None

    def solve(self, work: WorkFrame, previous: Propagated | None) -> KeyframeColour:
        """The colour of keyframe ``work``; ``previous``: the last keyframe's colour carried to it (None at a
        shot's start)."""
        self.stats.keyframes += 1
        started = self._match_started(work)
        name = f"kf_{work.frame.pts if work.frame.pts is not None else work.frame.index}"
        cached = self._cache.get(name)
        if cached is not None and cached.shape == (*work.unit.shape, 3):
            self.stats.cached += 1
            self._masks = None  # not segmented: the next keyframe detects afresh
            self._inspect_unsolved(work)
            if started is not None:
                started.cancel()
            return KeyframeColour.unstacked(cached)
        # The cache keeps float16; a run uses the same rounded values whether it solved a keyframe
        # or read it back, so a resumed run gives exactly the output of an uninterrupted one.
        stored = self._compose(work, previous, started).stacked()
        self._cache.put(name, stored)
        return KeyframeColour.unstacked(stored)

    def _inspect_unsolved(self, work: WorkFrame) -> None:
        """``--debug-masks`` shows every keyframe: one its colorizer did not solve (the reference's own
        frame, a fully matched or cached one) is segmented afresh for the picture only."""
        if self._inspect is not None:
            self._inspect(work.frame, work.unit, self._segmenter.segment(work.unit))

    def _compose(
        self, work: WorkFrame, previous: Propagated | None, started: cf.Future[Match] | None = None
    ) -> KeyframeColour:
        """A keyframe's colour from its sources in order of trust, joined along luma edges; ``started``: its
        reference match, started ahead."""
        reference, placed_here = self._references.for_frame(work.frame.index)
        if reference is not None and self._corresponds(work):
            match = started.result() if started is not None else self._matcher.match(work.unit, reference)
            w_match, match_chroma = match.confidence, match.chroma
        else:  # hints alone, or a reference taken as a guess: nothing to match
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
            # Too little to solve, or nothing to solve it with (hints alone): what no trusted colour reaches
            # stays neutral rather than take the colour of whatever lies across an edge.
            fill = spread if reference is not None else np.zeros_like(spread)
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
