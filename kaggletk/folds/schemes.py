"""Fold schemes: how rows are dealt into folds, one small class each. scikit-learn's splitters do the dealing.

``stratified`` keeps each fold's class shares equal; ``random`` deals rows at random; ``group``
keeps every group of near-copies (``kaggletk.folds.groups``) in one fold, stratified by class as
far as whole groups allow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from kaggletk.errors import KaggletkError


class FoldScheme(ABC):
    """Deals rows into folds with a scikit-learn splitter."""

    name: ClassVar[str]
    needs_groups: ClassVar[bool] = False

    @abstractmethod
    def _split(self, y: np.ndarray, n_splits: int, seed: int, groups: np.ndarray | None):
        """The splitter's (train, held-out) index pairs."""

    def check(self, y: np.ndarray, n_splits: int, groups: np.ndarray | None) -> None:
        """Refuse data this scheme cannot deal into ``n_splits`` folds."""

    def assign(self, y: np.ndarray, n_splits: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
        """The fold of each row, ndarray of shape (n,), int8, 0..n_splits-1."""
        if self.needs_groups and groups is None:
            raise KaggletkError(f"the {self.name} fold scheme needs groups; compute them with near_duplicate_groups")
        self.check(y, n_splits, groups)
        assignment = np.full(len(y), -1, dtype=np.int8)
        for fold, (_, held_out) in enumerate(self._split(np.asarray(y), n_splits, seed, groups)):
            assignment[held_out] = fold
        return assignment


class StratifiedScheme(FoldScheme):
    name = "stratified"

    def check(self, y, n_splits, groups):
        min_count = int(np.bincount(y).min(initial=len(y))) if len(y) else 0
        if min_count < n_splits:
            raise KaggletkError(f"a class has only {min_count} training rows, fewer than --folds {n_splits}; use fewer folds")

    def _split(self, y, n_splits, seed, groups):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)


class RandomScheme(FoldScheme):
    name = "random"

    def _split(self, y, n_splits, seed, groups):
        from sklearn.model_selection import KFold

        return KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)))


class GroupScheme(FoldScheme):
    name = "group"
    needs_groups = True

    def check(self, y, n_splits, groups):
        if len(np.unique(groups)) < n_splits:
            raise KaggletkError(f"only {len(np.unique(groups))} groups for {n_splits} folds; use fewer folds")

    def _split(self, y, n_splits, seed, groups):
        from sklearn.model_selection import StratifiedGroupKFold

        return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, groups)


def assign_folds(y: np.ndarray, scheme: str, n_splits: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Deal rows into ``n_splits`` folds with the registered ``scheme``.

    Parameters
    ----------
    y : ndarray of shape (n_train,), int class indices, for stratification.
    scheme : a name in ``kaggletk.folds.FOLD_SCHEMES``.
    groups : ndarray of shape (n_train,), int, required by ``group``.

    Returns
    -------
    ndarray of shape (n_train,), int8: the fold of each row.
    """
    from kaggletk.folds import FOLD_SCHEMES

    return FOLD_SCHEMES.get(scheme)().assign(y, n_splits, seed, groups)
