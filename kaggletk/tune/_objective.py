"""The tuning objective: the CV error, in the competition's metric, of an adapter's suggested parameters.

The study minimises the mean held-out error over the first K saved folds (1 - score for metrics
where greater is better, the loss itself for log loss), so it shares a direction with the
validation losses reported inside a fold. Inside fold 0 ``PruningCallback`` reports the stopping
rows' loss per epoch or round (steps 0..n: rows of the training part, so the held-out fold that
scores the trial stays unseen); after each fold the running CV error is reported at step
``FOLD_STEP + i``, so a pruner can stop a bad trial after one fold, or earlier inside it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from kaggletk.cv import FoldFeatures, RunSetup, fit_fold, resolve_model_params
from kaggletk.metrics import get_metric
from kaggletk.tune._pruning import PruningCallback

# Fold-level reports live far above any epoch or boosting round so the two never share a step.
FOLD_STEP = 1_000_000


class CvObjective:
    """Callable for ``study.optimize``: suggests params, trains the first K folds, returns the CV error."""

    def __init__(self, setup: RunSetup, fold_ids: list[int], seed: int = 0, base_params: dict[str, Any] | None = None):
        self.setup = setup
        self.fold_ids = fold_ids
        self.seed = seed
        self.base_params = base_params or {}
        self.metric = get_metric(setup.dataset.competition.metric)
        self.features = FoldFeatures(setup.new_view(), setup.dataset)

    def params_for(self, trial) -> dict[str, Any]:
        """Model parameters for a trial (or an ``optuna.trial.FixedTrial`` of its params)."""
        suggested = {**self.base_params, **self.setup.model_cls.search_space(trial)}
        return resolve_model_params(self.setup.dataset.competition, self.setup.model_cls, suggested)

    def evaluate(self, params: dict[str, Any], seed: int, trial=None) -> dict[str, Any]:
        """Train and score ``params`` on the folds; with a trial, report and prune as it goes.

        Returns the mean of every metric over the folds, ``score`` (the competition's metric),
        ``fold_scores`` (it, per fold) and ``fit_seconds``.
        """
        import optuna

        per_fold, seconds = [], 0.0
        for i, fold in enumerate(self.fold_ids):
            callbacks = [PruningCallback(trial)] if trial is not None and i == 0 else []
            outcome = fit_fold(self.setup, fold, self.features, params=params, seed=seed, callbacks=callbacks,
                               predict_test=False, check_chance=False)
            per_fold.append(outcome.scores)
            seconds += outcome.fit_seconds
            if trial is not None:
                running = float(np.mean([s[self.metric.name] for s in per_fold]))
                trial.set_user_attr(f"fold{fold}_{self.metric.name}", outcome.scores[self.metric.name])
                trial.report(self.metric.error(running), step=FOLD_STEP + i)
                if trial.should_prune():
                    trial.set_user_attr("fit_seconds", seconds)
                    raise optuna.TrialPruned(f"pruned after fold {fold}: CV {self.metric.label} {running:.4f}")
        means = {m: float(np.mean([s[m] for s in per_fold])) for m in per_fold[0]}
        return {**means, "score": means[self.metric.name], "fold_scores": [s[self.metric.name] for s in per_fold],
                "fit_seconds": seconds}

    def __call__(self, trial) -> float:
        start = time.perf_counter()
        result = self.evaluate(self.params_for(trial), self.seed, trial)
        for key in ("accuracy", "macro_f1", "score"):
            trial.set_user_attr(key, result[key])
        trial.set_user_attr("metric", self.metric.name)
        trial.set_user_attr("fit_seconds", result["fit_seconds"])
        trial.set_user_attr("wall_seconds", time.perf_counter() - start)
        return self.metric.error(result["score"])
