"""The temporal method: keyframes coloured (``compose``), colour carried to the frames between.

A stream of windows (a keyframe and the frames up to the next, see ``temporal.windows``) becomes a
stream of (frame, work-size chroma) pairs in order. In every window the left keyframe's colour is
carried forward along optical flow and the right keyframe's backward, and the two are blended by
confidence. Flow is computed both ways between neighbouring frames once (ahead, in the side threads),
and a pixel's trust falls where the round trip does not come back (occlusion) or the luma it lands on
differs.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
from collections.abc import Callable, Collection, Generator, Iterable, Iterator

import numpy as np

from vidcolor.keyframes.compose import KeyframeColour, KeyframeComposer, KeyframeStats
from vidcolor.keyframes.work_frame import WorkFrame
from vidcolor.references import References
from vidcolor.shared_types import Propagated
from vidcolor.temporal.flow import FlowEstimator
from vidcolor.temporal.propagate import blend, step
from vidcolor.temporal.windows import Window
from vidcolor.threads import AHEAD, side_threads

# A shot at least this long also gets its last frame solved as a right anchor.
MIN_FRAMES_FOR_END_ANCHOR = 8


class WindowColorizer:
    """Turns windows of work frames into (frame, work-size chroma) pairs, in order.

    Args:
        keyframes: colours each keyframe of the windows, in order.
        flow: the run's flow estimator.
        neutral: the shots (as the windows number them) left uncoloured: no keyframe of theirs is solved.
    """

    def __init__(self, keyframes: KeyframeComposer, flow: FlowEstimator, *, neutral: Collection[int] = ()) -> None:
        self._keyframes = keyframes
        self._flow = flow
        self._neutral = frozenset(neutral)
        # Flows started ahead, by the later frame's index: (the earlier frame's index, the flows to come).
        self._ahead: dict[int, tuple[int, cf.Future[tuple[np.ndarray, np.ndarray]]]] = {}

    @property
    def references(self) -> References:
        """The run's references, segmented and placed."""
        return self._keyframes.references

    @property
    def stats(self) -> KeyframeStats:
        """What the keyframes took (shots, keyframes solved and cached, colour sources)."""
        return self._keyframes.stats

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
                yield from ((f, np.zeros((*f.flow_shape, 2), np.float32)) for f in frames)
                continue
            # Flow both ways between each pair of neighbours (and into the next keyframe), computed
            # once: the forward chain runs on one direction, the backward chain on the other, and
            # each checks its round trip with the opposite one.
            chain = [*frames, right] if right is not None else frames
            flows = self._flows_along(chain)
            right_colour: KeyframeColour | None = None
            if window.starts_shot or anchor is None:
                self._keyframes.new_shot()
                carried_back = None
                if right is not None and self._keyframes.has_own_colour(right.frame.index):
                    # The shot's reference is placed (or hints are given) on this window's right end:
                    # colour that frame first and carry its colour back, so the shot's first frame starts from it.
                    right_colour = self._solve(right, previous=None)
                    *_, (_, carried_back) = self._backward_chain(frames, flows, right, right_colour, down_to=0)
                anchor = self._solve(frames[0], previous=carried_back)
            forward = [anchor.anchor(frames[0].flow_shape)]
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
                    last = end.anchor(frames[-1].flow_shape).chroma
                    chromas = [*self._blend(forward[:-1], backward, len(frames) - 1), last]
                anchor = None
            else:
                chromas = [p.chroma for p in forward]
                anchor = None
            if colour_frames:
                yield from zip(frames, chromas, strict=True)

    def _solve(self, work: WorkFrame, previous: Propagated | None) -> KeyframeColour:
        """The keyframe ``work`` coloured at work size, from the colour carried to it on the flow grid."""
        return self._keyframes.solve(work, previous.at_grid(*work.unit.shape) if previous is not None else None)

    def flows_ahead(
        self, frames: Iterable[WorkFrame], shot_of: Callable[[WorkFrame], int], keyframes: Collection[int] = ()
    ) -> Iterator[WorkFrame]:
        """``frames`` as they are; as each passes, the flows between it and the frame before (of its shot) are
        started in the side threads (where the estimator allows it), so that they are computed while the
        windows before are coloured, and so is the reference match of each frame in ``keyframes`` (those the
        windows will solve, see ``Colouring``). Put it where frames are read ahead (``frames.prefetch``)."""
        previous: WorkFrame | None = None
        previous_shot = None
        for work in frames:
            shot = shot_of(work)
            if self._flow.thread_safe and previous is not None and shot == previous_shot and shot not in self._neutral:
                pending = side_threads().submit(self._flows_between, previous, work, priority=AHEAD)
                self._ahead[work.frame.index] = (previous.frame.index, pending)
            if work.frame.index in keyframes and shot not in self._neutral:
                self._keyframes.match_ahead(work)
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
        backward = right_colour.anchor(right.flow_shape)
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
