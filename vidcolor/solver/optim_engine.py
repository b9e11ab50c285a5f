"""The optimization solver's device half: its networks, and keyframes solved together, several at once.

:class:`~vidcolor.solver.optim.OptimColorizer` prepares a keyframe's solve on the host (its start, how firmly
each pixel holds it, the carried colour, all at solve size) as a :class:`SolveProblem`; an engine solves a
list of them and hands back each one's best grids. Solved together, problems of one size share every
network pass: the feature network sees the current colour of all of them as one batch, CLIP all their views
as one batch, and one backward pass gives each its own gradient (their losses are summed, and no problem's
loss depends on another's grids). Each keeps its own Adam (state carried from its shot's last keyframe), its
own seeded CLIP views and its own plateau test: a problem that stops leaves the batch, the others go on. So
a problem's result is the one it gets alone, up to the rounding of batched kernels.

One engine serves one run in this process; :mod:`vidcolor.solver.device_service` lends one to the workers of
a shot-parallel render, so their keyframes meet on the device in batches.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vidcolor.colour import LUMA_COEFFICIENTS
from vidcolor.device import resolve_device
from vidcolor.segment.regions import base_name, counterpart
from vidcolor.shared_types import Reference, RegionMasks
from vidcolor.solver.clip_guide import ClipGuide, region_box
from vidcolor.solver.features import FeatureExtractor, PyramidFeatures, build_features
from vidcolor.solver.grid import grid_shape, slice_grids, slicing_coordinates
from vidcolor.solver.losses import (
    correspondence_loss,
    layer_masks,
    layer_scales,
    nearest_reference,
    region_statistics,
    style_loss,
)
from vidcolor.solver.options import SolverOptions

log = logging.getLogger("vidcolor.solver")

# Randomly cropped and mirrored copies of each region shown to CLIP besides the region itself, and
# which regions are shown: the largest few, each at least this share of the frame (every view is a
# whole ViT pass, forward and back, every step).
CLIP_AUGMENTATIONS = 3
CLIP_REGIONS = 4
CLIP_MIN_AREA = 0.02
# References whose targets an engine keeps prepared (a service serves the references of many shots at once).
KEPT_REFERENCES = 16


def compose_rgb(luma: torch.Tensor, chroma: torch.Tensor, matrix: str = "bt601") -> torch.Tensor:
    """Luma ``(B, 1, H, W)`` and chroma ``(B, 2, H, W)`` in ``matrix`` → RGB ``(B, 3, H, W)`` (not clipped)."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    cb, cr = chroma[:, 0:1], chroma[:, 1:2]
    r = luma + 2.0 * (1.0 - kr) * cr
    b = luma + 2.0 * (1.0 - kb) * cb
    g = (luma - kr * r - kb * b) / (1.0 - kr - kb)
    return torch.cat([r, g, b], dim=1)


def reference_key(reference: Reference) -> str:
    """What a reference at solve size is, by content (an engine's prepared targets are kept under it)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (reference.luma, reference.chroma, reference.masks.weights):
        digest.update(np.ascontiguousarray(array, np.float32).tobytes())
    digest.update(repr((reference.masks.names, reference.luma.shape, reference.matrix)).encode())
    return digest.hexdigest()


@dataclass
class SolveProblem:
    """One keyframe's solve at solve size ``(h, w)``, prepared on the host.

    Attributes:
        luma: ``(h, w)`` unit luma; masks: its regions at that size.
        reference: the reference at solve size (``reference_key`` names its content).
        start: ``(h, w, 2)`` the colour the solve starts from; hold: ``(h, w)`` how firmly each pixel keeps it.
        previous, confidence: the previous keyframe's colour carried here ``(h, w, 2)`` and its trust ``(h, w)``,
            or None at a shot's first keyframe.
        adam: Adam's step count and second moments from the shot's last keyframe (None: a fresh start).
    """

    luma: np.ndarray
    masks: RegionMasks
    reference: Reference
    reference_key: str
    start: np.ndarray
    hold: np.ndarray
    previous: np.ndarray | None = None
    confidence: np.ndarray | None = None
    adam: dict[str, torch.Tensor] | None = None


@dataclass
class SolveResult:
    """A solved problem: its best grids ``(R, 2, D, gh, gw)``, Adam's state to carry, its steps and best loss."""

    grids: torch.Tensor
    adam: dict[str, torch.Tensor] | None
    iterations: int
    loss: float


