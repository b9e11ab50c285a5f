"""Carry keyframe chroma to the frames between keyframes along optical flow, both ways.

Each step warps the previous frame's chroma and confidence into the current frame; the
confidence decays where the warped luma disagrees with the frame's own luma (occlusion, new
content, flow failure). Forward and backward chains are blended by confidence and by temporal
distance, so a window's ends match their keyframes and the middle has no seam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidcolor.temporal.flow import warp

# Luma error (unit) at which a warped pixel's confidence drops to 1/e.
PHOTOMETRIC_SIGMA = 0.06


@dataclass(frozen=True)
class Propagated:
    """Chroma carried to a frame, with how much to trust it.

    Attributes:
        chroma: unit chroma ``(h, w, 2)`` float32 at work size.
        confidence: ``(h, w)`` float32 in [0, 1]; 1 on a keyframe's own solve.
    """

    chroma: np.ndarray
    confidence: np.ndarray

    @classmethod
    def anchor(cls, chroma: np.ndarray) -> Propagated:
        return cls(chroma.astype(np.float32), np.ones(chroma.shape[:2], np.float32))


def step(previous: Propagated, flow: np.ndarray, target_luma: np.ndarray, source_luma: np.ndarray) -> Propagated:
    """Move ``previous`` (on the source frame) onto the target frame.

    Args:
        previous: chroma and confidence on the source frame.
        flow: backward flow ``(h, w, 2)`` from target to source (see ``FlowEstimator.flow``).
        target_luma, source_luma: unit luma ``(h, w)`` float32 of both frames.
    """
    # One 4-channel remap instead of three: chroma (2), confidence, source luma.
    stacked = np.dstack([previous.chroma, previous.confidence, source_luma])
    moved = warp(stacked, flow)
    error = (target_luma - moved[..., 3]) * np.float32(1.0 / PHOTOMETRIC_SIGMA)
    confidence = moved[..., 2] * np.exp(-(error * error))
    return Propagated(np.ascontiguousarray(moved[..., :2]), confidence)


def blend(forward: Propagated, backward: Propagated, position: float) -> np.ndarray:
    """Chroma ``(h, w, 2)`` from two chains; ``position`` in (0, 1) is the distance from the forward anchor.

    Temporal weights fall linearly toward the far anchor; confidences decide where one chain
    lost track and the other did not. A small floor keeps the temporal blend where both failed.
    """
    wf = (1.0 - position) * (forward.confidence + 1e-3)
    wb = position * (backward.confidence + 1e-3)
    total = wf + wb
    return ((forward.chroma * wf[..., None] + backward.chroma * wb[..., None]) / total[..., None]).astype(np.float32)
