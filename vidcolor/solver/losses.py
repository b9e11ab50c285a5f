"""The optimization solver's feature losses: where chroma can move them, region by region.

Every loss compares *colour features*: a network's features of the coloured picture minus its
features of the same picture in grey (``f(rgb) - f(luma)``). Channels that only see luma cancel
out, so a loss cannot be lowered by draining colour, and a reference's texture does not ask the
keyframe for texture it cannot get from chroma.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Statistics = list[tuple[torch.Tensor, torch.Tensor]]


def layer_masks(masks: torch.Tensor, features: list[torch.Tensor]) -> list[torch.Tensor]:
    """Soft masks ``(R, H, W)`` averaged down to each feature map's size and flattened: ``[(R, N_l)]``.

    From the second layer on, each mask is eroded by one cell (where that leaves it any weight), so
    a deep feature, whose receptive field straddles a region border, is not counted in either region.
    """
    out = []
    for depth, f in enumerate(features):
        pooled = F.adaptive_avg_pool2d(masks[None], (f.shape[-2], f.shape[-1]))[0]
        if depth:
            eroded = -F.max_pool2d(-pooled[None], 3, stride=1, padding=1)[0]
            keep = eroded.flatten(1).sum(dim=1) > 0.25 * pooled.flatten(1).sum(dim=1)
            pooled = torch.where(keep[:, None, None], eroded, pooled)
        out.append(pooled.flatten(1))
    return out


def region_statistics(features: list[torch.Tensor], masks: list[torch.Tensor]) -> Statistics:
    """Masked mean and standard deviation of every feature map, for all regions at once.

    Args:
        features: ``[(1, C_l, H_l, W_l)]``.
        masks: ``[(R, N_l)]`` from :func:`layer_masks` (pooled once per solve: they are constant).

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


def layer_scales(stats: Statistics) -> list[float]:
    """Per layer, the mean squared size of the whole reference's colour features (its last statistics
    row), so every layer weighs about the same in the style loss whatever its units."""
    return [float((mean[-1].pow(2) + std[-1].pow(2)).mean()) + 1e-4 for mean, std in stats]


def style_loss(stats: Statistics, targets: Statistics, area: torch.Tensor, scales: list[float]) -> torch.Tensor:
    """Area-weighted squared distance of per-region means and deviations, per layer normalised, averaged.

    Args:
        stats, targets: per layer ``(mean (R, C), std (R, C))``, targets already paired to the regions.
        area: ``(R,)`` each region's share of the frame.
        scales: per layer, from :func:`layer_scales`.
    """
    total = area.new_zeros(())
    for (mean, std), (t_mean, t_std), scale in zip(stats, targets, scales, strict=True):
        per_region = ((mean - t_mean).pow(2) + (std - t_std).pow(2)).mean(dim=1)  # (R,)
        total = total + (per_region * area).sum() / scale
    return total / len(stats)


def nearest_reference(
    keyframe: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor, allowed: torch.Tensor
) -> torch.Tensor:
    """For every keyframe position, the reference position whose grey features are most alike.

    Args:
        keyframe: grey features ``(C, N)``.
        reference: grey features ``(C, M)``.
        labels: ``(N,)`` each keyframe position's region.
        allowed: ``(R, M)`` bool, the reference positions each keyframe region may match (its counterpart).

    Returns:
        ``(N,)`` indices into the reference's M positions (cosine similarity after standardising
        each channel by the reference's statistics).
    """
    if keyframe.shape[0] != reference.shape[0] or labels.shape[0] != keyframe.shape[1]:
        raise ValueError(
            f"features must share channels and labels cover the keyframe; got {tuple(keyframe.shape)}, "
            f"{tuple(reference.shape)}, labels {tuple(labels.shape)}"
        )
    mean = reference.mean(dim=1, keepdim=True)
    std = reference.std(dim=1, keepdim=True).clamp_min(1e-4)
    k = F.normalize((keyframe - mean) / std, dim=0)
    r = F.normalize((reference - mean) / std, dim=0)
    similarity = k.T @ r  # (N, M)
    similarity = similarity.masked_fill(~allowed[labels], -2.0)
    return similarity.argmax(dim=1)


def correspondence_loss(colour: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, scale: float) -> torch.Tensor:
    """Squared distance of each position's colour features to its matched reference position's.

    Args:
        colour: the result's colour features ``(C, N)``.
        target: the matched reference colour features ``(C, N)``.
        weight: ``(N,)`` how much each position counts (its trust left to the solver).
        scale: the layer's scale from :func:`layer_scales`.
    """
    per_position = (colour - target).pow(2).mean(dim=0)
    return (per_position * weight).sum() / weight.sum().clamp_min(1e-6) / scale
