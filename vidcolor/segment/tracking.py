"""Carry region masks between keyframes along optical flow, and keep faces' identities.

Masks are detected on a shot's first keyframe and carried to later keyframes by the same
accumulated flow that carries colour; detection runs again when the flow loses track of the
regions (low confidence) or at a cut. After a re-detection, faces are renamed to match the
tracked ones (by overlap), so ``skin#1`` stays the same person and keeps its reference colours.
"""

from __future__ import annotations

import numpy as np

from vidcolor.sampling import warp
from vidcolor.segment.regions import base_name
from vidcolor.shared_types import RegionMasks


def track(masks: RegionMasks, flow: np.ndarray) -> RegionMasks:
    """Masks moved to a later frame; ``flow`` ``(h, w, 2)`` maps that frame's pixels back to the masks' frame."""
    h, w = flow.shape[:2]
    masks = masks.resized(h, w)
    planes = []
    for start in range(0, len(masks.names), 4):  # cv2.remap moves at most 4 channels at once
        chunk = np.ascontiguousarray(np.moveaxis(masks.weights[start : start + 4], 0, -1))
        moved = warp(chunk, flow)
        planes.append(moved.reshape(h, w, -1))
    weights = np.moveaxis(np.concatenate(planes, axis=-1), -1, 0)
    weights /= np.maximum(weights.sum(axis=0, keepdims=True), 1e-6)
    return RegionMasks(masks.names, weights.astype(np.float32))


def tracking_confidence(masks: RegionMasks, confidence: np.ndarray) -> float:
    """Mean flow confidence over the regions that matter (everything but the background)."""
    masks = masks.resized(*confidence.shape)
    weight = np.ones(confidence.shape, np.float32)
    if "background" in masks.names:
        weight = 1.0 - masks.weights[masks.names.index("background")]
    total = float(weight.sum())
    return float((confidence * weight).sum() / total) if total > 1e-3 else float(confidence.mean())


def keep_identities(detected: RegionMasks, tracked: RegionMasks) -> RegionMasks:
    """Rename the detected faces' regions after the tracked face each overlaps most.

    Faces are known by their ``skin`` region (``skin``, ``skin#1``, ...). Matching is greedy by
    overlap; a detected face that overlaps none keeps a fresh index after the tracked ones.
    """
    detected_faces = _faces(detected)
    tracked_faces = _faces(tracked.resized(*detected.shape))
    if not detected_faces or not tracked_faces:
        return detected
    pairs = sorted(
        ((_iou(d_mask, t_mask), d, t) for d, d_mask in detected_faces.items() for t, t_mask in tracked_faces.items()),
        reverse=True,
    )
    rename: dict[str, str] = {}
    used: set[str] = set()
    for overlap, d, t in pairs:
        if overlap <= 0.05 or d in rename or t in used:
            continue
        rename[d] = t
        used.add(t)
    fresh = len(tracked_faces)
    for d in sorted(detected_faces):
        if d not in rename:
            rename[d] = f"#{fresh}"
            fresh += 1
    names = tuple(_with_suffix(name, rename.get(_suffix(name), _suffix(name))) for name in detected.names)
    return RegionMasks(names, detected.weights)


def _faces(masks: RegionMasks) -> dict[str, np.ndarray]:
    """Face suffix ('' or '#k') → its skin mask."""
    return {_suffix(n): masks.weights[i] > 0.5 for i, n in enumerate(masks.names) if base_name(n) == "skin"}


def _suffix(name: str) -> str:
    return name[len(base_name(name)) :]


def _with_suffix(name: str, suffix: str) -> str:
    return base_name(name) + (suffix if suffix != "#0" else "")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0
