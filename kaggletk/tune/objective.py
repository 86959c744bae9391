"""The tuning objective: CV error of an adapter's suggested parameters over the saved folds.

The study minimises the mean held-out error (1 - accuracy) over the first K folds, so it shares
a direction with the validation losses that Optuna's integration callbacks report inside a fold.
Inside fold 0 the adapter's pruning callback (Keras, XGBoost, LightGBM) reports the validation
loss per epoch or round (steps 0..n) on the rows early stopping watches (a tenth of the training
part), so the held-out fold that scores the trial stays unseen; after each fold the running CV error is reported at step
``FOLD_STEP + i``, so a pruner can stop a bad trial after one fold, or earlier inside it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from kaggletk.cv import FoldFeatures, RunSetup, fit_fold, resolve_model_params
from kaggletk.views import get_view

# Fold-level reports live far above any epoch or boosting round so the two never share a step.
FOLD_STEP = 1_000_000


class CvObjective:
    """Callable for ``study.optimize``: suggests params, trains the first K folds, returns the CV error."""

    def __init__(self, setup: RunSetup, fold_ids: list[int], seed: int = 0, base_params: dict[str, Any] | None = None):
        self.setup = setup
        self.fold_ids = fold_ids
        self.seed = seed
        self.base_params = base_params or {}
        self.features = FoldFeatures(get_view(setup.view), setup.dataset)

    def params_for(self, trial) -> dict[str, Any]:
        """Model parameters for a trial (or an ``optuna.trial.FixedTrial`` of its params)."""
        suggested = {**self.base_params, **self.setup.model_cls.search_space(trial)}
        return resolve_model_params(self.setup.dataset.competition, self.setup.model_cls, suggested)

    def evaluate(self, params: dict[str, Any], seed: int, trial=None) -> dict[str, Any]:
        """Train and score ``params`` on the folds; with a trial, report and prune as it goes."""
        import optuna

        setup = self.setup
        accuracies, f1s, seconds = [], [], 0.0
        for i, fold in enumerate(self.fold_ids):
            callbacks = []
            if trial is not None and i == 0:
                pruning = setup.model_cls.pruning_callback(trial)
                callbacks = [pruning] if pruning is not None else []
            outcome = fit_fold(fold, setup.folds, setup.dataset, self.features, setup.model_cls, params, device=setup.device,
                               seed=seed, callbacks=callbacks, predict_test=False, check_chance=False)
            accuracies.append(outcome.scores["accuracy"])
            f1s.append(outcome.scores["macro_f1"])
            seconds += outcome.fit_seconds
            if trial is not None:
                trial.set_user_attr(f"fold{fold}_accuracy", outcome.scores["accuracy"])
                trial.report(1.0 - float(np.mean(accuracies)), step=FOLD_STEP + i)
                if trial.should_prune():
                    trial.set_user_attr("fit_seconds", seconds)
                    raise optuna.TrialPruned(f"pruned after fold {fold}: CV accuracy {np.mean(accuracies):.4f}")
        return {"accuracy": float(np.mean(accuracies)), "macro_f1": float(np.mean(f1s)),
                "fold_accuracy": [float(a) for a in accuracies], "fit_seconds": seconds}

    def __call__(self, trial) -> float:
        start = time.perf_counter()
        params = self.params_for(trial)
        result = self.evaluate(params, self.seed, trial)
        trial.set_user_attr("accuracy", result["accuracy"])
        trial.set_user_attr("macro_f1", result["macro_f1"])
        trial.set_user_attr("fit_seconds", result["fit_seconds"])
        trial.set_user_attr("wall_seconds", time.perf_counter() - start)
        return 1.0 - result["accuracy"]
