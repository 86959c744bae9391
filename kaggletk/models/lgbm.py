"""``lgbm``: LightGBM gradient-boosted trees, early-stopped on stopping rows of the training part.

Native LightGBM parameters (and their aliases) pass through; an unknown name is refused with the
closest known one. The defaults are deliberately conservative: on raw pixels a high learning rate
with many leaves and few bins can diverge to chance level, which the CV runner refuses to store.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

from kaggletk.models._base import Model, Range


def _bridge(model: Model, total: int):
    def bridge(env):
        """LightGBM's evaluation list -> ``Model._step`` under standard keys (the stopping rows are ``val_``)."""
        if env.iteration == env.begin_iteration:
            model._begin(total)
        logs = {}
        for _data, metric, value, *_ in env.evaluation_result_list or []:
            if metric == "multi_logloss":
                logs["val_loss"] = value
            elif metric == "multi_error":
                logs["val_accuracy"] = 1.0 - value
        if model._step(env.iteration, logs):
            import lightgbm as lgb

            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

    bridge.order = 30  # after LightGBM's own evaluation
    return bridge


@functools.cache
def _lightgbm_params() -> frozenset[str]:
    import lightgbm as lgb
    from lightgbm.basic import _ConfigAliases

    names = set(lgb.LGBMClassifier().get_params()) | {"early_stopping_rounds", "device_type"}
    for canonical, aliases in _ConfigAliases._get_all_param_aliases().items():
        names.add(canonical)
        names.update(aliases)
    return frozenset(names)


class LgbmModel(Model):
    name = "lgbm"
    accepts = "flat"
    default_view = "compact"
    supports_gpu = True
    library = "LightGBM"
    gpu_hint = "install a GPU build of LightGBM"
    step_unit = "round"
    pass_through_params = True

    @classmethod
    def default_params(cls):
        return {"n_estimators": 1000, "learning_rate": 0.1, "num_leaves": 31, "max_bin": 255, "min_child_samples": 20,
                "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.6, "reg_lambda": 1.0,
                "early_stopping_rounds": 40, "n_jobs": -1}

    @classmethod
    def known_params(cls):
        return _lightgbm_params()

    @classmethod
    def param_ranges(cls):
        return {"n_estimators": Range(1, None), "learning_rate": Range(0, 1, low_open=True), "num_leaves": Range(2, None),
                "max_bin": Range(2, None), "min_child_samples": Range(0, None), "subsample": Range(0, 1, low_open=True),
                "colsample_bytree": Range(0, 1, low_open=True), "reg_lambda": Range(0, None),
                "early_stopping_rounds": Range(1, None)}

    @classmethod
    def _stops_early(cls, params):
        return bool(params.get("early_stopping_rounds"))

    @classmethod
    def search_space(cls, trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 15, 127, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }

    def _fit(self, X, y, X_stop, y_stop, native_callbacks, checkpoint_dir):
        import lightgbm as lgb

        p = self._threads(self.resolved_params())
        stopping = p.pop("early_stopping_rounds", None)
        callbacks = [_bridge(self, int(p["n_estimators"])), *native_callbacks]
        if X_stop is not None and stopping:  # on both metrics, or on the log loss alone when that is the competition's
            callbacks.append(lgb.early_stopping(stopping, verbose=False, first_metric_only=self.metric == "log_loss"))
        self.model_ = lgb.LGBMClassifier(objective="multiclass", random_state=self.seed, verbose=-1,
                                         device_type="gpu" if self.device_ == "gpu" else "cpu", **p)
        eval_args = {}
        if X_stop is not None:  # LightGBM 4.7 renamed eval_set to eval_X/eval_y
            eval_args = ({"eval_X": (X_stop,), "eval_y": (y_stop,)} if "eval_X" in inspect.signature(self.model_.fit).parameters
                         else {"eval_set": [(X_stop, y_stop)]})
        self.model_.fit(X, y, eval_metric=["multi_logloss", "multi_error"], callbacks=callbacks, **eval_args)
        self.best_iteration_ = int((self.model_.best_iteration_ or p["n_estimators"]) - 1)

    def _save_model(self, stem):
        from kaggletk._io import write_text

        path = Path(f"{stem}.txt")
        write_text(path, self.model_.booster_.model_to_string(num_iteration=self.model_.best_iteration_ or None))
        return path

    def _load_model(self, path):
        import lightgbm as lgb

        self.model_ = lgb.Booster(model_str=Path(path).read_text(encoding="utf-8"))

    def _predict_proba(self, X):
        if hasattr(self.model_, "predict_proba"):
            return self.model_.predict_proba(X)
        return self.model_.predict(X)  # a loaded Booster: the multiclass probabilities
