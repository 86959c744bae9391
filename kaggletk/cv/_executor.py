"""Where folds are trained: one after another here (``SerialExecutor``), or as Ray tasks (``kaggletk.cv.RayExecutor``).

The unit of work is "train fold i of run r". An executor is handed every open run of a grid with
the folds it is missing, trains them, and hands each ``FoldOutcome`` back to its run's ``on_done``
in the driver, which alone holds the runs' locks and writes their files, so workers need no
shared file system and no lock of their own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kaggletk.callbacks import Callback, CallbackList, FoldInfo
from kaggletk.cv._features import FoldFeatures
from kaggletk.cv._fold import FoldOutcome, fit_fold, fold_rows
from kaggletk.cv._request import RunSetup
from kaggletk.models import Model


@dataclass
class RunJob:
    """The folds one open run still needs, and where their outcomes go.

    Parameters
    ----------
    setup : RunSetup
    folds : list of int
        Folds to train.
    on_done : callable
        ``on_done(outcome)``, called in the driver for each trained fold (it writes the fold and
        calls the observers' ``on_fold_end``).
    callbacks : sequence
        kaggletk ``Callback`` objects and native callbacks of the model's library, as ``run_cv`` takes them.
    """

    setup: RunSetup
    folds: list[int]
    on_done: Callable[[FoldOutcome], None]
    callbacks: Sequence[Any] = ()
    checkpoint_dir: Callable[[int], Any] | None = None  # where fold i keeps its per-epoch state (this machine only)

    @property
    def observers(self) -> CallbackList:
        return CallbackList(c for c in self.callbacks if isinstance(c, Callback))


def fold_info(setup: RunSetup, fold: int, probe: Model) -> FoldInfo:
    """The rows ``fold`` trains on, stops on and scores, for ``on_fold_begin`` (``probe``: a model of the run)."""
    fit_idx, stop_idx, valid_idx = fold_rows(setup, fold, probe)
    return FoldInfo(len(fit_idx), 0 if stop_idx is None else len(stop_idx), len(valid_idx))


class Executor(ABC):
    """Trains the folds of open runs and reports each outcome, in this process, as it is ready."""

    @abstractmethod
    def run(self, jobs: Sequence[RunJob]) -> None:
        """Train every job's folds; call the job's ``on_done(outcome)`` for each, in any order."""


class SerialExecutor(Executor):
    """One fold after another in this process (the default)."""

    def run(self, jobs):
        for job in jobs:
            observers = job.observers
            features = FoldFeatures(job.setup.new_view(), job.setup.dataset, observers.callbacks)
            probe = job.setup.new_model(0)
            for fold in job.folds:
                observers.on_fold_begin(fold, fold_info(job.setup, fold, probe))
                job.on_done(fit_fold(job.setup, fold, features, callbacks=job.callbacks,
                                     checkpoint_dir=job.checkpoint_dir(fold) if job.checkpoint_dir else None,
                                     save_model=job.setup.request.save_models))
