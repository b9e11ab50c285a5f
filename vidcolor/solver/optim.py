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
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from vidcolor.colour import LUMA_COEFFICIENTS
from vidcolor.device import resolve_device
from vidcolor.segment.regions import base_name, counterpart
from vidcolor.shared_types import Keyframe, Propagated, Reference, RegionMasks, Trusted
from vidcolor.solver.base import KeyframeColorizer
from vidcolor.solver.clip_guide import ClipGuide, region_box
from vidcolor.solver.exemplar import ExemplarColorizer
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

if TYPE_CHECKING:
    from vidcolor.registry import RunContext

log = logging.getLogger("vidcolor.solver")

# How firmly the data term holds the start: the exemplar's guess lightly, so the feature losses may
# move it; trusted colour (the reference match, the carry) fifty times as firmly, by its certainty.
GUESS_HOLD = 0.2
TRUSTED_HOLD = 10.0
# Randomly cropped and mirrored copies of each region shown to CLIP besides the region itself, and
# which regions are shown: the largest few, each at least this share of the frame (every view is a
# whole ViT pass, forward and back, every step).
CLIP_AUGMENTATIONS = 3
CLIP_REGIONS = 4
CLIP_MIN_AREA = 0.02


def compose_rgb(luma: torch.Tensor, chroma: torch.Tensor, matrix: str = "bt601") -> torch.Tensor:
    """Luma ``(1, 1, H, W)`` and chroma ``(1, 2, H, W)`` in ``matrix`` → RGB ``(1, 3, H, W)`` (not clipped)."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    cb, cr = chroma[:, 0:1], chroma[:, 1:2]
    r = luma + 2.0 * (1.0 - kr) * cr
    b = luma + 2.0 * (1.0 - kb) * cb
    g = (luma - kr * r - kb * b) / (1.0 - kr - kb)
    return torch.cat([r, g, b], dim=1)


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


class OptimColorizer(KeyframeColorizer):
    """The VGG/CLIP-guided, region-aware optimization solver (weight-free features without weights).

    Args:
        options: solver knobs; ``features``/``clip`` pick the networks from the weights folder.
        device: ``cpu``, ``cuda`` or ``auto`` (a run hands over the device it resolved once).
        weights_dir: where weight files are looked for (None: the default folder).
        features: an injected feature extractor (tests inject small random ones).
        clip: an injected CLIP guide.
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
    ) -> None:
        self.options = options or SolverOptions()
        self.device = torch.device(resolve_device(device))
        self.features = (features or build_features(self.options.features, weights_dir)).to(self.device)
        if self.device.type == "cuda":
            # Solve sizes repeat from keyframe to keyframe: let cuDNN pick its fastest kernels once.
            torch.backends.cudnn.benchmark = True
            self.features = self.features.to(memory_format=torch.channels_last)
        self.clip = clip or (ClipGuide.from_weights(weights_dir, self.device) if self.options.clip else None)
        self.start = ExemplarColorizer(continuity=self.options.continuity)
        self.last_iterations = 0
        self.last_loss = float("nan")
        # The reference whose targets were last prepared, held so its identity cannot be reused.
        self._prepared: tuple[Reference, _Targets] | None = None
        # Adam's second moments and step count from the last keyframe of the shot (None at a shot start).
        self._adam: dict[str, Any] | None = None

    def identity(self) -> dict[str, str]:
        return {
            "colorizer": self.name,
            "features": self.features.identity,
            "clip": self.clip.identity if self.clip is not None else "none",
        }

    @classmethod
    def create(cls, options: SolverOptions, context: RunContext) -> OptimColorizer:
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
        grids = self._optimize(small, reference, shrink(start), shrink(hold), prev_chroma, prev_conf)
        kept = float((opts.continuity * prev_conf).mean()) if prev_conf is not None and opts.warm_start else 0.0
        log.debug(
            "optim: %d steps, final loss %.4g, started from %.0f%% of the carried colour",
            self.last_iterations,
            self.last_loss,
            100 * kept,
        )
        with torch.no_grad():
            luma = self._tensor(keyframe.luma)[None, None]
            offset = slice_grids(grids, slicing_coordinates(luma, grids.shape[0]), self._tensor(keyframe.masks.weights))
        return (start + offset[0].permute(1, 2, 0).cpu().numpy()).astype(np.float32)

    # -- what the reference asks ------------------------------------------------------------

    def _reference_targets(self, reference: Reference) -> _Targets:
        """Colour-feature statistics per reference region (+ the whole reference), the deepest layer's
        features for correspondence, and its CLIP embedding: once per reference."""
        if self._prepared is not None and self._prepared[0] is reference:
            return self._prepared[1]
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
        self._prepared = (reference, targets)
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

    def _optimize(
        self,
        keyframe: Keyframe,
        reference: Reference,
        start_np: np.ndarray,
        hold_np: np.ndarray,
        prev_chroma: np.ndarray | None,
        prev_conf: np.ndarray | None,
    ) -> torch.Tensor:
        """The best grids ``(R, 2, D, gh, gw)`` found for ``keyframe`` at solve size."""
        opts = self.options
        torch.manual_seed(opts.seed)
        targets = self._reference_targets(reference)
        masks = keyframe.masks
        partners = [counterpart(name, targets.names) for name in masks.names]
        # Which reference statistics row each keyframe region is held to (the last row = whole reference).
        rows = [targets.names.index(p) if p is not None else len(targets.names) for p in partners]
        rows_t = torch.tensor(rows, device=self.device)
        paired = [(mean[rows_t], std[rows_t]) for mean, std in targets.stats]
        region_masks = self._tensor(masks.weights)
        area = region_masks.flatten(1).mean(dim=1)  # (R,)
        # Keyframe regions pulled toward their reference counterpart's prompt: (box, text embedding).
        # Boxes are found once: the masks do not change during the solve.
        prompt_terms = [
            (box, targets.prompts[partner])
            for partner, mask in zip(partners, region_masks, strict=True)
            if partner in targets.prompts and (box := region_box(mask)) is not None
        ]
        prompt_weight = opts.clip_weight / max(1, sum(p in targets.prompts for p in partners))
        # Keyframe regions held to their counterpart's CLIP embedding: (mask, box, target), views
        # re-drawn every step from a seeded generator (deterministic solves).
        region_terms = [
            (mask, box, targets.region_embeddings[partner])
            for partner, mask, share in sorted(
                zip(partners, region_masks, area.tolist(), strict=True), key=lambda t: -t[2]
            )[:CLIP_REGIONS]
            if share >= CLIP_MIN_AREA and partner in targets.region_embeddings and (box := region_box(mask)) is not None
        ]
        views_generator = torch.Generator().manual_seed(opts.seed)

        luma = self._tensor(keyframe.luma)[None, None]
        start = self._tensor(start_np).permute(2, 0, 1)[None]
        hold = self._tensor(hold_np)[None, None]
        prev = conf = None
        if prev_chroma is not None and prev_conf is not None:
            prev = self._tensor(prev_chroma).permute(2, 0, 1)[None]
            conf = self._tensor(prev_conf)[None, None]
        with torch.no_grad():
            grey = self._features_of(luma.expand(1, 3, -1, -1))
            feature_masks = layer_masks(region_masks, grey)
            match_target, match_weight = self._correspondence(grey[-1], feature_masks[-1], partners, targets)
            match_weight = match_weight * (
                1.0 - F.adaptive_avg_pool2d(hold.clamp(max=1.0), (grey[-1].shape[-2], grey[-1].shape[-1])).flatten()
            )

        coordinates = slicing_coordinates(luma, len(masks.names))
        grids = torch.zeros(grid_shape(len(masks.names), *keyframe.luma.shape), device=self.device, requires_grad=True)
        optimizer = torch.optim.Adam([grids], lr=opts.learning_rate)
        self._resume_adam(optimizer, grids)
        # The loss history and the best grids stay on the device: reading the loss back every step
        # would make the GPU wait for the host. The plateau test reads them every few steps.
        losses = torch.zeros(max(opts.iterations, 1), device=self.device)
        best_loss = torch.full((), float("inf"), device=self.device)
        best_grids = grids.detach().clone()
        self.last_iterations = 0
        for iteration in range(opts.iterations):
            optimizer.zero_grad(set_to_none=True)
            offset = slice_grids(grids, coordinates, region_masks)
            chroma = start + offset
            rgb = compose_rgb(luma, chroma, reference.matrix)
            shown = rgb.clamp(0, 1)  # what a player displays; the gamut term below sees the unclipped rgb
            colour = [f - g for f, g in zip(self._features_of(shown), grey, strict=True)]
            loss = opts.style_weight * style_loss(
                region_statistics(colour, feature_masks), paired, area, targets.scales
            )
            loss = loss + opts.match_weight * correspondence_loss(
                colour[-1][0].flatten(1), match_target, match_weight, targets.scales[-1]
            )
            loss = loss + opts.data_weight * 100.0 * (hold * offset.pow(2)).mean()
            if self.clip is not None and targets.embedding is not None:
                loss = loss + opts.clip_weight * self.clip.loss(shown, targets.embedding)
            if self.clip is not None and region_terms:
                views = self.clip.region_views(
                    shown,
                    torch.stack([m for m, _, _ in region_terms]),
                    [b for _, b, _ in region_terms],
                    CLIP_AUGMENTATIONS,
                    views_generator,
                )
                wanted = torch.stack([t for _, _, t in region_terms]).repeat_interleave(1 + CLIP_AUGMENTATIONS, dim=0)
                loss = loss + opts.clip_weight * self.clip.region_loss(views, wanted)
            if self.clip is not None:
                for (rows_slice, cols_slice), text in prompt_terms:
                    crop = shown[:, :, rows_slice, cols_slice]
                    loss = loss + prompt_weight * self.clip.loss(crop, text[None])
            if prev is not None and conf is not None:
                loss = loss + opts.temporal_weight * 100.0 * (conf * (chroma - prev).pow(2)).mean()
            loss = loss + opts.gamut_weight * (F.relu(rgb - 1.0).pow(2).mean() + F.relu(-rgb).pow(2).mean())
            loss.backward()
            with torch.no_grad():  # the loss belongs to the grids before this step moves them
                value = loss.detach()
                losses[iteration] = value
                better = value < best_loss
                best_loss = torch.where(better, value, best_loss)
                best_grids = torch.where(better, grids.detach(), best_grids)
            optimizer.step()
            self.last_iterations += 1
            if self.last_iterations % opts.patience == 0 and _plateaued(
                losses[: self.last_iterations].tolist(), opts.patience, opts.plateau
            ):
                break
        self._keep_adam(optimizer, grids)
        self.last_loss = float(best_loss)
        return best_grids

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

    def _resume_adam(self, optimizer: torch.optim.Adam, grids: torch.Tensor) -> None:
        """Within a shot, start Adam with the last keyframe's step count and second moments, so its
        first steps are not the large, noisy ones of a fresh start."""
        if self._adam is not None and self._adam["exp_avg_sq"].shape == grids.shape:
            optimizer.state[grids] = {
                "step": self._adam["step"].clone(),
                "exp_avg": torch.zeros_like(grids),
                "exp_avg_sq": self._adam["exp_avg_sq"].clone(),
            }

    def _keep_adam(self, optimizer: torch.optim.Adam, grids: torch.Tensor) -> None:
        state = optimizer.state.get(grids)
        self._adam = {"step": state["step"], "exp_avg_sq": state["exp_avg_sq"]} if state else None

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


def _plateaued(history: list[float], patience: int, plateau: float) -> bool:
    """True when the mean loss of the last ``patience`` steps is below the ``patience`` before by
    less than ``plateau`` (relative). A rising loss (Adam's first overshoot) is not a plateau."""
    if len(history) < 2 * patience:
        return False
    before = sum(history[-2 * patience : -patience]) / patience
    now = sum(history[-patience:]) / patience
    return 0.0 <= before - now < plateau * abs(before)
