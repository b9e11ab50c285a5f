"""How far a colour stroke reaches: along what is connected to it by similar luma, fading with distance.

A stroke means "this area": its colour should fill the region it was painted in and stop at the
region's edges, and a single click on a flat wall should colour a patch around it, not the whole
frame. The distance used is geodesic: an 8-neighbour path's length where every step costs its length
plus a toll for the luma difference it crosses (so a strong edge is a wall much longer than the reach).
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

# A step across a luma difference of SIGMA costs EDGE_TOLL extra pixels (quadratic in the difference):
# an edge of 0.1 unit luma costs ~60 pixels, more than a stroke's reach at a work size of 320.
SIGMA = 0.04
EDGE_TOLL = 10.0
# The distance (a share of the frame's larger side) at which a stroke's influence has fallen to exp(-1/2).
REACH = 0.2
# Grain would make every step a small toll: distances are measured on lightly smoothed luma.
SMOOTHING = 1.5


def geodesic_distance(luma: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """``(h, w)`` float32: each pixel's least path cost from any pixel of ``seeds`` (bool ``(h, w)``);
    ``inf`` where no seed is."""
    h, w = luma.shape
    if seeds.shape != (h, w):
        raise ValueError(f"seeds must be {luma.shape}; got {seeds.shape}")
    if not seeds.any():
        return np.full((h, w), np.inf, np.float32)
    smooth = cv2.GaussianBlur(luma.astype(np.float32), (0, 0), SMOOTHING)
    index = np.arange(h * w).reshape(h, w)
    rows, cols, costs = [], [], []
    # 8 neighbours (diagonal steps are sqrt(2) long), so that distances in a flat region are nearly round.
    for (a, b), length in (
        ((np.s_[:, :-1], np.s_[:, 1:]), 1.0),
        ((np.s_[:-1, :], np.s_[1:, :]), 1.0),
        ((np.s_[:-1, :-1], np.s_[1:, 1:]), np.sqrt(2.0)),
        ((np.s_[:-1, 1:], np.s_[1:, :-1]), np.sqrt(2.0)),
    ):
        rows.append(index[a].ravel())
        cols.append(index[b].ravel())
        costs.append((length + EDGE_TOLL * ((smooth[a] - smooth[b]) / SIGMA) ** 2).ravel())
    graph = sp.coo_matrix(
        (np.concatenate(costs).astype(np.float64), (np.concatenate(rows), np.concatenate(cols))), shape=(h * w, h * w)
    ).tocsr()
    distance = dijkstra(graph, directed=False, indices=np.flatnonzero(seeds.ravel()), min_only=True)
    return distance.reshape(h, w).astype(np.float32)


def stroke_reach(luma: np.ndarray, strokes: np.ndarray, reach: float = REACH) -> np.ndarray:
    """``(h, w)`` float32 in [0, 1]: 1 on the strokes, falling as exp(-d^2 / 2 r^2) with the geodesic distance
    ``d`` from them, ``r`` = ``reach`` times the frame's larger side; 0 everywhere without strokes."""
    distance = geodesic_distance(luma, strokes)
    radius = reach * max(luma.shape)
    return np.exp(-0.5 * (distance / radius) ** 2).astype(np.float32)
