"""Region vocabulary, pairing between content and reference, and feathered soft masks.

Segmenters name regions from one vocabulary so a keyframe's ``skin`` pairs with the reference's
``skin``. Faces after the first carry their index (``skin#1``); a region the reference lacks falls
back to its base name, then to a related region, then to the whole reference.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidcolor.shared_types import RegionMasks

# Every segmenter's region names (before a face suffix like ``#1``) come from this vocabulary.
REGIONS = ("skin", "lips", "eyes", "eyebrows", "hair", "neck", "clothes", "head", "background", "whole")

# Where to look in the reference when it has no region of the same name (first match wins).
_RELATED = {
    "lips": ("skin",),
    "eyes": ("skin",),
    "eyebrows": ("hair", "skin"),
    "neck": ("skin",),
    "hair": ("head",),
    "skin": ("head",),
    "head": ("skin", "hair"),
    "clothes": ("head",),
}


def base_name(name: str) -> str:
    """``skin#2`` → ``skin``."""
    return name.split("#", 1)[0]


def counterpart(name: str, available: tuple[str, ...]) -> str | None:
    """The reference region that ``name`` takes its colours from, or None for the whole reference."""
    if name in available:
        return name
    base = base_name(name)
    if base in available:
        return base
    for related in _RELATED.get(base, ()):
        if related in available:
            return related
    return None


def feathered(hard: dict[str, np.ndarray], shape: tuple[int, int], radius: float) -> RegionMasks:
    """Soft masks from hard ones: blurred by ``radius`` pixels and normalized to sum to 1.

    Args:
        hard: region name → bool or float ``(H, W)`` mask; later entries win where they overlap.
        shape: ``(H, W)``.
        radius: feather width in pixels (Gaussian sigma); 0 keeps hard edges.

    Pixels no mask covers go to ``background`` (added if missing), so regions leave no holes.
    """
    h, w = shape
    labels = np.full((h, w), -1, np.int32)
    names = list(hard)
    for i, name in enumerate(names):
        labels[np.asarray(hard[name]) > 0.5] = i
    if "background" not in names:
        names.append("background")
    background = names.index("background")
    labels[labels < 0] = background
    planes = []
    keep = []
    for i, name in enumerate(names):
        plane = (labels == i).astype(np.float32)
        if not plane.any():
            continue
        if radius > 0:
            plane = cv2.GaussianBlur(plane, (0, 0), radius)
        planes.append(plane)
        keep.append(name)
    weights = np.stack(planes)
    weights /= np.maximum(weights.sum(axis=0, keepdims=True), 1e-6)
    return RegionMasks(tuple(keep), weights.astype(np.float32))


LEGEND_ROW = 18  # pixels under a debug overlay for the legend
# Colours of the debug overlays (RGB), by base name.
OVERLAY_COLOURS = {
    "skin": (255, 170, 120),
    "lips": (220, 30, 60),
    "eyes": (40, 200, 255),
    "eyebrows": (120, 60, 20),
    "hair": (150, 80, 200),
    "neck": (255, 220, 90),
    "clothes": (60, 180, 75),
    "head": (255, 120, 200),
    "background": (70, 70, 90),
    "whole": (128, 128, 128),
}


def overlay(luma: np.ndarray, masks: RegionMasks) -> np.ndarray:
    """An RGB uint8 picture of the regions over the image, for ``--debug-masks``."""
    masks = masks.resized(*luma.shape)
    grey = np.clip(luma, 0, 1)[..., None] * 255.0
    colour = np.zeros((*luma.shape, 3), np.float32)
    for name, weight in zip(masks.names, masks.weights, strict=True):
        colour += weight[..., None] * np.array(OVERLAY_COLOURS.get(base_name(name), (255, 255, 255)), np.float32)
    return np.clip(0.5 * grey + 0.5 * colour, 0, 255).astype(np.uint8)


def legend(picture: np.ndarray, masks: RegionMasks, size: tuple[int, int]) -> np.ndarray:
    """``picture`` (an :func:`overlay`, RGB uint8) fitted into ``size`` (width, height) on black, with a strip
    below naming each region in its colour: keyframes and references come out the same size, readable alone."""
    width, height = size
    h, w = picture.shape[:2]
    scale = min(width / w, height / h)
    fitted = cv2.resize(picture, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height + LEGEND_ROW, width, 3), np.uint8)
    top, left = (height - fitted.shape[0]) // 2, (width - fitted.shape[1]) // 2
    canvas[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted
    x = 4
    for name in dict.fromkeys(base_name(n) for n in masks.names):
        colour = tuple(int(c) for c in OVERLAY_COLOURS.get(name, (255, 255, 255)))
        cv2.rectangle(canvas, (x, height + 4), (x + 10, height + 14), colour, thickness=-1)
        cv2.putText(canvas, name, (x + 14, height + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (230, 230, 230), 1, cv2.LINE_AA)
        x += 24 + 8 * len(name)
    return canvas
