"""``xgb``: XGBoost gradient-boosted trees, early-stopped on stopping rows of the training part.

Native XGBoost parameters pass through under their own names (``max_depth``, ``learning_rate``,
``subsample``...); an unknown name is refused with the closest known one. ``--device gpu`` sets
``device="cuda"``.
"""

from __future__ import annotations

from pathlib import Path

from kaggletk.models._base import Model, Range

# XGBoost's booster and learning-task parameters (its parameter reference), beside the scikit-learn
# wrapper's own (XGBClassifier().get_params()): a name outside both is a typo, not an option.
_BOOSTER_PARAMS = {
    "booster", "device", "verbosity", "validate_parameters", "nthread", "disable_default_eval_metric", "eta",
    "learning_rate", "gamma", "min_split_loss", "max_depth", "min_child_weight", "max_delta_step", "subsample",
    "sampling_method", "colsample_bytree", "colsample_bylevel", "colsample_bynode", "lambda", "reg_lambda", "alpha",
    "reg_alpha", "tree_method", "scale_pos_weight", "updater", "refresh_leaf", "process_type", "grow_policy",
    "max_leaves", "max_bin", "num_parallel_tree", "monotone_constraints", "interaction_constraints", "multi_strategy",
    "max_cached_hist_node", "extmem_single_page", "max_cat_to_onehot", "max_cat_threshold", "sample_type",
    "normalize_type", "rate_drop", "one_drop", "skip_drop", "feature_selector", "top_k", "base_score", "seed",
    "seed_per_iteration", "n_estimators", "early_stopping_rounds", "n_jobs", "random_state", "importance_type",
    "missing", "enable_categorical", "feature_types", "feature_weights",
}


def _bridge(owner: Model, total: int):
    import xgboost as xgb

    class RoundBridge(xgb.callback.TrainingCallback):
        """XGBoost's evaluation log -> ``Model._step`` under standard keys (the stopping rows are ``val_``)."""

        def before_training(self, model):  # XGBoost passes the booster by keyword, as ``model``
            owner._begin(total)
            return model

        def after_iteration(self, model, epoch, evals_log):
            log = evals_log.get("validation_0", {})
            logs = {}
            if log.get("mlogloss"):
                logs["val_loss"] = log["mlogloss"][-1]
            if log.get("merror"):
                logs["val_accuracy"] = 1.0 - log["merror"][-1]
            return owner._step(epoch, logs)

    return RoundBridge()


class XgbModel(Model):
    name = "xgb"
    accepts = "flat"
    default_view = "compact"
    supports_gpu = True
    library = "XGBoost"
    gpu_hint = "install the CUDA build of xgboost"
    step_unit = "round"
    pass_through_params = True

    @classmethod
    def default_params(cls):
        return {"n_estimators": 1000, "learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0,
                "subsample": 0.8, "colsample_bytree": 0.6, "reg_lambda": 1.0, "max_bin": 256,
                "tree_method": "hist", "early_stopping_rounds": 40, "n_jobs": -1}

    @classmethod
    def known_params(cls):
        return _BOOSTER_PARAMS

    @classmethod
    def param_ranges(cls):
        return {"n_estimators": Range(1, None), "learning_rate": Range(0, 1, low_open=True), "max_depth": Range(0, None),
                "min_child_weight": Range(0, None), "subsample": Range(0, 1, low_open=True),
                "colsample_bytree": Range(0, 1, low_open=True), "reg_lambda": Range(0, None), "max_bin": Range(2, None),
                "early_stopping_rounds": Range(1, None), "tree_method": ("hist", "approx", "exact", "auto")}

    @classmethod
    def _stops_early(cls, params):
        return bool(params.get("early_stopping_rounds"))

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

    def _fit(self, X, y, X_stop, y_stop, native_callbacks, checkpoint_dir):
        import xgboost as xgb

        p = self._threads(self.resolved_params())
        if X_stop is None:
            p.pop("early_stopping_rounds", None)
        self.model_ = xgb.XGBClassifier(
            # XGBoost stops early on the last metric: the error, or the log loss when that is the competition's metric
            objective="multi:softprob", random_state=self.seed,
            eval_metric=["merror", "mlogloss"] if self.metric == "log_loss" else ["mlogloss", "merror"],
            device="cuda" if self.device_ == "gpu" else "cpu",
            callbacks=[_bridge(self, int(p["n_estimators"])), *native_callbacks], **p,
        )
        self.model_.fit(X, y, eval_set=[(X_stop, y_stop)] if X_stop is not None else None, verbose=False)
        best = getattr(self.model_, "best_iteration", None) if X_stop is not None else None
        self.best_iteration_ = int(best if best is not None else p["n_estimators"] - 1)

    def _save_model(self, stem):
        from kaggletk._io import atomic_path

        path = Path(f"{stem}.ubj")
        with atomic_path(path) as tmp:
            self.model_.get_booster().save_model(str(tmp.with_suffix(".ubj")))
            tmp.with_suffix(".ubj").replace(tmp)
        return path

    def _load_model(self, path):
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(path))
        self.model_ = booster

    def _predict_proba(self, X):
        if hasattr(self.model_, "predict_proba"):
            return self.model_.predict_proba(X)
        import xgboost as xgb  # a loaded Booster: softmax probabilities of the rounds kept by early stopping

        rounds = (0, self.best_iteration_ + 1) if self.best_iteration_ is not None else (0, 0)
        return self.model_.predict(xgb.DMatrix(X), iteration_range=rounds)
