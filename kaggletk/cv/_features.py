"""The features of one fold: computed once for stateless views, fitted on the fold's rows otherwise."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from kaggletk.callbacks import Callback
from kaggletk.data import Dataset
from kaggletk.views import View, stateless_features


class FoldFeatures:
    """Fold features of one view over one data set.

    A stateless view (pixels, HOG) is computed once for every row and cached on disk; a learned
    view (PCA) is fitted afresh for each fold on the rows it is given to learn from, and its
    costly stateless parts (``View.stateless_parts``) are read from the disk cache.
    """

    def __init__(self, view: View, dataset: Dataset, callbacks: Sequence[Callback] = ()):
        self.view, self.dataset, self.callbacks = view, dataset, list(callbacks)
        self._all: tuple[np.ndarray, np.ndarray] | None = None
        self._parts: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
        self.fitted_view: View = view  # the view as fitted for the last fold (its state is saved beside the fold's model)

    def for_fold(self, fit_idx: np.ndarray, *other_idx: np.ndarray) -> tuple[np.ndarray, ...]:
        """Features of the fit rows, of each other row set, then of the test set; a fitted view learns from the fit rows only."""
        d = self.dataset
        if self.view.stateless:
            if self._all is None:
                self._all = stateless_features(self.view, d, self.callbacks)
            train, test = self._all
            self.fitted_view = self.view
            return (train[fit_idx], *(train[idx] for idx in other_idx), test)
        if self._parts is None:
            self._parts = {key: stateless_features(part, d, self.callbacks) for key, part in self.view.stateless_parts().items()}

        def rows(idx):
            return d.train_images[idx], {key: train[idx] for key, (train, _) in self._parts.items()}

        fit_rows = rows(fit_idx)
        fitted = copy.deepcopy(self.view).fit(*fit_rows)  # the view as configured, parts and all, fitted afresh per fold
        self.fitted_view = fitted
        test_parts = {key: test for key, (_, test) in self._parts.items()}
        return (fitted.transform(*fit_rows), *(fitted.transform(*rows(idx)) for idx in other_idx),
                fitted.transform(d.test_images, test_parts))
