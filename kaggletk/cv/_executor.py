"""Where the folds of a run are trained: one after another here (``SerialExecutor``), or as Ray tasks.

An executor trains folds and hands each ``FoldOutcome`` back to the driver, which alone holds the
run's lock and writes its files, so workers need no shared file system and no lock of their own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from kaggletk.callbacks import Callback, CallbackList, FoldInfo
from kaggletk.cv._features import FoldFeatures
from kaggletk.cv._fold import FoldOutcome, fit_fold, fold_rows
from kaggletk.cv._request import RunSetup


class Executor(ABC):
    """Trains folds of one run and reports each outcome as it is ready."""

    @abstractmethod
    def run(self, setup: RunSetup, folds: Sequence[int], on_done: Callable[[FoldOutcome], None],
            callbacks: Sequence[Any] = (), checkpoint_dir: Callable[[int], Any] | None = None) -> None:
        """Train ``folds`` of ``setup``; call ``on_done(outcome)`` in this process for each, in any order."""


class SerialExecutor(Executor):
    """One fold after another in this process (the default)."""

    def run(self, setup, folds, on_done, callbacks=(), checkpoint_dir=None):
        observers = CallbackList(c for c in callbacks if isinstance(c, Callback))
        features = FoldFeatures(setup.new_view(), setup.dataset)
        probe = setup.new_model(0)
        for fold in folds:
            fit_idx, stop_idx, valid_idx = fold_rows(setup, fold, probe)
            observers.on_fold_begin(fold, FoldInfo(len(fit_idx), 0 if stop_idx is None else len(stop_idx), len(valid_idx)))
            on_done(fit_fold(setup, fold, features, callbacks=callbacks,
                             checkpoint_dir=checkpoint_dir(fold) if checkpoint_dir else None))