class _Targets:
    """What a reference asks of every keyframe, prepared once per reference at solve size."""

    def __init__(
        self,
        names: tuple[str, ...],
        stats: list[tuple[torch.Tensor, torch.Tensor]],
        scales: list[float],
        grey_deep: torch.Tensor,
        colour_deep: torch.Tensor,
        region_deep: torch.Tensor,
        embedding: torch.Tensor | None,
        prompts: dict[str, torch.Tensor],
        region_embeddings: dict[str, torch.Tensor],
    ) -> None:
        self.names = names  # reference region names; statistics rows follow them, plus the whole image
        self.stats = stats
        self.scales = scales
        self.grey_deep = grey_deep  # (C, M): the deepest layer's grey features, for matching
        self.colour_deep = colour_deep  # (C, M): its colour features, the correspondence targets
        self.region_deep = region_deep  # (R_ref, M): hard reference regions at that layer
        self.embedding = embedding
        self.prompts = prompts
        self.region_embeddings = region_embeddings  # reference region name → its CLIP embedding (D,)


@dataclass
class _Clip:
    """A problem's CLIP terms for one step: views at the encoder's size, their targets and weights."""

    views: list[torch.Tensor] = field(default_factory=list)  # each (n, 3, S, S)
    targets: list[torch.Tensor] = field(default_factory=list)  # each (n, D)
    weights: list[torch.Tensor] = field(default_factory=list)  # each (n,): a view's share of the loss


class _Solve:
    """One problem's state on the device through the steps (set up by :meth:`OptimEngine._set_up`)."""

    def __init__(self, problem: SolveProblem) -> None:
        self.problem = problem
        self.iterations = 0
        self.done = False

    # Filled in by the engine: tensors, terms, the optimizer, the best grids so far.
    luma: torch.Tensor
    start: torch.Tensor
    hold: torch.Tensor
    prev: torch.Tensor | None
    conf: torch.Tensor | None
    matrix: str
    grey: list[torch.Tensor]
    feature_masks: list[torch.Tensor]
    paired: list[tuple[torch.Tensor, torch.Tensor]]
    area: torch.Tensor
    scales: list[float]
    match_target: torch.Tensor
    match_weight: torch.Tensor
    embedding: torch.Tensor | None
    region_terms: list[tuple[torch.Tensor, tuple[slice, slice], torch.Tensor]]
    prompt_terms: list[tuple[tuple[slice, slice], torch.Tensor]]
    prompt_weight: float
    views_generator: torch.Generator
    region_masks: torch.Tensor
    coordinates: torch.Tensor
    grids: torch.Tensor
    optimizer: torch.optim.Adam
    losses: torch.Tensor
    best_loss: torch.Tensor
    best_grids: torch.Tensor


