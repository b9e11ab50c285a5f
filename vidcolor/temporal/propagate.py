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
    """A keyframe's chroma carried to a later (or earlier) frame, with how much to trust it.

    Chroma is not warped step by step: each bilinear resampling blurs it, and after dozens of
    frames the colour washes out. The accumulated flow back to the keyframe is carried instead
    (flow fields are smooth, so resampling them costs little) and chroma is sampled once.

    Attributes:
        source: the keyframe's unit chroma ``(h, w, 2)`` float32.
        packed: ``(h, w, 3)`` float32: accumulated flow (dx, dy) from this frame to the keyframe,
            then confidence in [0, 1] (1 on the keyframe itself).
    """

    source: np.ndarray
    packed: np.ndarray

    @property
    def chroma(self) -> np.ndarray:
        """Unit chroma ``(h, w, 2)`` on this frame."""
        return warp(self.source, self.packed[..., :2])

    @property
    def confidence(self) -> np.ndarray:
        """``(h, w)`` in [0, 1] (a view)."""
        return self.packed[..., 2]

    @classmethod
    def anchor(cls, chroma: np.ndarray) -> Propagated:
        packed = np.zeros((*chroma.shape[:2], 3), np.float32)
        packed[..., 2] = 1.0
        return cls(np.ascontiguousarray(chroma, np.float32), packed)


def step(previous: Propagated, flow: np.ndarray, target_luma: np.ndarray, source_luma: np.ndarray) -> Propagated:
    """Move ``previous`` (on the source frame) onto the target frame.

    Args:
        previous: carried chroma and confidence on the source frame.
        flow: backward flow ``(h, w, 2)`` from target to source (see ``FlowEstimator.flow``).
        target_luma, source_luma: unit luma ``(h, w)`` float32 of both frames.
    """
    # One 4-channel remap: accumulated flow (2), confidence, and the source luma for the
    # photometric check. Composition: acc_t(x) = flow(x) + acc_s(x + flow(x)).
    stacked = np.empty((*flow.shape[:2], 4), np.float32)
    stacked[..., :3] = previous.packed
    stacked[..., 3] = source_luma
    moved = warp(stacked, flow)
    moved[..., :2] += flow
    error = (target_luma - moved[..., 3]) * np.float32(1.0 / PHOTOMETRIC_SIGMA)
    moved[..., 2] *= np.exp(-(error * error))
    return Propagated(previous.source, np.ascontiguousarray(moved[..., :3]))


def blend(forward: Propagated, backward: Propagated, position: float) -> np.ndarray:
    """Chroma ``(h, w, 2)`` from two chains; ``position`` in (0, 1) is the distance from the forward anchor.

    Temporal weights fall linearly toward the far anchor; confidences decide where one chain
    lost track and the other did not. A small floor keeps the temporal blend where both failed.
    """
    wf = (1.0 - position) * (forward.confidence + 1e-3)
    wb = position * (backward.confidence + 1e-3)
    total = wf + wb
    return ((forward.chroma * wf[..., None] + backward.chroma * wb[..., None]) / total[..., None]).astype(np.float32)
