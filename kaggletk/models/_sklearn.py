"""Shared code of the scikit-learn adapters: one estimator, fitted in one step, CPU only."""

from __future__ import annotations

from typing import Any

import numpy as np

from kaggletk.errors import KaggletkError
from kaggletk.models._base import Model


class SklearnModel(Model):
    """Wraps a scikit-learn classifier built by ``make_estimator(params)``."""

    supports_gpu = False
    library = "scikit-learn"
    step_unit = "fit"
    pass_through_params = True  # any scikit-learn parameter of the estimator, under its own name

    def make_estimator(self, params: dict[str, Any]):
        raise NotImplementedError

    @classmethod
    def known_params(cls):
        """The estimator's own parameter names (scikit-learn's ``get_params``), besides the adapter's defaults."""
        model = cls({})
        estimator = model.make_estimator(model.resolved_params())
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        return set(final.get_params(deep=False))

    @classmethod
    def check_params(cls, params):
        params = super().check_params(params)
        model = cls(params)
        try:
            estimator = model.make_estimator(model.resolved_params())
            final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
            if hasattr(final, "_validate_params"):  # scikit-learn's own value checks, without fitting
                final._validate_params()
        except (TypeError, ValueError) as exc:
            raise KaggletkError(f"--params for model {cls.name}: {str(exc).splitlines()[0]}") from exc
        return params

    def _fit(self, X, y, X_stop, y_stop, native_callbacks, checkpoint_dir):
        self._begin(1)
        params = self.resolved_params()
        self.model_ = self.make_estimator(self._threads(params) if "n_jobs" in params else params).fit(X, y)
        self._step(0, {})

    def _predict_proba(self, X):
        proba = self.model_.predict_proba(X)
        fitted = self.model_.classes_ if hasattr(self.model_, "classes_") else self.model_[-1].classes_
        if proba.shape[1] != self.n_classes_:  # a class absent from this fold's training part
            full = np.zeros((len(X), self.n_classes_))
            full[:, fitted] = proba
            proba = full
        return proba
