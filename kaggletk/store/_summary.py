"""How a run or blend scored: one code path for both, from the assembled predictions.

``summarise`` fills a manifest's ``cv`` (every metric per fold, their mean and std, and on the whole
out-of-fold matrix) and ``test`` (held-out test labels, when the data has them: of the submission's
probabilities and of each fold model alone, which is what the CV estimates).
"""

from __future__ import annotations

import numpy as np

from kaggletk.metrics import score
from kaggletk.store._manifest import CvSummary, RunManifest, TestScore


def summarise(manifest: RunManifest, dataset, folds, oof: np.ndarray, test: np.ndarray,
              fold_tests: list[np.ndarray] | None = None, fit_seconds: float | None = None) -> None:
    """Score ``oof`` (n_train, C) on ``folds`` and ``test`` (n_test, C) into ``manifest.cv`` and ``manifest.test``."""
    mean, std = fold_scores(dataset.y, oof, folds)
    entries = manifest.folds.values()
    manifest.cv = CvSummary(
        mean=mean,
        std=std,
        oof=score(dataset.y, oof),
        fit_seconds=float(fit_seconds if fit_seconds is not None else sum(e.fit_seconds for e in entries)),
        predict_seconds=float(sum(e.predict_seconds for e in entries)),
    )
    manifest.test = holdout_score(dataset, test, fold_tests)


def fold_scores(y: np.ndarray, oof: np.ndarray, folds) -> tuple[dict[str, float], dict[str, float]]:
    """Every metric on each fold's held-out rows: (mean over folds, std over folds), the CV score of a run or blend."""
    per_fold = [score(y[held], oof[held]) for held in (folds.split(f)[1] for f in range(folds.n_splits))]
    values = {m: np.array([s[m] for s in per_fold]) for m in per_fold[0]}
    return ({m: float(v.mean()) for m, v in values.items()},
            {m: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for m, v in values.items()})


def holdout_indices(dataset) -> np.ndarray | None:
    labels = dataset.holdout_labels()
    return None if labels is None else dataset.competition.to_index(labels)


def holdout_score(dataset, test_proba: np.ndarray, fold_test_probas: list[np.ndarray] | None = None) -> TestScore | None:
    """Every metric against held-out test labels, when the data has them (scoring only, never for choices).

    test_proba : (n_test, n_classes) float, what a submission holds (the fold models' average, or a blend).
    fold_test_probas : optional, one (n_test, n_classes) array per fold model: their scores are the
        like-for-like counterpart of the CV, which also scores single fold models.
    """
    y = holdout_indices(dataset)
    if y is None:
        return None
    result = TestScore(score(y, test_proba))
    if fold_test_probas:
        each = [score(y, proba) for proba in fold_test_probas]
        result.fold_models = {m: [s[m] for s in each] for m in each[0]}
    return result


def fold_models_test_scores(run, dataset) -> TestScore | None:
    """A complete run's test score with each fold model's own (recomputed from fold files when older runs lack it)."""
    recorded = run.manifest.test
    if recorded is not None and recorded.fold_models:
        return recorded
    if holdout_indices(dataset) is None:
        return None
    return holdout_score(dataset, run.test(), [run.fold(f)["test"] for f in range(run.n_folds)])
