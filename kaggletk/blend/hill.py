"""``hill``: greedy forward selection with replacement (Caruana et al., 2004; Kaggle "hill climbing").

Starting from the best single run, repeatedly add (with replacement) the run whose addition most
improves the competition's metric on the OOF rows of the weighted average, until no addition helps. The weights are the
selection counts. To keep the score honest the weights are chosen inside the saved folds: for
each fold, on the other folds' OOF rows only; the final weights (for test) use all rows.
"""

from __future__ import annotations

import numpy as np

from kaggletk.blend._base import BlendInput, BlendMethod, BlendOutput
from kaggletk.metrics import METRICS, Metric


def _objective(metric: Metric, proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    # The competition's metric first (larger = better); log loss (or accuracy, when log loss is the metric) breaks ties.
    tie = METRICS.get("accuracy" if metric.name == "log_loss" else "log_loss")
    return metric.key(metric(y, proba)), tie.key(tie(y, proba))


def hill_climb(oof: np.ndarray, y: np.ndarray, metric: Metric | None = None, max_steps: int = 50, patience: int = 5) -> np.ndarray:
    """Selection counts per run (R,) int, found on ``oof`` (R, n, C) against ``y`` (n,); ``metric`` default accuracy."""
    metric = metric or METRICS.get("accuracy")
    n_runs = oof.shape[0]
    scores = [_objective(metric, oof[r], y) for r in range(n_runs)]
    first = max(range(n_runs), key=lambda r: scores[r])
    counts = np.zeros(n_runs, dtype=np.int64)
    counts[first] = 1
    total = oof[first].astype(np.float64)
    best, best_counts, since_best = scores[first], counts.copy(), 0
    for step in range(1, max_steps):
        candidates = [_objective(metric, (total + oof[r]) / (step + 1), y) for r in range(n_runs)]
        pick = max(range(n_runs), key=lambda r: candidates[r])
        counts[pick] += 1
        total += oof[pick]
        if candidates[pick] > best:
            best, best_counts, since_best = candidates[pick], counts.copy(), 0
        else:
            since_best += 1
            if since_best >= patience:
                break
    return best_counts


class HillClimbBlend(BlendMethod):
    name = "hill"

    def __init__(self, max_steps: int = 50, patience: int = 5):
        self.max_steps, self.patience = max_steps, patience

    def blend(self, data: BlendInput) -> BlendOutput:
        oof = np.zeros(data.oof.shape[1:], dtype=np.float64)
        for fold in range(data.folds.n_splits):
            fit_rows, held = data.folds.split(fold)
            counts = hill_climb(data.oof[:, fit_rows], data.y[fit_rows], data.metric, self.max_steps, self.patience)
            weights = counts / counts.sum()
            oof[held] = np.tensordot(weights, data.oof[:, held], axes=1)
        counts = hill_climb(data.oof, data.y, data.metric, self.max_steps, self.patience)
        weights = counts / counts.sum()
        test = np.tensordot(weights, data.test, axes=1)
        return BlendOutput(oof.astype(np.float32), test.astype(np.float32),
                           {"weights": {n: float(w) for n, w in zip(data.names, weights)}, "counts": counts.tolist()})
