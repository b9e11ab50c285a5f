"""Carry keyframe chroma to the frames between keyframes along optical flow, both ways.

Each step warps the previous frame's chroma and confidence into the current frame; the
confidence decays where the warped luma disagrees with the frame's own luma (occlusion, new
content, flow failure). Forward and backward chains are blended by confidence and by temporal
distance, so a window's ends match their keyframes and the middle has no seam.
"""

from __future__ import annotations

import numpy as np

from vidcolor.sampling import positions_of, sample
from vidcolor.shared_types import Propagated
from vidcolor.temporal.trust import FRAME_TO_FRAME


def step(
    previous: Propagated,
    flow: np.ndarray,
    target_luma: np.ndarray,
    source_luma: np.ndarray,
    reverse: np.ndarray | None = None,
) -> Propagated:
    """Move ``previous`` (on the source frame) onto the target frame.

    Args:
        previous: carried chroma and confidence on the source frame.
        flow: backward flow ``(h, w, 2)`` from target to source (see ``FlowEstimator.flow``).
        target_luma, source_luma: unit luma ``(h, w)`` float32 of both frames (a slightly blurred
            luma makes the photometric check robust to fine texture).
        reverse: the flow from source to target, when known: a target pixel whose round trip does
            not come back (occlusion, a flow that lost track) loses trust, also on texture where
            luma alone cannot tell.
    """
    # Composition is one resampling: the target pixel x sits at x + flow(x) on the source frame,
    # whose positions on the keyframe are known. The trust test samples at the same places.
    at = positions_of(flow)
    positions = sample(previous.positions, at)
    confidence = sample(previous.confidence, at)
    distrust = FRAME_TO_FRAME.distrust(at, flow, target_luma, source_luma, reverse)
    confidence *= np.exp(-distrust, out=distrust)
    return Propagated(previous.source, positions, confidence)


def blend(forward: Propagated, backward: Propagated, position: float) -> np.ndarray:
    """Chroma ``(h, w, 2)`` from two chains; ``position`` in (0, 1) is the distance from the forward anchor.

    Temporal weights fall linearly toward the far anchor; confidences decide where one chain
    lost track and the other did not. A small floor keeps the temporal blend where both failed.
    """
    wf = (1.0 - position) * (forward.confidence + 1e-3)
    wb = position * (backward.confidence + 1e-3)
    share = wb / (wf + wb)  # the backward chain's share
    chroma, other = forward.chroma, backward.chroma
    other -= chroma
    other *= share[..., None]
    chroma += other
    return chroma
