"""``hill``: greedy forward selection with replacement (Caruana et al., 2004; Kaggle "hill climbing").

Starting from the best single run, repeatedly add (with replacement) the run whose addition most
improves the competition's metric on the OOF rows of the weighted average, until no addition helps. The weights are the
selection counts. To keep the score honest the weights are chosen inside the saved folds: for
each fold, on the other folds' OOF rows only; the final weights (for test) use all rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kaggletk.blend._base import BlendInput, BlendMethod, BlendOutput
from kaggletk.metrics import METRICS, Metric


def _tie_key(metric: Metric, proba: np.ndarray, y: np.ndarray) -> float:
    # The competition's metric ranks first (larger = better); log loss (or accuracy, when log loss is the metric) breaks ties.
    tie = METRICS.get("accuracy" if metric.name == "log_loss" else "log_loss")
    return tie.key(tie(y, proba))


def _best(metric: Metric, candidate, n_candidates: int, y: np.ndarray) -> tuple[int, tuple[float, float]]:
    """The index and (metric, tie) key of the best of ``candidate(r)`` (an (n, C) array) for r < ``n_candidates``.

    The tie-breaker is computed only for the candidates that tie on the metric: the same choice as
    ranking every candidate by both keys, at a fraction of the cost (log loss is the expensive one)."""
    keys = [metric.key(metric(y, candidate(r))) for r in range(n_candidates)]
    top = max(keys)
    tied = [r for r, k in enumerate(keys) if k == top]
    ties = {r: _tie_key(metric, candidate(r), y) for r in tied}
    pick = max(tied, key=lambda r: ties[r])  # the first of equal keys, as max() over both keys picks
    return pick, (top, ties[pick])


def climb(oof: np.ndarray, y: np.ndarray, metric: Metric | None, max_steps: int, patience: int,
          average: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> np.ndarray:
    """Greedy selection with replacement; ``average(total, proba, step)`` is the candidate (total + proba) / (step + 1)."""
    metric = metric or METRICS.get("accuracy")
    n_runs = oof.shape[0]
    first, best = _best(metric, lambda r: oof[r], n_runs, y)
    counts = np.zeros(n_runs, dtype=np.int64)
    counts[first] = 1
    total = oof[first].astype(np.float64)
    best_counts, since_best = counts.copy(), 0
    for step in range(1, max_steps):
        pick, score = _best(metric, lambda r: average(total, oof[r], step), n_runs, y)
        counts[pick] += 1
        total += oof[pick]
        if score > best:
            best, best_counts, since_best = score, counts.copy(), 0
        else:
            since_best += 1
            if since_best >= patience:
                break
    return best_counts


def hill_climb(oof: np.ndarray, y: np.ndarray, metric: Metric | None = None, max_steps: int = 50, patience: int = 5) -> np.ndarray:
    """Selection counts per run (R,) int, found on ``oof`` (R, n, C) against ``y`` (n,); ``metric`` default accuracy."""
    buffer = np.empty(oof.shape[1:], dtype=np.float64)  # every candidate average is computed here, not in a fresh array

    def average(total: np.ndarray, proba: np.ndarray, step: int) -> np.ndarray:
        np.add(total, proba, out=buffer)
        return np.divide(buffer, step + 1, out=buffer)  # bit for bit (total + proba) / (step + 1)

    return climb(oof, y, metric, max_steps, patience, average)


class HillClimbBlend(BlendMethod):
    name = "hill"
    #: the selection function (a variant may swap it; ``bench/blend_cost.py`` times the previous one)
    climb = staticmethod(hill_climb)

    #: threads for the per-fold climbs (None: one per core); NumPy releases the GIL in the candidate sums
    n_jobs: int | None = None

    def __init__(self, max_steps: int = 50, patience: int = 5):
        self.max_steps, self.patience = max_steps, patience

    def blend(self, data: BlendInput) -> BlendOutput:
        from joblib import Parallel, delayed

        from kaggletk._threads import available_cores

        def climb(rows):
            return self.climb(data.oof[:, rows], data.y[rows], data.metric, self.max_steps, self.patience)

        # The climbs of the folds and the final one on all rows are independent: they run in parallel threads,
        # each with the same arithmetic as one after another, so the weights are the same (bench/blend_cost.py).
        splits = [data.folds.split(fold) for fold in range(data.folds.n_splits)]
        jobs = min(len(splits) + 1, self.n_jobs or available_cores())
        *fold_counts, counts = Parallel(n_jobs=jobs, prefer="threads")(
            delayed(climb)(rows) for rows in [*(fit_rows for fit_rows, _ in splits), slice(None)])
        oof = np.zeros(data.oof.shape[1:], dtype=np.float64)
        for (_, held), fold_count in zip(splits, fold_counts):
            oof[held] = np.tensordot(fold_count / fold_count.sum(), data.oof[:, held], axes=1)
        weights = counts / counts.sum()
        test = np.tensordot(weights, data.test, axes=1)
        return BlendOutput(oof.astype(np.float32), test.astype(np.float32),
                           {"weights": {n: float(w) for n, w in zip(data.names, weights)}, "counts": counts.tolist()})
