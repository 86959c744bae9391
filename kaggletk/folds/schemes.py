"""Fold schemes: how rows are dealt into folds. scikit-learn's splitters do the dealing."""

from __future__ import annotations

import numpy as np

from kaggletk.errors import KaggletkError


def assign_folds(y: np.ndarray, scheme: str, n_splits: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Deal rows into ``n_splits`` folds.

    Parameters
    ----------
    y : ndarray of shape (n_train,), int
        Class indices, for stratification.
    scheme : {"stratified", "random", "group"}
        ``group`` keeps every group in one fold (stratified by class as far as groups allow).
    groups : ndarray of shape (n_train,), int, required for ``group``.

    Returns
    -------
    ndarray of shape (n_train,), int8: the fold of each row.
    """
    # scikit-learn's splitters are imported when folds are dealt, not whenever saved folds are read
    from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold

    n = len(y)
    min_count = int(np.bincount(y).min(initial=n)) if n else 0
    if scheme == "stratified" and min_count < n_splits:
        raise KaggletkError(f"a class has only {min_count} training rows, fewer than --folds {n_splits}; use fewer folds")
    if scheme == "stratified":
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(n), y)
    elif scheme == "random":
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(n))
    elif scheme == "group":
        if groups is None:
            raise KaggletkError("the group fold scheme needs groups; compute them with near_duplicate_groups")
        if len(np.unique(groups)) < n_splits:
            raise KaggletkError(f"only {len(np.unique(groups))} groups for {n_splits} folds; use fewer folds")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(n), y, groups)
    else:
        raise KaggletkError(f"unknown fold scheme {scheme!r}; use stratified, random or group")
    assignment = np.full(n, -1, dtype=np.int8)
    for fold, (_, held_out) in enumerate(splitter):
        assignment[held_out] = fold
    return assignment
