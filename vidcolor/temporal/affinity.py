"""Levin-style colour propagation: neighbours with similar luma get similar chroma.

Minimises, over the chroma ``x`` of every pixel that is not fixed,

    sum over neighbour pairs (r, s) of  w_rs (x_r - x_s)^2   +   sum over r of  lambda_r (x_r - d_r)^2

with ``w_rs = exp(-(Y_r - Y_s)^2 / (2 sigma^2))`` on the 4-neighbour grid (Levin, Lischinski and
Weiss 2004, with a global sigma so a luma edge stops colour however textured its sides are), hard
constraints where hints fix the colour, and an optional soft prior ``d`` weighted by ``lambda``
(colour the frame already has from other sources). The normal equations are a sparse symmetric
positive-definite system, solved by conjugate gradients with a Jacobi preconditioner, started from a
two-level guess (the same system solved directly at a quarter of the size), so it converges in tens
of iterations.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import cg, spsolve

# Luma difference (unit luma) at which the affinity between neighbours falls to exp(-1/2).
SIGMA = 0.04
# Floor of an affinity, so every pixel stays connected (the system stays definite).
MIN_WEIGHT = 1e-5
# How hard a hint holds its pixel (against affinities of at most 4).
HINT_PULL = 1e6
# A pull toward neutral chroma, far weaker than any real term: colour for a region no hint reaches.
NEUTRAL_PULL = 1e-6
# The coarse level's scale, and CG's tolerance (residual per pixel) and iteration cap at full size.
COARSE = 4
TOLERANCE = 1e-4
MAX_ITERATIONS = 400


def laplacian(luma: np.ndarray) -> sp.csr_matrix:
    """The affinity graph's Laplacian ``(N, N)`` for unit luma ``(h, w)`` (4 neighbours), N = h * w."""
    if luma.ndim != 2:
        raise ValueError(f"luma must be (h, w), got {luma.shape}")
    h, w = luma.shape
    index = np.arange(h * w).reshape(h, w)
    rows, cols, weights = [], [], []
    for a, b, da, db in ((index[:, :-1], index[:, 1:], luma[:, :-1], luma[:, 1:]),
                         (index[:-1, :], index[1:, :], luma[:-1, :], luma[1:, :])):  # fmt: skip
        weight = np.maximum(np.exp(-((da - db) ** 2) / (2 * SIGMA**2)), MIN_WEIGHT)
        rows.append(a.ravel())
        cols.append(b.ravel())
        weights.append(weight.ravel())
    r, c, wt = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights).astype(np.float64)
    affinity = sp.coo_matrix((wt, (r, c)), shape=(h * w, h * w))
    affinity = (affinity + affinity.T).tocsr()
    degree = np.asarray(affinity.sum(axis=1)).ravel()
    return (sp.diags(degree) - affinity).tocsr()


def propagate(
    luma: np.ndarray,
    colour: np.ndarray,
    fixed: np.ndarray,
    prior: np.ndarray | None = None,
    prior_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Chroma ``(h, w, 2)`` float32 equal to ``colour`` where ``fixed``, spread by luma affinity elsewhere.

    Args:
        luma: unit luma ``(h, w)``.
        colour: chroma ``(h, w, 2)``; read only where ``fixed``.
        fixed: bool ``(h, w)``, the hinted pixels.
        prior: chroma ``(h, w, 2)`` the frame has from other sources, or None.
        prior_weight: how strongly each pixel keeps ``prior`` ``(h, w)`` (0..1).
    """
    h, w = luma.shape
    if colour.shape != (h, w, 2) or fixed.shape != (h, w):
        raise ValueError(
            f"colour must be (h, w, 2) and fixed (h, w) for luma {luma.shape}; got {colour.shape}, {fixed.shape}"
        )
    if prior is None or prior_weight is None:
        prior, prior_weight = np.zeros((h, w, 2), np.float32), np.zeros((h, w), np.float32)
    guess = _coarse_guess(luma, colour, fixed, prior, prior_weight)
    return _solve(luma, colour, fixed, prior, prior_weight, guess)


def _solve(
    luma: np.ndarray,
    colour: np.ndarray,
    fixed: np.ndarray,
    prior: np.ndarray,
    prior_weight: np.ndarray,
    guess: np.ndarray | None,
    direct: bool = False,
) -> np.ndarray:
    h, w = luma.shape
    # A hint is a pull so strong that the solved value equals it to float precision: the system
    # stays one symmetric matrix over every pixel (no reordering into fixed and free parts).
    pull = np.where(fixed, HINT_PULL, prior_weight + NEUTRAL_PULL).ravel().astype(np.float64)
    target = np.where(fixed[..., None], colour, prior).reshape(-1, 2).astype(np.float64)
    a = (laplacian(luma.astype(np.float64)) + sp.diags(pull)).tocsr()
    out = np.empty((h * w, 2))
    jacobi = sp.diags(1.0 / a.diagonal())
    # An absolute tolerance: a relative one would be measured against the hints' huge pulls and
    # stop before the free pixels have moved.
    tolerance = TOLERANCE * np.sqrt(h * w)
    for channel in range(2):
        rhs = pull * target[:, channel]
        if direct or guess is None:
            out[:, channel] = spsolve(a.tocsc(), rhs)
        else:
            start = guess.reshape(-1, 2)[:, channel].astype(np.float64)
            out[:, channel], _ = cg(a, rhs, x0=start, rtol=0.0, atol=tolerance, maxiter=MAX_ITERATIONS, M=jacobi)
    out[fixed.ravel()] = colour.reshape(-1, 2)[fixed.ravel()]
    return out.reshape(h, w, 2).astype(np.float32)


def shrink_constraints(
    colour: np.ndarray, given: np.ndarray, size: tuple[int, int], min_cover: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse colour constraints brought down to ``size`` (width, height) without losing thin strokes.

    A small pixel is constrained where given pixels cover more than ``min_cover`` of it, to their
    mean colour (plain area resizing would dilute a one-pixel stroke toward 0 instead).

    Args:
        colour: chroma ``(h, w, 2)``, read where ``given``; given: bool ``(h, w)``.

    Returns:
        chroma ``(H, W, 2)`` float32 (0 where not constrained) and the constrained pixels ``(H, W)``.
    """
    weight = cv2.resize(given.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    summed = cv2.resize(colour * given[..., None], size, interpolation=cv2.INTER_AREA)
    small_given = weight > min_cover
    small = np.where(small_given[..., None], summed / np.maximum(weight, 1e-6)[..., None], 0.0)
    return small.astype(np.float32), small_given


def _coarse_guess(
    luma: np.ndarray, colour: np.ndarray, fixed: np.ndarray, prior: np.ndarray, prior_weight: np.ndarray
) -> np.ndarray | None:
    """The same problem solved directly at 1/COARSE size and brought back up (None when already small)."""
    h, w = luma.shape
    ch, cw = h // COARSE, w // COARSE
    if ch < 8 or cw < 8:
        return None
    size = (cw, ch)
    small_colour, small_fixed = shrink_constraints(colour, fixed, size, min_cover=0.0)  # any hint in a cell holds it
    small = _solve(
        cv2.resize(luma, size, interpolation=cv2.INTER_AREA),
        small_colour,
        small_fixed,
        cv2.resize(prior, size, interpolation=cv2.INTER_AREA),
        cv2.resize(prior_weight, size, interpolation=cv2.INTER_AREA),
        None,
        direct=True,
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
