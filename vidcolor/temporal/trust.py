"""How far a flow between two images is trusted, pixel by pixel: one test, for frame-to-frame propagation and
for keyframe-to-reference matching, each with its own tolerances.

A pixel loses trust where the luma it lands on does not look like its own (occlusion, new content, a flow that
lost track) and where the flow's round trip, through the flow the other way, does not come back to it
(occlusion, also on texture where luma alone cannot tell). Both errors are measured beyond a dead zone and in
units of a tolerance; trust is ``exp(-(photometric² + round_trip²))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.sampling import sample


@dataclass(frozen=True)
class FlowTrust:
    """The tolerances of the test.

    Attributes:
        photometric_dead_zone: luma error (unit) that costs no trust.
        photometric_sigma: luma error beyond the dead zone at which trust falls to 1/e.
        round_trip_dead_zone_px: round-trip error (pixels) that costs no trust.
        round_trip_px: round-trip error beyond the dead zone at which trust falls to 1/e, for no motion...
        round_trip_per_px: ...growing by this much per pixel of motion (large motion is found less exactly).
    """

    photometric_dead_zone: float
    photometric_sigma: float
    round_trip_dead_zone_px: float
    round_trip_px: float
    round_trip_per_px: float

    def distrust(
        self,
        at: np.ndarray,
        flow: np.ndarray,
        target_luma: np.ndarray,
        source_luma: np.ndarray,
        reverse: np.ndarray | None,
    ) -> np.ndarray:
        """``-log`` of the trust ``(h, w)`` float32 in each target pixel (0: fully trusted).

        Args:
            at: ``(h, w, 2)`` where each target pixel lands on the source (``grid + flow``).
            flow: the backward flow ``(h, w, 2)`` from target to source.
            target_luma, source_luma: unit luma ``(h, w)`` of both images (slightly blurred luma makes the
                photometric error robust to fine texture such as grass).
            reverse: the flow ``(h, w, 2)`` from source to target, or None to skip the round trip.
        """
        photometric = np.abs(target_luma - sample(source_luma, at))
        photometric -= self.photometric_dead_zone
        np.maximum(photometric, 0.0, out=photometric)
        photometric *= 1.0 / self.photometric_sigma
        distrust = np.square(photometric, out=photometric)
        if reverse is not None:
            back = sample(reverse, at)
            back += flow
            round_trip = _length(back)
            round_trip -= self.round_trip_dead_zone_px
            np.maximum(round_trip, 0.0, out=round_trip)
            tolerance = _length(flow)
            tolerance *= self.round_trip_per_px
            tolerance += self.round_trip_px
            round_trip /= tolerance
            distrust += np.square(round_trip, out=round_trip)
        return distrust


def _length(vectors: np.ndarray) -> np.ndarray:
    """The length ``(h, w)`` of each vector of ``(h, w, 2)`` float32 (a third of the time of ``np.hypot`` on the
    interleaved components)."""
    return cv2.magnitude(*cv2.split(vectors))


# Frame to frame: trust is multiplied at every step of a chain, so errors inside the dead zones cost nothing
# (small imperfections of a good flow would otherwise compound into distrust over a long window).
FRAME_TO_FRAME = FlowTrust(
    photometric_dead_zone=0.02,
    photometric_sigma=0.06,
    round_trip_dead_zone_px=0.5,
    round_trip_px=0.7,
    round_trip_per_px=0.05,
)
# Keyframe to reference: judged once, on luma matched in exposure and blurred 5x5; another scene's photograph
# differs more in luma than a neighbouring frame does, and its flow spans larger motion.
TO_REFERENCE = FlowTrust(
    photometric_dead_zone=0.0,
    photometric_sigma=0.08,
    round_trip_dead_zone_px=0.0,
    round_trip_px=0.8,
    round_trip_per_px=0.05,
)
