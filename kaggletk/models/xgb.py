"""``xgb``: XGBoost gradient-boosted trees, early-stopped on the validation fold.

Native XGBoost parameters pass through under their own names (``max_depth``, ``eta`` as
``learning_rate``, ``subsample``...); ``--device gpu`` sets ``device="cuda"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kaggletk.errors import KaggletkError
from kaggletk.models._base import Model, StepCallback, normalise_proba
from kaggletk.views import FLAT_VIEWS


def _round_callback(callback: StepCallback, total: int):
    import xgboost as xgb

    class _Adapter(xgb.callback.TrainingCallback):
        def before_training(self, model):
            callback.on_train_begin(total)
            return model

        def after_iteration(self, model, epoch, evals_log):
            metrics = {f"{data}_{name}": float(values[-1]) for data, logs in evals_log.items() for name, values in logs.items()}
            callback.on_step_end(epoch, metrics)
            return callback.stop_training

    return _Adapter()


class XgbModel(Model):
    name = "xgb"
    views = FLAT_VIEWS
    default_view = "compact"
    supports_gpu = True
    pass_through_params = True

    @classmethod
    def default_params(cls):
        return {"n_estimators": 1000, "learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0,
                "subsample": 0.8, "colsample_bytree": 0.6, "reg_lambda": 1.0, "max_bin": 256,
                "tree_method": "hist", "early_stopping_rounds": 40, "n_jobs": -1}

    @classmethod
    def stops_early(cls, params):
        return bool({**cls.default_params(), **params}.get("early_stopping_rounds"))

    @classmethod
    def search_space(cls, trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
            "max_depth": trial.suggest_int("max_depth", 3, 10),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 10.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }

    @classmethod
    def pruning_callback(cls, trial):
        from optuna_integration import XGBoostPruningCallback

        return XGBoostPruningCallback(trial, "validation_0-mlogloss")

    def fit(self, X, y, X_valid=None, y_valid=None, callbacks: Sequence[Any] = ()):
        import xgboost as xgb

        from kaggletk.models._device import resolve_device

        p = self.resolved_params()
        has_valid = X_valid is not None and y_valid is not None
        if not has_valid:
            p.pop("early_stopping_rounds", None)
        device = resolve_device(self.device, self.name, self.supports_gpu)
        native = [_round_callback(cb, p["n_estimators"]) if isinstance(cb, StepCallback) else cb for cb in callbacks]
        self.model_ = xgb.XGBClassifier(
            objective="multi:softprob", eval_metric=["mlogloss", "merror"], random_state=self.seed,
            device="cuda" if device == "gpu" else "cpu", callbacks=native or None, **p,
        )
        try:
            self.model_.fit(X, y, eval_set=[(X_valid, y_valid)] if has_valid else None, verbose=False)
        except xgb.core.XGBoostError as exc:
            if device == "gpu":  # e.g. a CPU-only xgboost build, or a CUDA driver it cannot use
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "XGBoostError"
                raise KaggletkError(f"--device gpu: XGBoost cannot use the GPU ({first}); install the CUDA build of xgboost "
                                    "or use --device cpu") from exc
            raise
        self.best_iteration_ = int(getattr(self.model_, "best_iteration", p["n_estimators"] - 1) or 0)
        if has_valid:
            log = self.model_.evals_result()["validation_0"]
            self.history_ = {f"val_{k}": [float(v) for v in vals] for k, vals in log.items()}
        return self

    def predict_proba(self, X):
        return normalise_proba(self.model_.predict_proba(X))
