"""A fold assignment: the splitter every run of a competition shares, on disk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kaggletk.errors import KaggletkError


def fold_hash(assignment: np.ndarray) -> str:
    """12 hex digits identifying a fold assignment (row count, fold count and every row's fold)."""
    assignment = np.asarray(assignment, dtype=np.int8)
    digest = hashlib.sha256(f"{len(assignment)}:{int(assignment.max()) + 1}:".encode())
    digest.update(assignment.tobytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Folds:
    """K folds over the training rows.

    Attributes
    ----------
    assignment : ndarray of shape (n_train,), int8
        The fold of each training row, 0..n_splits-1.
    scheme : str
        ``stratified``, ``random`` or ``group``.
    n_splits, seed : int
    fingerprint : str
        The training data these folds belong to.
    path : Path or None
        Where the folds are saved.
    """

    assignment: np.ndarray
    scheme: str
    n_splits: int
    seed: int
    fingerprint: str
    path: Path | None = None
    groups: np.ndarray | None = field(default=None, repr=False)

    @property
    def hash(self) -> str:
        return fold_hash(self.assignment)

    def split(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (int64) of the training part and the held-out part of ``fold``."""
        held_out = self.assignment == fold
        return np.flatnonzero(~held_out), np.flatnonzero(held_out)

    def inner_split(self, fold: int, y: np.ndarray, share: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        """Split the training part of ``fold`` again, the same way the folds were made, for early stopping.

        A model that picks its epoch or round count on the held-out fold has seen that fold, and its
        OOF score is optimistic (2.2 points for the dense net on Sign MNIST's group folds). Stopping on
        rows of the training part keeps the held-out fold unseen. Under the ``group`` scheme no group
        of near-copies is split between the two parts.

        Parameters
        ----------
        y : ndarray of shape (n_train,), int class indices (for stratification).
        share : float, the part of the training rows kept for stopping (about; groups are whole).

        Returns
        -------
        (fit_idx, stop_idx): int64 row indices, disjoint, together the training part of ``fold``.
        """
        from kaggletk.folds.schemes import assign_folds

        train_idx, _ = self.split(fold)
        sub_y = np.asarray(y)[train_idx]
        n_parts = max(2, int(round(1.0 / share)))
        scheme, groups = self.scheme, None
        if scheme == "group" and self.groups is not None:
            groups = np.asarray(self.groups)[train_idx]
            n_parts = min(n_parts, len(np.unique(groups)))
        elif scheme == "group":  # dealing without the groups would put near-copies on both sides
            raise KaggletkError(f"{self.path or 'group folds'}: saved without their groups; delete the file to recompute them")
        if scheme == "stratified" and (len(sub_y) == 0 or int(np.bincount(sub_y).min()) < n_parts):
            scheme = "random"  # a class too rare (or absent) to stratify over n_parts
        n_parts = min(n_parts, len(sub_y))
        if n_parts < 2:
            raise KaggletkError(f"fold {fold}: too few training rows or groups to set some aside for early stopping; "
                                "train without it (patience: null for the Keras nets, early_stopping_rounds: null for "
                                "xgb and lgbm) or use fewer folds")
        parts = assign_folds(sub_y, scheme, n_parts, self.seed + 1 + fold, groups)
        stop = parts == 0
        return train_idx[~stop], train_idx[stop]
