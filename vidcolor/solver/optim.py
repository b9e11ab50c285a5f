"""Region-aware optimization solver: a refinement of the keyframe's best colour, guided by the reference.

Start: what the keyframe already has from trusted sources (the reference's pixels through a dense
match, the colour carried from the previous keyframe), and elsewhere the exemplar colorizer's guess
(region-aware Welsh matching). The solve changes that start through per-region bilateral grids
(``solver.grid``: smooth, stops at luma edges, feathered at region borders; luma is a constant, so
it cannot change), minimizing with Adam:

    data           distance to the start, weighted by how sure each pixel of it is
    style          per region, mean and deviation of colour features (features of the result minus
                   features of its grey) against the paired reference region's, each layer normalised
    correspondence each position's colour features against those of the reference position whose
                   grey features match it best, within its counterpart region (where colours go)
    clip           1 - cosine between CLIP embeddings of the result and the reference (when enabled),
                   and per region (the four largest, each at least 2 % of the frame): its masked crop
                   and a few random crops and mirror images of it, all regions in one batched
                   forward, against its counterpart's; with prompts, each region's crop against the
                   prompt picked for its counterpart
    temporal       distance to the previous keyframe's result carried here by flow, where trusted
    gamut          RGB leaving [0, 1] for the fixed luma

Adam's step-size state carries across the keyframes of a shot, and the solve stops on a plateau
(tested every ``patience`` steps, so the GPU does not wait for the host every step). The result is
sliced at the keyframe's full size with its own luma, so the refinement is smooth and edge-aware at any size.

This class is the host half: it prepares each keyframe's solve at solve size and slices the result. The
device half, the networks and the steps, is an engine (``solver.optim_engine``): this process's own, or one
a shot-parallel render's workers share, which solves their keyframes together (``solver.device_service``).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np
import torch

from vidcolor.shared_types import Keyframe, Propagated, Reference, Trusted
from vidcolor.solver.base import KeyframeColorizer
from vidcolor.solver.clip_guide import ClipGuide
from vidcolor.solver.exemplar import ExemplarColorizer
from vidcolor.solver.features import FeatureExtractor
from vidcolor.solver.optim_engine import (
    OptimEngine,
    SolveProblem,
    SolveResult,
    compose_rgb,
    reference_key,
    slice_result,
)
from vidcolor.solver.options import SolverOptions

if TYPE_CHECKING:
    from vidcolor.registry import RunContext

__all__ = ["OptimColorizer", "SolveEngine", "compose_rgb"]

log = logging.getLogger("vidcolor.solver")

# How firmly the data term holds the start: the exemplar's guess lightly, so the feature losses may
# move it; trusted colour (the reference match, the carry) fifty times as firmly, by its certainty.
GUESS_HOLD = 0.2
TRUSTED_HOLD = 10.0


class SolveEngine(Protocol):
    """What solves prepared keyframes: :class:`~vidcolor.solver.optim_engine.OptimEngine` in this process,
    or a client of a device service shared by a render's workers."""

    def solve(self, problems: list[SolveProblem]) -> list[SolveResult]: ...

    def identity(self) -> dict[str, str]: ...


