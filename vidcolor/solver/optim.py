"""Region-aware optimization solver: the keyframe's chroma is optimized against the reference.

Warm start: per-region statistics alignment (AdaIN) of the reference's colour onto the keyframe.
Then Adam minimizes, over the chroma only (luma is a constant, so it cannot change):

    style     per region, mean and standard deviation of features at several depths, against the
              paired reference region (batched over regions)
    content   optional feature distance to the greyscale keyframe (0 by default)
    clip      1 - cosine between CLIP embeddings of the result and the reference (when enabled);
              with prompts, also each region's crop against the text prompt picked for its
              reference counterpart from a pool (e.g. "blonde hair", "a grey wall")
    smooth    chroma gradients, weighted down across luma edges (edge-aware)
    temporal  distance to the previous keyframe's result carried here by flow, where trusted
    gamut     RGB leaving [0, 1] for the fixed luma

and stops early when the loss stops improving. The result is brought to full size along the
keyframe's luma edges.
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
from vidcolor.segment.base import RegionMasks
from vidcolor.segment.regions import base_name, counterpart
from vidcolor.settings import SolverSettings
from vidcolor.solver.base import Keyframe, KeyframeColorizer, Reference, keep_carried
from vidcolor.solver.clip_guide import ClipGuide, region_box
from vidcolor.solver.features import FeatureExtractor, PyramidFeatures, build_features
from vidcolor.solver.upsample import chroma_to_size
from vidcolor.temporal.propagate import Propagated

if TYPE_CHECKING:
    from vidcolor.settings import Settings

log = logging.getLogger("vidcolor.solver")


def compose_rgb(luma: torch.Tensor, chroma: torch.Tensor, matrix: str = "bt601") -> torch.Tensor:
    """Luma ``(1, 1, H, W)`` and chroma ``(1, 2, H, W)`` in ``matrix`` → RGB ``(1, 3, H, W)`` (not clipped)."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    cb, cr = chroma[:, 0:1], chroma[:, 1:2]
    r = luma + 2.0 * (1.0 - kr) * cr
    b = luma + 2.0 * (1.0 - kb) * cb
    g = (luma - kr * r - kb * b) / (1.0 - kr - kb)
    return torch.cat([r, g, b], dim=1)


def pooled_masks(masks: torch.Tensor, features: list[torch.Tensor]) -> list[torch.Tensor]:
    """Soft masks ``(R, H, W)`` averaged down to each feature map's size, flattened: ``[(R, N_l)]``."""
    return [F.adaptive_avg_pool2d(masks[None], (f.shape[-2], f.shape[-1]))[0].flatten(1) for f in features]


