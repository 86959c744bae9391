"""What every blending method shares: the runs it combines, checked to be combinable.

A method maps the runs' OOF probabilities (R, n_train, C) and test probabilities (R, n_test, C)
to one OOF and one test matrix. Methods that learn (weights, a level-2 model) are fitted inside
the saved folds, so the OOF score every method reports is an honest out-of-fold score.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from kaggletk.errors import KaggletkError
from kaggletk.folds import Folds
from kaggletk.metrics import Metric
from kaggletk.store import Run


@dataclass
class BlendInput:
    """The runs to blend, stacked.

    Attributes
    ----------
    runs : list of Run
    oof : ndarray of shape (n_runs, n_train, n_classes), float32
    test : ndarray of shape (n_runs, n_test, n_classes), float32
    y : ndarray of shape (n_train,), int64 class indices
    folds : Folds, the runs' shared folds
    metric : Metric, the competition's: what learned methods optimise
    """

    runs: list[Run]
    oof: np.ndarray
    test: np.ndarray
    y: np.ndarray
    folds: Folds
    metric: Metric

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]


@dataclass
class BlendOutput:
    oof: np.ndarray  # (n_train, C) float32, out-of-fold: row i never influenced the fit that scored it
    test: np.ndarray  # (n_test, C) float32
    details: dict[str, Any] = field(default_factory=dict)  # weights, coefficients... for the manifest and report
    files: dict[str, bytes] = field(default_factory=dict)  # fitted level-2 models (file name -> bytes), to predict new images


class BlendMethod(ABC):
    name: ClassVar[str]

    @abstractmethod
    def blend(self, data: BlendInput) -> BlendOutput:
        """Combine the runs; OOF rows must be predicted by a combiner not fitted on them."""


def check_combinable(runs: list[Run]) -> None:
    """Refuse runs that are partial, on different folds, or on different data."""
    if not runs:
        raise KaggletkError("no runs to blend; run `kaggletk cv` first or name runs with --runs")
    for run in runs:
        if not run.complete:
            missing = ", ".join(f"fold-{f}" for f in run.missing_folds()) or "final assembly"
            raise KaggletkError(f"run {run.name} is partial (missing {missing}); finish it with `kaggletk cv` or leave it out")
    hashes = {run.fold_hash for run in runs}
    if len(hashes) > 1:
        listing = ", ".join(f"{r.name}={r.fold_hash}" for r in runs)
        raise KaggletkError(f"runs were made on different folds ({listing}); blend only runs that share one fold hash")
    fingerprints = {run.manifest.data_fingerprint for run in runs}
    if len(fingerprints) > 1:
        listing = ", ".join(f"{r.name}={r.manifest.data_fingerprint}" for r in runs)
        raise KaggletkError(f"runs were made on different data ({listing}); blend runs of one data set")