class OptimColorizer(KeyframeColorizer):
    """The VGG/CLIP-guided, region-aware optimization solver (weight-free features without weights).

    Args:
        options: solver knobs; ``features``/``clip`` pick the networks from the weights folder.
        device: ``cpu``, ``cuda`` or ``auto`` (a run hands over the device it resolved once).
        weights_dir: where weight files are looked for (None: the default folder).
        features: an injected feature extractor (tests inject small random ones).
        clip: an injected CLIP guide.
        engine: where the solves run (None: an engine of this process on ``device``, with the networks
            above); given, the results are sliced on the CPU.
    """

    name = "optim"

    def __init__(
        self,
        options: SolverOptions | None = None,
        *,
        device: str = "cpu",
        weights_dir: str | os.PathLike[str] | None = None,
        features: FeatureExtractor | None = None,
        clip: ClipGuide | None = None,
        engine: SolveEngine | None = None,
    ) -> None:
        self.options = options or SolverOptions()
        if engine is None:
            own = OptimEngine(self.options, device=device, weights_dir=weights_dir, features=features, clip=clip)
            self.device, self.engine = own.device, own  # type: tuple[torch.device, SolveEngine]
        else:
            self.device, self.engine = torch.device("cpu"), engine
        self.start = ExemplarColorizer(continuity=self.options.continuity)
        self.last_iterations = 0
        self.last_loss = float("nan")
        # The reference last seen and its content key, held so its identity cannot be reused.
        self._reference: tuple[Reference, Reference, str] | None = None
        # Adam's second moments and step count from the last keyframe of the shot (None at a shot start).
        self._adam: dict[str, Any] | None = None

    def identity(self) -> dict[str, str]:
        return {"colorizer": self.name, **self.engine.identity()}

    @classmethod
    def create(cls, options: SolverOptions, context: RunContext) -> OptimColorizer:
        if context.solve_service is not None:  # a worker of a render whose keyframes meet on one device
            from vidcolor.solver.device_service import ServiceEngine

            return cls(options, engine=ServiceEngine(context.solve_service))
        return cls(options, device=context.device, weights_dir=context.weights_dir)

    def colorize(self, keyframe: Keyframe, reference: Reference, previous: Propagated | None) -> np.ndarray:
        return self._solve(keyframe, reference, previous, None)

    def refine(
        self, keyframe: Keyframe, reference: Reference, previous: Propagated | None, trusted: Trusted
    ) -> np.ndarray:
        return self._solve(keyframe, reference, previous, trusted)

    def _solve(
        self, keyframe: Keyframe, reference: Reference, previous: Propagated | None, trusted: Trusted | None
    ) -> np.ndarray:
        opts = self.options
        h, w = keyframe.luma.shape
        if previous is None:
            self._adam = None  # a new shot: its step sizes owe nothing to the last one
        if opts.warm_start:
            start = self.start.colorize(keyframe, reference, previous)
            hold = np.full((h, w), GUESS_HOLD, np.float32)
        else:  # cold start (for comparison): neutral chroma, held by nothing
            start = np.zeros((h, w, 2), np.float32)
            hold = np.zeros((h, w), np.float32)
        if trusted is not None:
            t = trusted.certainty[..., None]
            start = (t * trusted.chroma + (1.0 - t) * start).astype(np.float32)
            hold = TRUSTED_HOLD * trusted.certainty + (1.0 - trusted.certainty) * hold
        # The solve runs at solve size; its result is a smooth offset (bilateral grids), sliced at
        # the keyframe's own size with its own luma, so the start keeps its full-size detail.
        small = keyframe.at_size(opts.solve_size)
        sh, sw = small.luma.shape

        def shrink(image: np.ndarray) -> np.ndarray:
            return cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if (sh, sw) != (h, w) else image

        prev_chroma = prev_conf = None
        if previous is not None:
            prev_chroma, prev_conf = shrink(previous.chroma), shrink(previous.confidence)
        small_reference, key = self._small_reference(reference)
        problem = SolveProblem(small.luma, small.masks, small_reference, key, shrink(start), shrink(hold),
                               prev_chroma, prev_conf, self._adam)  # fmt: skip
        result = self.engine.solve([problem])[0]
        self._adam, self.last_iterations, self.last_loss = result.adam, result.iterations, result.loss
        kept = float((opts.continuity * prev_conf).mean()) if prev_conf is not None and opts.warm_start else 0.0
        log.debug(
            "optim: %d steps, final loss %.4g, started from %.0f%% of the carried colour",
            self.last_iterations,
            self.last_loss,
            100 * kept,
        )
        offset = slice_result(result.grids, keyframe.luma, keyframe.masks, self.device)
        return (start + offset).astype(np.float32)

    def _small_reference(self, reference: Reference) -> tuple[Reference, str]:
        """The reference at solve size and its content key, worked out once per reference."""
        if self._reference is None or self._reference[0] is not reference:
            small = reference.at_size(self.options.solve_size)
            self._reference = (reference, small, reference_key(small))
        return self._reference[1], self._reference[2]
