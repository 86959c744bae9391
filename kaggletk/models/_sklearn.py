"""Shared code of the scikit-learn adapters: one estimator, no epochs, CPU only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kaggletk.errors import KaggletkError
from kaggletk.models._base import Model, StepCallback, normalise_proba


class SklearnModel(Model):
    """Wraps a scikit-learn classifier built by ``make_estimator(params)``."""

    supports_gpu = False
    pass_through_params = True  # any scikit-learn parameter of the estimator, under its own name

    def make_estimator(self, params: dict[str, Any]):
        raise NotImplementedError

    @classmethod
    def check_params(cls, params):
        params = super().check_params(params)
        model = cls(n_classes=2, params=params)
        try:
            estimator = model.make_estimator(model.resolved_params())
            final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
            if hasattr(final, "_validate_params"):  # scikit-learn's own value checks, without fitting
                final._validate_params()
        except (TypeError, ValueError) as exc:
            raise KaggletkError(f"--params for model {cls.name}: {str(exc).splitlines()[0]}") from exc
        return params

    def fit(self, X, y, X_valid=None, y_valid=None, callbacks: Sequence[Any] = ()):
        from kaggletk.models._device import resolve_device

        resolve_device(self.device, self.name, self.supports_gpu)
        steps = [cb for cb in callbacks if isinstance(cb, StepCallback)]
        for cb in steps:
            cb.on_train_begin(1)
        self.model_ = self.make_estimator(self.resolved_params()).fit(X, y)
        if X_valid is not None and y_valid is not None:
            valid_accuracy = float((self.model_.predict(X_valid) == y_valid).mean())
            for cb in steps:
                cb.on_step_end(0, {"val_accuracy": valid_accuracy})
        return self

    def predict_proba(self, X):
        proba = self.model_.predict_proba(X)
        if proba.shape[1] != self.n_classes:  # a class absent from this fold's training part
            import numpy as np

            full = np.zeros((len(X), self.n_classes))
            full[:, self.model_.classes_] = proba
            proba = full
        return normalise_proba(proba)