class OptimEngine:
    """The solver's networks on one device, solving :class:`SolveProblem` lists (see the module).

    Args:
        options: solver knobs; ``features``/``clip`` pick the networks from the weights folder.
        device: ``cpu``, ``cuda`` or ``auto``.
        weights_dir: where weight files are looked for (None: the default folder).
        features, clip: injected networks (tests inject small random ones).
    """

    def __init__(
        self,
        options: SolverOptions | None = None,
        *,
        device: str = "cpu",
        weights_dir: str | os.PathLike[str] | None = None,
        features: FeatureExtractor | None = None,
        clip: ClipGuide | None = None,
    ) -> None:
        self.options = options or SolverOptions()
        self.device = torch.device(resolve_device(device))
        self.features = (features or build_features(self.options.features, weights_dir)).to(self.device)
        if self.device.type == "cuda":
            # Solve sizes repeat from keyframe to keyframe: let cuDNN pick its fastest kernels once.
            torch.backends.cudnn.benchmark = True
            self.features = self.features.to(memory_format=torch.channels_last)
        self.clip = clip or (ClipGuide.from_weights(weights_dir, self.device) if self.options.clip else None)
        self._targets: OrderedDict[str, _Targets] = OrderedDict()

    def identity(self) -> dict[str, str]:
        """The networks that decide the colours (part of the keyframe cache's key)."""
        return {
            "features": self.features.identity,
            "clip": self.clip.identity if self.clip is not None else "none",
        }

    def solve(self, problems: list[SolveProblem]) -> list[SolveResult]:
        """Each problem's best grids, in order; problems of one size are solved together."""
        results: dict[int, SolveResult] = {}
        by_size: dict[tuple[int, ...], list[int]] = {}
        for i, problem in enumerate(problems):
            by_size.setdefault(problem.luma.shape, []).append(i)
        for indices in by_size.values():
            for i, result in zip(indices, self._solve_together([problems[i] for i in indices]), strict=True):
                results[i] = result
        return [results[i] for i in range(len(problems))]

    def forget_references(self) -> None:
        """Drop the references' prepared targets (a benchmark times their preparation too)."""
        self._targets.clear()

    # -- what the reference asks ------------------------------------------------------------

    def targets(self, reference: Reference, key: str | None = None) -> _Targets:
        """Colour-feature statistics per reference region (+ the whole reference), the deepest layer's
        features for correspondence, and its CLIP embedding: once per reference (kept under ``key``)."""
        key = key or reference_key(reference)
        if key in self._targets:
            self._targets.move_to_end(key)
            return self._targets[key]
        opts = self.options
        small = reference.at_size(opts.solve_size)
        rh, rw = small.luma.shape
        luma = self._tensor(small.luma)[None, None]
        chroma = self._tensor(small.chroma).permute(2, 0, 1)[None]
        ref_masks = small.masks
        weights = np.concatenate([ref_masks.weights, np.ones((1, rh, rw), np.float32)])  # last row: whole image
        with torch.no_grad():
            rgb = compose_rgb(luma, chroma, reference.matrix).clamp(0, 1)
            grey = self._features_of(luma.expand(1, 3, -1, -1))
            colour = [f - g for f, g in zip(self._features_of(rgb), grey, strict=True)]
            stats = region_statistics(colour, layer_masks(self._tensor(weights), colour))
            deep_h, deep_w = colour[-1].shape[-2:]
            hard = self._tensor(np.eye(len(ref_masks.names), dtype=np.float32)[ref_masks.hard()]).permute(2, 0, 1)
            region_deep = F.adaptive_avg_pool2d(hard[None], (deep_h, deep_w))[0].flatten(1) > 0.5
            embedding = self.clip.embed(rgb) if self.clip is not None else None
        prompts = self._pick_prompts(rgb, ref_masks) if self.clip is not None and opts.clip_prompts else {}
        regions = self._region_embeddings(rgb, ref_masks) if self.clip is not None else {}
        targets = _Targets(
            ref_masks.names,
            stats,
            layer_scales(stats),
            grey[-1][0].flatten(1),
            colour[-1][0].flatten(1),
            region_deep,
            embedding,
            prompts,
            regions,
        )
        self._targets[key] = targets
        while len(self._targets) > KEPT_REFERENCES:
            self._targets.popitem(last=False)
        return targets

    def _region_embeddings(self, rgb: torch.Tensor, masks: RegionMasks) -> dict[str, torch.Tensor]:
        """Per reference region, the mean CLIP embedding of its views (one batched forward)."""
        if self.clip is None:
            return {}
        soft = self._tensor(masks.weights)
        boxed = [(n, m, b) for n, m in zip(masks.names, soft, strict=True) if (b := region_box(m)) is not None]
        if not boxed:
            return {}
        generator = torch.Generator().manual_seed(self.options.seed)
        per = 1 + CLIP_AUGMENTATIONS
        with torch.no_grad():
            views = self.clip.region_views(
                rgb, torch.stack([m for _, m, _ in boxed]), [b for *_, b in boxed], CLIP_AUGMENTATIONS, generator
            )
            embedded = self.clip.embed_views(views).view(len(boxed), per, -1).mean(dim=1)
        return {name: F.normalize(e, dim=-1) for (name, _, _), e in zip(boxed, embedded, strict=True)}

    def _pick_prompts(self, rgb: torch.Tensor, masks: RegionMasks) -> dict[str, torch.Tensor]:
        """Per reference region, the pool prompt CLIP finds closest to it (its text embedding)."""
        chosen: dict[str, torch.Tensor] = {}
        if self.clip is None:
            return chosen
        for name, weight in zip(masks.names, masks.weights, strict=True):
            box = region_box(self._tensor(weight))
            picked = self.clip.pick_prompt(rgb[:, :, box[0], box[1]], base_name(name)) if box is not None else None
            if picked is not None:
                log.debug("reference region %s: %r", name, picked[0])
                chosen[name] = picked[1]
        return chosen

    # -- the optimization -------------------------------------------------------------------

    def _solve_together(self, problems: list[SolveProblem]) -> list[SolveResult]:
        """Problems of one size, their steps taken together until each has plateaued or run out of steps."""
        opts = self.options
        torch.manual_seed(opts.seed)
        solves = [self._set_up(problem) for problem in problems]
        active = list(solves)
        for iteration in range(opts.iterations):
            if not active:
                break
            for s in active:
                s.optimizer.zero_grad(set_to_none=True)
            offsets, chromas, rgbs, shown = [], [], [], []
            for s in active:
                offset = slice_grids(s.grids, s.coordinates, s.region_masks)
                chroma = s.start + offset
                rgb = compose_rgb(s.luma, chroma, s.matrix)
                offsets.append(offset)
                chromas.append(chroma)
                rgbs.append(rgb)
                shown.append(rgb.clamp(0, 1))  # what a player displays; the gamut term sees the unclipped rgb
            features = self._features_of(shown[0] if len(shown) == 1 else torch.cat(shown))
            clip_terms = [self._clip_terms(s, view) for s, view in zip(active, shown, strict=True)]
            clip_losses = self._clip_losses(clip_terms)
            total: torch.Tensor | None = None
            step_losses = []
            for b, s in enumerate(active):
                colour = [f[b : b + 1] - g for f, g in zip(features, s.grey, strict=True)]
                loss = opts.style_weight * style_loss(
                    region_statistics(colour, s.feature_masks), s.paired, s.area, s.scales
                )
                loss = loss + opts.match_weight * correspondence_loss(
                    colour[-1][0].flatten(1), s.match_target, s.match_weight, s.scales[-1]
                )
                loss = loss + opts.data_weight * 100.0 * (s.hold * offsets[b].pow(2)).mean()
                clip_loss = clip_losses[b]
                if clip_loss is not None:
                    loss = loss + clip_loss
                if s.prev is not None and s.conf is not None:
                    loss = loss + opts.temporal_weight * 100.0 * (s.conf * (chromas[b] - s.prev).pow(2)).mean()
                rgb = rgbs[b]
                loss = loss + opts.gamut_weight * (F.relu(rgb - 1.0).pow(2).mean() + F.relu(-rgb).pow(2).mean())
                step_losses.append(loss)
                total = loss if total is None else total + loss  # no problem's loss depends on another's grids
            assert total is not None
            total.backward()
            for s, loss in zip(active, step_losses, strict=True):
                with torch.no_grad():  # the loss belongs to the grids before this step moves them
                    value = loss.detach()
                    s.losses[iteration] = value
                    better = value < s.best_loss
                    s.best_loss = torch.where(better, value, s.best_loss)
                    s.best_grids = torch.where(better, s.grids.detach(), s.best_grids)
                s.optimizer.step()
                s.iterations += 1
                if s.iterations % opts.patience == 0 and _plateaued(
                    s.losses[: s.iterations].tolist(), opts.patience, opts.plateau
                ):
                    s.done = True
            active = [s for s in active if not s.done]
        return [self._result_of(s) for s in solves]

    def _set_up(self, problem: SolveProblem) -> _Solve:
        """A problem's tensors on the device, the reference's targets paired with its regions, its optimizer."""
        opts = self.options
        s = _Solve(problem)
        targets = self.targets(problem.reference, problem.reference_key)
        masks = problem.masks
        partners = [counterpart(name, targets.names) for name in masks.names]
        # Which reference statistics row each keyframe region is held to (the last row = whole reference).
        rows = [targets.names.index(p) if p is not None else len(targets.names) for p in partners]
        rows_t = torch.tensor(rows, device=self.device)
        s.paired = [(mean[rows_t], std[rows_t]) for mean, std in targets.stats]
        s.scales = targets.scales
        s.embedding = targets.embedding
        s.matrix = problem.reference.matrix
        s.region_masks = region_masks = self._tensor(masks.weights)
        s.area = area = region_masks.flatten(1).mean(dim=1)  # (R,)
        # Keyframe regions pulled toward their reference counterpart's prompt: (box, text embedding).
        # Boxes are found once: the masks do not change during the solve.
        s.prompt_terms = [
            (box, targets.prompts[partner])
            for partner, mask in zip(partners, region_masks, strict=True)
            if partner in targets.prompts and (box := region_box(mask)) is not None
        ]
        s.prompt_weight = opts.clip_weight / max(1, sum(p in targets.prompts for p in partners))
        # Keyframe regions held to their counterpart's CLIP embedding: (mask, box, target), views
        # re-drawn every step from a seeded generator (deterministic solves).
        s.region_terms = [
            (mask, box, targets.region_embeddings[partner])
            for partner, mask, share in sorted(
                zip(partners, region_masks, area.tolist(), strict=True), key=lambda t: -t[2]
            )[:CLIP_REGIONS]
            if share >= CLIP_MIN_AREA and partner in targets.region_embeddings and (box := region_box(mask)) is not None
        ]
        s.views_generator = torch.Generator().manual_seed(opts.seed)

        s.luma = luma = self._tensor(problem.luma)[None, None]
        s.start = self._tensor(problem.start).permute(2, 0, 1)[None]
        s.hold = hold = self._tensor(problem.hold)[None, None]
        s.prev = s.conf = None
        if problem.previous is not None and problem.confidence is not None:
            s.prev = self._tensor(problem.previous).permute(2, 0, 1)[None]
            s.conf = self._tensor(problem.confidence)[None, None]
        with torch.no_grad():
            s.grey = grey = self._features_of(luma.expand(1, 3, -1, -1))
            s.feature_masks = layer_masks(region_masks, grey)
            match_target, match_weight = self._correspondence(grey[-1], s.feature_masks[-1], partners, targets)
            s.match_target = match_target
            s.match_weight = match_weight * (
                1.0 - F.adaptive_avg_pool2d(hold.clamp(max=1.0), (grey[-1].shape[-2], grey[-1].shape[-1])).flatten()
            )
        s.coordinates = slicing_coordinates(luma, len(masks.names))
        s.grids = torch.zeros(grid_shape(len(masks.names), *problem.luma.shape), device=self.device, requires_grad=True)
        s.optimizer = torch.optim.Adam([s.grids], lr=opts.learning_rate)
        _resume_adam(s.optimizer, s.grids, problem.adam)
        # The loss history and the best grids stay on the device: reading the loss back every step
        # would make the GPU wait for the host. The plateau test reads them every few steps.
        s.losses = torch.zeros(max(opts.iterations, 1), device=self.device)
        s.best_loss = torch.full((), float("inf"), device=self.device)
        s.best_grids = s.grids.detach().clone()
        return s

    def _clip_terms(self, s: _Solve, shown: torch.Tensor) -> _Clip | None:
        """The problem's CLIP views this step: the whole picture, its regions' views, its prompts' crops."""
        if self.clip is None:
            return None
        opts = self.options
        terms = _Clip()
        size = (self.clip.input_size, self.clip.input_size)

        def add(views: torch.Tensor, targets: torch.Tensor, weight: float) -> None:
            terms.views.append(views)
            terms.targets.append(targets)
            terms.weights.append(torch.full((views.shape[0],), weight / views.shape[0], device=views.device))

        def resized(image: torch.Tensor) -> torch.Tensor:
            return F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)

        if s.embedding is not None:
            add(resized(shown), s.embedding, opts.clip_weight)
        if s.region_terms:
            views = self.clip.region_views(
                shown,
                torch.stack([m for m, _, _ in s.region_terms]),
                [b for _, b, _ in s.region_terms],
                CLIP_AUGMENTATIONS,
                s.views_generator,
            )
            wanted = torch.stack([t for _, _, t in s.region_terms]).repeat_interleave(1 + CLIP_AUGMENTATIONS, dim=0)
            add(views, wanted, opts.clip_weight)
        for (rows_slice, cols_slice), text in s.prompt_terms:
            add(resized(shown[:, :, rows_slice, cols_slice]), text[None], s.prompt_weight)
        return terms if terms.views else None

    def _clip_losses(self, terms: list[_Clip | None]) -> list[torch.Tensor | None]:
        """Each problem's CLIP loss (its views' weighted ``1 - cosine``), every view of every problem
        embedded in one forward pass."""
        if self.clip is None or all(t is None for t in terms):
            return [None] * len(terms)
        views = torch.cat([v for t in terms if t is not None for v in t.views])
        embedded = self.clip.embed_views(views)
        losses: list[torch.Tensor | None] = []
        at = 0
        for t in terms:
            if t is None:
                losses.append(None)
                continue
            targets = torch.cat(t.targets)
            weights = torch.cat(t.weights)
            n = targets.shape[0]
            cosine = (embedded[at : at + n] * targets).sum(dim=-1)
            losses.append((weights * (1.0 - cosine)).sum())
            at += n
        return losses

    def _result_of(self, s: _Solve) -> SolveResult:
        state = s.optimizer.state.get(s.grids)
        adam = {"step": state["step"], "exp_avg_sq": state["exp_avg_sq"]} if state else None
        return SolveResult(s.best_grids, adam, s.iterations, float(s.best_loss))

    def _correspondence(
        self, grey_deep: torch.Tensor, masks_deep: torch.Tensor, partners: list[str | None], targets: _Targets
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per deep-layer position of the keyframe, the colour features of its best-matching reference
        position inside its counterpart region, and how much it counts ``(N,)`` (its region's share)."""
        labels = masks_deep.argmax(dim=0)  # (N,)
        whole = torch.ones_like(targets.region_deep[0])
        allowed = torch.stack(
            [targets.region_deep[targets.names.index(p)] if p is not None else whole for p in partners]
        )
        allowed = torch.where(allowed.any(dim=1, keepdim=True), allowed, whole)  # an empty counterpart: all
        index = nearest_reference(grey_deep[0].flatten(1), targets.grey_deep, labels, allowed)
        return targets.colour_deep[:, index], masks_deep.max(dim=0).values

    def _features_of(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps. On CUDA, channels-last memory; learned networks (VGG) run in bfloat16 under
        autocast, while the weight-free pyramid, whose Lab conversion needs the precision, stays
        float32; statistics are always float32."""
        if self.device.type != "cuda":
            return self.features(rgb)
        rgb = rgb.contiguous(memory_format=torch.channels_last)
        if isinstance(self.features, PyramidFeatures):
            return self.features(rgb)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            return [f.float() for f in self.features(rgb)]

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, np.float32)).to(self.device)


def slice_result(grids: torch.Tensor, luma: np.ndarray, masks: RegionMasks, device: torch.device) -> np.ndarray:
    """The colour offset ``(H, W, 2)`` of solved ``grids`` at a keyframe's full size, sliced with its own luma."""
    with torch.no_grad():
        luma_t = torch.from_numpy(np.ascontiguousarray(luma, np.float32)).to(device)[None, None]
        weights = torch.from_numpy(np.ascontiguousarray(masks.weights, np.float32)).to(device)
        offset = slice_grids(grids.to(device), slicing_coordinates(luma_t, grids.shape[0]), weights)
    return offset[0].permute(1, 2, 0).cpu().numpy()


def _resume_adam(optimizer: torch.optim.Adam, grids: torch.Tensor, adam: dict[str, Any] | None) -> None:
    """Within a shot, start Adam with the last keyframe's step count and second moments, so its
    first steps are not the large, noisy ones of a fresh start."""
    if adam is not None and adam["exp_avg_sq"].shape == grids.shape:
        optimizer.state[grids] = {
            "step": adam["step"].clone(),
            "exp_avg": torch.zeros_like(grids),
            "exp_avg_sq": adam["exp_avg_sq"].to(grids.device).clone(),
        }


def _plateaued(history: list[float], patience: int, plateau: float) -> bool:
    """True when the mean loss of the last ``patience`` steps is below the ``patience`` before by
    less than ``plateau`` (relative). A rising loss (Adam's first overshoot) is not a plateau."""
    if len(history) < 2 * patience:
        return False
    before = sum(history[-2 * patience : -patience]) / patience
    now = sum(history[-patience:]) / patience
    return 0.0 <= before - now < plateau * abs(before)
