"""Metrics: accuracy (the leaderboard's) and macro-F1 beside it.

Both come from the confusion counts with NumPy: importing ``sklearn.metrics`` takes 1-2 s per
process (it pulls in SciPy), about 5% of a dense-net fold on the full data, for two lines of
arithmetic. ``tests/test_metrics.py`` checks them against scikit-learn's ``accuracy_score`` and
``f1_score(average="macro", zero_division=0)``.
"""

from __future__ import annotations

import numpy as np


def _pair(y_true, y_pred, metric: str) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"{metric}: y_true {y_true.shape} and y_pred {y_pred.shape} must be equal-length 1-d arrays")
    return y_true, y_pred


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of equal labels; y_true and y_pred are (n,) arrays of the same label values."""
    y_true, y_pred = _pair(y_true, y_pred, "accuracy")
    return float(np.mean(y_true == y_pred)) if len(y_true) else 0.0


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Unweighted mean of the per-class F1 scores.

    With ``n_classes`` the labels are class indices 0..n_classes-1 and every class counts (a class
    neither present nor predicted scores 0, as scikit-learn's ``zero_division=0``); without it the
    classes are the labels seen in y_true or y_pred.
    """
    y_true, y_pred = _pair(y_true, y_pred, "macro_f1")
    if n_classes is None:
        classes, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
        n_classes = len(classes)
        true_idx, pred_idx = codes[: len(y_true)], codes[len(y_true):]
    else:
        true_idx, pred_idx = y_true.astype(np.int64), y_pred.astype(np.int64)
    if n_classes == 0:
        return 0.0
    true_count = np.bincount(true_idx, minlength=n_classes)[:n_classes]
    pred_count = np.bincount(pred_idx, minlength=n_classes)[:n_classes]
    hits = np.bincount(true_idx[true_idx == pred_idx], minlength=n_classes)[:n_classes]
    denominator = true_count + pred_count  # 2TP + FP + FN
    f1 = np.divide(2.0 * hits, denominator, out=np.zeros(n_classes), where=denominator > 0)
    return float(f1.mean())


def score(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 of probabilities (n, n_classes) against class indices (n,)."""
    pred = np.asarray(proba).argmax(axis=1)
    return {"accuracy": accuracy(y_true, pred), "macro_f1": macro_f1(y_true, pred, proba.shape[1])}


METRICS = {"accuracy": accuracy, "macro_f1": macro_f1}
