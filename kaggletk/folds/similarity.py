"""Nearest-neighbour similarity between images, the measure behind leak-aware folds.

Images are made grayscale (mean over colour channels), downsampled by block means to about 14
pixels a side (2x2 blocks for 28x28), centred and scaled to unit length, so the dot product of two
rows is their cosine similarity (a correlation of pixel intensities): 1.0 for copies and
near-copies, lower for different photos. Neighbours come from a blocked matrix product, which
is exact and fast enough for 60k images on 2 cores.
"""

from __future__ import annotations

import numpy as np

_BLOCK = 1024


def embed(images: np.ndarray, side: int = 14) -> np.ndarray:
    """Images (n, h, w[, c]) uint8 -> (n, d) float32 rows of unit length (centred); (n, 196) for 28x28."""
    n = len(images)
    x = images.astype(np.float32)
    if x.ndim == 4:
        x = x.mean(axis=3)
    h, w = x.shape[1:3]
    fy, fx = max(1, h // side), max(1, w // side)
    x = x[:, : h // fy * fy, : w // fx * fx].reshape(n, h // fy, fy, w // fx, fx).mean(axis=(2, 4)).reshape(n, -1)
    x -= x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-6)


def nearest(query: np.ndarray, base: np.ndarray, k: int = 1, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar rows of ``base`` for each row of ``query`` (both embedded).

    Parameters
    ----------
    exclude_self : bool
        ``query`` is ``base``: a row is not its own neighbour.

    Returns
    -------
    sims : ndarray of shape (n_query, k), float32, descending
    idx : ndarray of shape (n_query, k), int64
    """
    k = min(k, len(base) - (1 if exclude_self else 0))
    sims = np.empty((len(query), k), dtype=np.float32)
    idx = np.empty((len(query), k), dtype=np.int64)
    for start in range(0, len(query), _BLOCK):
        block = query[start:start + _BLOCK] @ base.T
        if exclude_self:
            rows = np.arange(block.shape[0])
            block[rows, start + rows] = -np.inf
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-part_sims, axis=1)
        sims[start:start + _BLOCK] = np.take_along_axis(part_sims, order, axis=1)
        idx[start:start + _BLOCK] = np.take_along_axis(part, order, axis=1)
    return sims, idx


def nearest_in_other_folds(emb: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """For each row, the similarity of its nearest neighbour in the training part of its fold
    (all rows of other folds): what a held-out row has seen during training. (n,) float32."""
    best = np.empty(len(emb), dtype=np.float32)
    for fold in np.unique(assignment):
        held = np.flatnonzero(assignment == fold)
        train = np.flatnonzero(assignment != fold)
        best[held] = nearest(emb[held], emb[train], k=1)[0][:, 0]
    return best
