"""A model added the way a user adds one: this file plus one registry line (see test_new_model.py).

scikit-learn's HistGradientBoostingClassifier, early-stopped on kaggletk's stopping rows.
"""

from __future__ import annotations

from kaggletk.models import Model


class HgbModel(Model):
    name = "hgb"
    accepts = "flat"
    default_view = "pca"
    library = "scikit-learn"
    step_unit = "round"

    @classmethod
    def default_params(cls):
        return {"max_iter": 60, "learning_rate": 0.1, "max_leaf_nodes": 15, "n_iter_no_change": 5}

    @classmethod
    def search_space(cls, trial):
        return {"learning_rate": trial.suggest_float("learning_rate", 0.05, 0.3, log=True),
                "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 31)}

    @classmethod
    def _stops_early(cls, params):
        return bool(params.get("n_iter_no_change"))

    def _fit(self, X, y, X_stop, y_stop, native_callbacks, checkpoint_dir):
        from sklearn.ensemble import HistGradientBoostingClassifier

        p = self.resolved_params()
        self._begin(p["max_iter"])
        stopping = X_stop is not None
        self.model_ = HistGradientBoostingClassifier(random_state=self.seed, early_stopping=stopping, scoring="loss", **p)
        self.model_.fit(X, y, **({"X_val": X_stop, "y_val": y_stop} if stopping else {}))
        for step, loss in enumerate(self.model_.validation_score_[1:] if stopping else []):
            self._step(step, {"val_loss": -float(loss)})  # scikit-learn's "loss" score is the negative log loss
        self.best_iteration_ = self.model_.n_iter_ - 1

    def _predict_proba(self, X):
        return self.model_.predict_proba(X)
