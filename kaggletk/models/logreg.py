"""``logreg``: multinomial logistic regression on standardised features (scikit-learn)."""

from __future__ import annotations

from kaggletk.models._sklearn import SklearnModel


class LogRegModel(SklearnModel):
    name = "logreg"
    accepts = "flat"
    default_view = "pca"

    @classmethod
    def default_params(cls):
        return {"C": 0.1, "max_iter": 300}

    @classmethod
    def search_space(cls, trial):
        return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}

    def make_estimator(self, params):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(random_state=self.seed, **params))
