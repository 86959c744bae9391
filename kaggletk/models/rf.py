"""``rf``: scikit-learn's random forest."""

from __future__ import annotations

from kaggletk.models._sklearn import SklearnModel


class RandomForestModel(SklearnModel):
    name = "rf"
    accepts = "flat"
    default_view = "pixels"

    @classmethod
    def default_params(cls):
        return {"n_estimators": 300, "max_features": "sqrt", "min_samples_leaf": 1, "n_jobs": -1}

    @classmethod
    def search_space(cls, trial):
        return {
            "n_estimators": trial.suggest_int("n_estimators", 100, 600, step=100),
            "max_features": trial.suggest_categorical("max_features", ["sqrt", "log2"]),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 5),
        }

    def make_estimator(self, params):
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(random_state=self.seed, **params)