def region_statistics(
    features: list[torch.Tensor], masks: list[torch.Tensor]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Masked mean and standard deviation of every feature map, for all regions at once.

    Args:
        features: ``[(1, C_l, H_l, W_l)]``.
        masks: ``[(R, N_l)]`` from :func:`pooled_masks` (pooled once per solve: they are constant).

    Returns:
        per layer, ``(mean (R, C_l), std (R, C_l))``.
    """
    stats = []
    for f, m in zip(features, masks, strict=True):
        total = m.sum(dim=1, keepdim=True).clamp_min(1e-6)
        x = f[0].flatten(1)  # (C, N)
        mean = (m @ x.T) / total
        var = (m @ (x * x).T) / total - mean * mean
        stats.append((mean, var.clamp_min(1e-8).sqrt()))
    return stats


def adain_warm_start(luma: np.ndarray, masks: RegionMasks, reference: Reference) -> np.ndarray:
    """Per region, the reference region's colour aligned to the keyframe region's luma statistics.

    Within a paired region, chroma is modelled as linear in luma (mean + slope) on the
    reference, and applied to the keyframe's luma after matching its mean and variance to the
    reference region's (AdaIN on luma). Regions without a counterpart use the whole reference.
    """
    out = np.zeros((*luma.shape, 2), np.float32)
    for r, name in enumerate(masks.names):
        weight = masks.weights[r]
        if weight.max() < 1e-3:
            continue
        region = reference.region_for(name)
        ref_l, ref_c = reference.luma[region], reference.chroma[region]
        mu_r, sd_r = float(ref_l.mean()), float(ref_l.std()) + 1e-4
        slope = ((ref_l - mu_r)[:, None] * (ref_c - ref_c.mean(axis=0))).mean(axis=0) / sd_r**2
        inside = weight > 0.5 if (weight > 0.5).any() else weight > 0
        mu_t, sd_t = float(luma[inside].mean()), float(luma[inside].std()) + 1e-4
        aligned = (luma - mu_t) / sd_t * sd_r + mu_r
        out += weight[..., None] * (ref_c.mean(axis=0) + (aligned - mu_r)[..., None] * slope)
    return out


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
        options: SolverSettings | None = None,
        *,
        device: str = "cpu",
        weights_dir: str | os.PathLike[str] | None = None,
        features: FeatureExtractor | None = None,
        clip: ClipGuide | None = None,
    ) -> None:
        self.options = options or SolverSettings()
        self.device = torch.device(resolve_device(device))
        self.features = (features or build_features(self.options.features, weights_dir)).to(self.device)
        if self.device.type == "cuda":
            # Solve sizes repeat from keyframe to keyframe: let cuDNN pick its fastest kernels once.
            torch.backends.cudnn.benchmark = True
            self.features = self.features.to(memory_format=torch.channels_last)
        self.clip = clip or (ClipGuide.from_weights(weights_dir, self.device) if self.options.clip else None)
        self.last_iterations = 0
        self.last_loss = float("nan")
        # The reference whose targets were last prepared, held so its identity cannot be reused.
        self._prepared: tuple[Reference, tuple[Any, ...]] | None = None

    def identity(self) -> dict[str, str]:
        return {
            "colorizer": self.name,
            "features": self.features.identity,
            "clip": self.clip.identity if self.clip is not None else "none",
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> OptimColorizer:
        return cls(settings.solver, device=settings.device, weights_dir=settings.weights_dir)

    def colorize(self, keyframe: Keyframe, reference: Reference, previous: Propagated | None) -> np.ndarray:
        opts = self.options
        small = keyframe.at_size(opts.solve_size)
        luma, masks = small.luma, small.masks
        sh, sw = luma.shape

        # Cold start (for comparison): neutral chroma.
        init = adain_warm_start(luma, masks, reference) if opts.warm_start else np.zeros((sh, sw, 2), np.float32)
        prev_chroma = prev_conf = None
        if previous is not None:
            prev_chroma = cv2.resize(previous.chroma, (sw, sh), interpolation=cv2.INTER_AREA)
            prev_conf = cv2.resize(previous.confidence, (sw, sh), interpolation=cv2.INTER_AREA)
            if opts.warm_start:  # start from the previous keyframe's colour where it is trusted
                init = keep_carried(init, previous, opts.continuity)
        chroma = self._optimize(luma, masks, reference, init, prev_chroma, prev_conf)
        kept = float((opts.continuity * prev_conf).mean()) if prev_conf is not None and opts.warm_start else 0.0
        log.debug(
            "optim: %d steps, final loss %.4g, started from %.0f%% of the carried colour",
            self.last_iterations,
            self.last_loss,
            100 * kept,
        )
        return chroma_to_size(chroma, keyframe.luma)

    # -- the optimization -------------------------------------------------------------------

    def _reference_targets(self, reference: Reference) -> tuple[Any, ...]:
        """Style statistics per reference region (+ the whole reference) and its CLIP embedding, once per reference."""
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
            features = self._features_of(rgb)
            stats = region_statistics(features, pooled_masks(self._tensor(weights), features))
            embedding = self.clip.embed(rgb) if self.clip is not None else None
        prompts = self._pick_prompts(rgb, ref_masks) if self.clip is not None and opts.clip_prompts else {}
        targets = (ref_masks.names, stats, embedding, prompts)
        self._prepared = (reference, targets)
        return targets

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

    def _optimize(
        self,
        luma_np: np.ndarray,
        masks: RegionMasks,
        reference: Reference,
        init: np.ndarray,
        prev_chroma: np.ndarray | None,
        prev_conf: np.ndarray | None,
    ) -> np.ndarray:
        opts = self.options
        torch.manual_seed(opts.seed)
        ref_names, ref_stats, ref_embedding, ref_prompts = self._reference_targets(reference)
        partners = [counterpart(name, ref_names) for name in masks.names]
        # Which reference statistics row each keyframe region is held to (the last row = whole reference).
        rows = [ref_names.index(p) if p is not None else len(ref_names) for p in partners]
        rows_t = torch.tensor(rows, device=self.device)
        region_masks = self._tensor(masks.weights)
        area = region_masks.flatten(1).mean(dim=1)  # (R,)
        targets = [(mean[rows_t], std[rows_t]) for mean, std in ref_stats]
        # Keyframe regions pulled toward their reference counterpart's prompt: (box, text embedding).
        # Boxes are found once: the masks do not change during the solve.
        prompt_terms = [
            (box, ref_prompts[partner])
            for partner, mask in zip(partners, region_masks, strict=True)
            if partner in ref_prompts and (box := region_box(mask)) is not None
        ]
        prompt_weight = opts.clip_weight / max(1, sum(p in ref_prompts for p in partners))

        luma = self._tensor(luma_np)[None, None]
        # Smoothness weights: low across luma edges, and across region borders, where regions may
        # change colour (the feathered masks shape that change).
        border_x = 0.5 * (region_masks[:, :, 1:] - region_masks[:, :, :-1]).abs().sum(dim=0)
        border_y = 0.5 * (region_masks[:, 1:, :] - region_masks[:, :-1, :]).abs().sum(dim=0)
        edge_x = torch.exp(-(luma[..., :, 1:] - luma[..., :, :-1]).abs() / 0.03) * (1.0 - border_x).clamp_min(0.0)
        edge_y = torch.exp(-(luma[..., 1:, :] - luma[..., :-1, :]).abs() / 0.03) * (1.0 - border_y).clamp_min(0.0)
        prev = conf = None
        if prev_chroma is not None and prev_conf is not None:
            prev = self._tensor(prev_chroma).permute(2, 0, 1)[None]
            conf = self._tensor(prev_conf)[None, None]
        content_targets = None
        if opts.content_weight > 0:
            with torch.no_grad():
                content_targets = self._features_of(luma.expand(1, 3, -1, -1))

        chroma = self._tensor(init).permute(2, 0, 1)[None].clone().requires_grad_(True)
        with torch.no_grad():
            layer_masks = pooled_masks(
                region_masks, self._features_of(compose_rgb(luma, chroma, reference.matrix).clamp(0, 1))
            )
        optimizer = torch.optim.Adam([chroma], lr=opts.learning_rate)
        # The loss history and the best chroma stay on the device: reading the loss back every step
        # would make the GPU wait for the host. The plateau test reads them every few steps.
        losses = torch.zeros(max(opts.iterations, 1), device=self.device)
        best_loss = torch.full((), float("inf"), device=self.device)
        best_chroma = chroma.detach().clone()
        self.last_iterations = 0
        for iteration in range(opts.iterations):
            optimizer.zero_grad(set_to_none=True)
            rgb = compose_rgb(luma, chroma, reference.matrix)
            shown = rgb.clamp(0, 1)  # what a player displays; the gamut term below sees the unclipped rgb
            features = self._features_of(shown)
            loss = opts.style_weight * _style_loss(region_statistics(features, layer_masks), targets, area)
            if content_targets is not None:
                loss = loss + opts.content_weight * sum(
                    F.mse_loss(f, t) for f, t in zip(features, content_targets, strict=True)
                )
            if self.clip is not None and ref_embedding is not None:
                loss = loss + opts.clip_weight * self.clip.loss(shown, ref_embedding)
            if self.clip is not None:
                for (rows_slice, cols_slice), text in prompt_terms:
                    crop = shown[:, :, rows_slice, cols_slice]
                    loss = loss + prompt_weight * self.clip.loss(crop, text[None])
            dx = (chroma[..., :, 1:] - chroma[..., :, :-1]).pow(2) * edge_x
            dy = (chroma[..., 1:, :] - chroma[..., :-1, :]).pow(2) * edge_y
            loss = loss + opts.smooth_weight * 100.0 * (dx.mean() + dy.mean())
            if prev is not None and conf is not None:
                loss = loss + opts.temporal_weight * 100.0 * (conf * (chroma - prev).pow(2)).mean()
            loss = loss + opts.gamut_weight * (F.relu(rgb - 1.0).pow(2).mean() + F.relu(-rgb).pow(2).mean())
            loss.backward()
            with torch.no_grad():  # the loss belongs to the chroma before this step moves it
                value = loss.detach()
                losses[iteration] = value
                better = value < best_loss
                best_loss = torch.where(better, value, best_loss)
                best_chroma = torch.where(better, chroma.detach(), best_chroma)
            optimizer.step()
            self.last_iterations += 1
            if self.last_iterations % opts.patience == 0 and _plateaued(
                losses[: self.last_iterations].tolist(), opts.patience, opts.plateau
            ):
                break
        self.last_loss = float(best_loss)
        return best_chroma[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)

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


def _style_loss(
    stats: list[tuple[torch.Tensor, torch.Tensor]], targets: list[tuple[torch.Tensor, torch.Tensor]], area: torch.Tensor
) -> torch.Tensor:
    """Area-weighted squared distance of per-region means and deviations, averaged over layers and channels."""
    total = area.new_zeros(())
    for (mean, std), (t_mean, t_std) in zip(stats, targets, strict=True):
        per_region = ((mean - t_mean).pow(2) + (std - t_std).pow(2)).mean(dim=1)  # (R,)
        total = total + (per_region * area).sum()
    return total / len(stats)
