"""Metrics: accuracy (the leaderboard's) and macro-F1 beside it, from scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(accuracy_score(y_true, y_pred))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    labels = None if n_classes is None else np.arange(n_classes)
    return float(f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0))


def score(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 of probabilities (n, n_classes) against class indices (n,)."""
    pred = np.asarray(proba).argmax(axis=1)
    return {"accuracy": accuracy(y_true, pred), "macro_f1": macro_f1(y_true, pred, proba.shape[1])}


METRICS = {"accuracy": accuracy, "macro_f1": macro_f1}
