"""Near-duplicate groups, so that near-copies of one photo never sit on both sides of a fold.

Sign MNIST's training set was made by augmenting about 1,700 photos; random folds put near-copies
on both sides and the CV reports ~100% for models that score 73-82% on the test set. Grouping:
a k-nearest-neighbour graph on embedded images (``similarity.embed``), edges where the cosine
similarity reaches a threshold, groups = connected components. The threshold is chosen from
the data: the one whose group folds give held-out rows the same similarity to their training part
(smallest Kolmogorov-Smirnov distance) as test rows have to the training set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import ks_2samp

from kaggletk._io import load_npz, save_npz
from kaggletk.folds.schemes import assign_folds
from kaggletk.folds.similarity import embed, nearest

THRESHOLDS = (0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999)
NEIGHBOURS = 50


def components(sims: np.ndarray, idx: np.ndarray, threshold: float) -> np.ndarray:
    """Group ids (n,) int64: connected components of the graph of neighbours at least ``threshold`` similar."""
    n, k = sims.shape
    keep = (sims >= threshold).ravel()
    rows = np.repeat(np.arange(n), k)[keep]
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, idx.ravel()[keep])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def near_duplicate_groups(images: np.ndarray, threshold: float, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """Cluster images into groups of near-copies.

    Parameters
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, c), uint8
    threshold : float
        Cosine similarity (of centred 14x14 images) at which two images count as copies of one photo.
    neighbours : int
        Neighbours per image in the graph; chains of neighbours join larger groups.

    Returns
    -------
    ndarray of shape (n,), int64: the group of each image.
    """
    emb = embed(images)
    sims, idx = nearest(emb, emb, k=neighbours, exclude_self=True)
    return components(sims, idx, threshold)


def _held_out_similarity(emb, sims, idx, assignment) -> np.ndarray:
    """Nearest similarity of each row to the other folds, from the neighbour lists (exact where they run out)."""
    other = assignment[idx] != assignment[:, None]
    best = np.where(other, sims, -np.inf).max(axis=1)
    unknown = np.flatnonzero(~other.any(axis=1))
    for fold in np.unique(assignment[unknown]):
        rows = unknown[assignment[unknown] == fold]
        base = np.flatnonzero(assignment != fold)
        best[rows] = nearest(emb[rows], emb[base], k=1)[0][:, 0]
    return best.astype(np.float32)


@dataclass
class Grouping:
    """The chosen grouping and the scan that chose it."""

    groups: np.ndarray
    threshold: float
    test_median: float
    scan: list[dict] = field(default_factory=list)


def choose_grouping(train_images: np.ndarray, test_images: np.ndarray, y: np.ndarray, n_splits: int, seed: int,
                    thresholds: tuple[float, ...] = THRESHOLDS) -> Grouping:
    """Pick the threshold whose group folds make held-out rows as novel as the test rows."""
    emb = embed(train_images)
    sims, idx = nearest(emb, emb, k=NEIGHBOURS, exclude_self=True)
    test_sims = nearest(embed(test_images), emb, k=1)[0][:, 0]
    scan, best = [], None
    for threshold in thresholds:
        groups = components(sims, idx, threshold)
        n_groups = int(groups.max()) + 1
        if n_groups < n_splits:
            continue
        assignment = assign_folds(y, "group", n_splits, seed, groups)
        held = _held_out_similarity(emb, sims, idx, assignment)
        row = {"threshold": threshold, "groups": n_groups, "largest_group": int(np.bincount(groups).max()),
               "held_out_median": float(np.median(held)), "ks": float(ks_2samp(held, test_sims).statistic)}
        scan.append(row)
        if best is None or row["ks"] < best[0]["ks"]:
            best = (row, groups)
    assert best is not None
    return Grouping(best[1], best[0]["threshold"], float(np.median(test_sims)), scan)


def dataset_groups(dataset, ws=None, callbacks=()) -> np.ndarray:
    """Near-duplicate groups of a dataset's training images, computed once and saved beside its folds."""
    import json

    from kaggletk.workspace import workspace

    comp = dataset.competition
    path = (ws or workspace()).comp_oof_dir(comp.name) / "folds" / f"groups-{dataset.fingerprint}.npz"
    if path.exists():
        stored = load_npz(path)
        if len(stored["groups"]) == dataset.n_train:
            return stored["groups"].astype(np.int64)
    from kaggletk.callbacks import CallbackList

    CallbackList(callbacks).on_note(f"finding near-copies among {dataset.n_train} training images for the group folds "
                                    f"(once for this data set; saved to {path.name})")
    grouping = choose_grouping(dataset.train_images, dataset.test_images, dataset.y, comp.n_folds, comp.fold_seed)
    meta = {"threshold": grouping.threshold, "test_median": grouping.test_median, "scan": grouping.scan}
    save_npz(path, groups=grouping.groups.astype(np.int32), meta=np.array(json.dumps(meta)))
    return grouping.groups
