"""A fold assignment: the splitter every run of a competition shares, on disk."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


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

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for fold in range(self.n_splits):
            yield self.split(fold)

    def __len__(self) -> int:
        return self.n_splits
