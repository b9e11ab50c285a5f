"""A smooth, edge-aware chroma parameterisation: per-region bilateral grids sliced by luma.

The solver optimizes a few thousand grid cells instead of free pixels: a grid spans (luma, y, x) at
a coarse step, so a change spreads smoothly over a region but stops at a luma edge (the cells on
either side of it hold different luma bins), and one grid per region, recombined through the
feathered soft masks, lets neighbouring regions change colour independently (Chen et al. 2007's
bilateral grid; Gharbi et al. 2017 slice one the same way).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Grid step in pixels of the solve size, and luma bins: coarse enough that a keyframe has few
# unknowns, fine enough to follow a region's shading.
CELL = 16
LUMA_BINS = 8


def grid_shape(regions: int, height: int, width: int) -> tuple[int, int, int, int, int]:
    """``(R, 2, LUMA_BINS, gh, gw)``: one two-channel (Cb, Cr) grid per region for a ``height x width`` solve."""
    if regions < 1 or height < 1 or width < 1:
        raise ValueError(f"grid_shape needs at least one region and pixel; got {regions}, {height}x{width}")
    return regions, 2, LUMA_BINS, math.ceil(height / CELL) + 1, math.ceil(width / CELL) + 1


def slicing_coordinates(luma: torch.Tensor, regions: int) -> torch.Tensor:
    """Where each pixel reads the grids: ``(R, 1, H, W, 3)`` (x, y, luma) in [-1, 1], for ``F.grid_sample``.

    Args:
        luma: unit luma ``(1, 1, H, W)``.
        regions: R, the number of grids sliced at once.
    """
    if luma.ndim != 4 or luma.shape[:2] != (1, 1):
        raise ValueError(f"luma must be (1, 1, H, W), got {tuple(luma.shape)}")
    h, w = luma.shape[-2:]
    ys = torch.linspace(-1.0, 1.0, h, device=luma.device)
    xs = torch.linspace(-1.0, 1.0, w, device=luma.device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    z = luma[0, 0].clamp(0.0, 1.0) * 2.0 - 1.0
    return torch.stack([gx, gy, z], dim=-1)[None, None].expand(regions, 1, h, w, 3)


def slice_grids(grids: torch.Tensor, coordinates: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The chroma offset the grids give each pixel, recombined through the region masks.

    Args:
        grids: ``(R, 2, D, gh, gw)``.
        coordinates: ``(R, 1, H, W, 3)`` from :func:`slicing_coordinates`.
        masks: soft region masks ``(R, H, W)`` (summing to about 1 per pixel).

    Returns:
        ``(1, 2, H, W)``.
    """
    if grids.ndim != 5 or grids.shape[1] != 2 or grids.shape[0] != masks.shape[0]:
        raise ValueError(f"grids must be (R, 2, D, gh, gw) with R = {masks.shape[0]}; got {tuple(grids.shape)}")
    sliced = F.grid_sample(grids, coordinates, mode="bilinear", align_corners=True)[:, :, 0]  # (R, 2, H, W)
    return (sliced * masks[:, None]).sum(dim=0, keepdim=True)
