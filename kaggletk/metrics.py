"""Metrics of a competition: accuracy, macro-F1, weighted-F1 and multi-class log loss, registered by name.

A competition declares one (``metric`` in ``competition.py``); it ranks runs, picks blends, drives
hill climbing and tuning, and heads the report, with accuracy and macro-F1 shown beside it. Each
metric scores class probabilities ``(n, n_classes)`` against class indices ``(n,)`` and says
whether greater is better. They are computed from confusion counts with NumPy (importing
``sklearn.metrics`` costs 1-2 s of start-up in every process); ``tests/test_metrics.py`` checks
each against scikit-learn.

Examples
--------
>>> import numpy as np
>>> from kaggletk.metrics import METRICS, score
>>> y = np.array([0, 1, 1])
>>> proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
>>> round(METRICS.get("accuracy")(y, proba), 4)
0.6667
>>> sorted(score(y, proba))
['accuracy', 'log_loss', 'macro_f1', 'weighted_f1']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kaggletk._registry import Registry

# Probabilities are clipped here before the log, as Kaggle's and scikit-learn's log loss do.
LOG_LOSS_EPS = 1e-15


@dataclass(frozen=True)
class Metric:
    """A score of probabilities against class indices.

    Attributes
    ----------
    name : str, the registry key and the manifest key (``oof_<name>``, ``<name>_mean``)
    label : str, for tables and figures
    greater_is_better : bool
    fn : callable(y_true (n,) int, proba (n, C) float) -> float
    """

    name: str
    label: str
    greater_is_better: bool
    fn: Callable[[np.ndarray, np.ndarray], float]

    def __call__(self, y_true: np.ndarray, proba: np.ndarray) -> float:
        return float(self.fn(np.asarray(y_true), np.asarray(proba)))

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` beats score ``b``."""
        return a > b if self.greater_is_better else a < b

    def key(self, value: float) -> float:
        """A sort key, larger = better, for ``max(..., key=metric.key)``."""
        return value if self.greater_is_better else -value

    def error(self, value: float) -> float:
        """A loss to minimise (tuning): 1 - score for scores in [0, 1] that grow, the value itself otherwise."""
        return 1.0 - value if self.greater_is_better else value


def _check(y_true: np.ndarray, y_pred: np.ndarray, metric: str) -> None:
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"{metric}: y_true {y_true.shape} and y_pred {y_pred.shape} must be equal-length 1-d arrays")


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of equal labels; y_true and y_pred are (n,) arrays of the same label values."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check(y_true, y_pred, "accuracy")
    return float(np.mean(y_true == y_pred)) if len(y_true) else 0.0


def _f1_per_class(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(per-class F1, per-class support) with scikit-learn's ``zero_division=0``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check(y_true, y_pred, "f1")
    if n_classes is None:
        classes, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
        n_classes = len(classes)
        true_idx, pred_idx = codes[: len(y_true)], codes[len(y_true):]
    else:
        true_idx, pred_idx = y_true.astype(np.int64), y_pred.astype(np.int64)
    if n_classes == 0:
        return np.zeros(0), np.zeros(0)
    true_count = np.bincount(true_idx, minlength=n_classes)[:n_classes]
    pred_count = np.bincount(pred_idx, minlength=n_classes)[:n_classes]
    hits = np.bincount(true_idx[true_idx == pred_idx], minlength=n_classes)[:n_classes]
    denominator = true_count + pred_count  # 2TP + FP + FN
    f1 = np.divide(2.0 * hits, denominator, out=np.zeros(n_classes), where=denominator > 0)
    return f1, true_count


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Unweighted mean of the per-class F1 scores.

    With ``n_classes`` the labels are class indices 0..n_classes-1 and every class counts (a class
    neither present nor predicted scores 0, as scikit-learn's ``zero_division=0``); without it the
    classes are the labels seen in y_true or y_pred.
    """
    f1, _ = _f1_per_class(y_true, y_pred, n_classes)
    return float(f1.mean()) if len(f1) else 0.0


def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Per-class F1 weighted by each class's support in ``y_true`` (scikit-learn's ``average="weighted"``)."""
    f1, support = _f1_per_class(y_true, y_pred, n_classes)
    return float((f1 * support).sum() / support.sum()) if support.sum() else 0.0


def log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Multi-class log loss (cross-entropy) of probabilities (n, C) against class indices (n,).

    Rows are renormalised after clipping to [eps, 1 - eps], as Kaggle's metric does.
    """
    proba = np.clip(np.asarray(proba, dtype=np.float64), LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    proba = proba / proba.sum(axis=1, keepdims=True)
    y_true = np.asarray(y_true, dtype=np.int64)
    return float(-np.log(proba[np.arange(len(y_true)), y_true]).mean()) if len(y_true) else 0.0


METRICS: Registry[Metric] = Registry("metric", "metric")
METRICS.register("accuracy", Metric("accuracy", "accuracy", True,
                                    lambda y, p: accuracy(y, p.argmax(axis=1))))
METRICS.register("macro_f1", Metric("macro_f1", "macro-F1", True,
                                    lambda y, p: macro_f1(y, p.argmax(axis=1), p.shape[1])))
METRICS.register("weighted_f1", Metric("weighted_f1", "weighted-F1", True,
                                       lambda y, p: weighted_f1(y, p.argmax(axis=1), p.shape[1])))
METRICS.register("log_loss", Metric("log_loss", "log loss", False, log_loss))

# Shown beside the competition's own metric everywhere.
ALWAYS_SHOWN = ("accuracy", "macro_f1")


def get_metric(name: str) -> Metric:
    return METRICS.get(name)


def score(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Every registered metric of probabilities (n, n_classes) against class indices (n,)."""
    return {name: metric(y_true, proba) for name, metric in METRICS.items()}
