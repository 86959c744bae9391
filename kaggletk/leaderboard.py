"""The leaderboard: every run and blend of a competition with CV, test and their gap, best CV first.

Runs are ranked by the competition's metric (``metric`` in ``competition.py``; lower is better for
log loss); accuracy and macro-F1 are given beside it.
"""

from __future__ import annotations

from typing import Any

from kaggletk.competition import load_competition
from kaggletk.metrics import get_metric
from kaggletk.store import list_runs
from kaggletk.workspace import Workspace


def leaderboard_rows(comp: str, data: str | None = None, ws: Workspace | None = None,
                     skipped: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per run, best first in the competition's metric.

    Keys: run, kind, model, view, data, device, folds, complete, metric; ``cv`` and ``cv_std`` (the
    metric's mean and std over folds), ``oof`` (on the whole OOF matrix), ``accuracy`` and ``macro_f1``
    (means over folds); ``test`` (the submission: fold models' average, or the blend), ``test_accuracy``,
    ``test_macro_f1``; ``test_single`` (the fold models alone, which is what CV estimates); ``gap``
    (``cv`` minus ``test_single``; None for blends, which have no single models); seconds, fold_hash, scheme.
    Runs whose manifest cannot be read are left out and named in ``skipped``, when given.
    """
    metric = get_metric(load_competition(comp, ws).metric)
    rows = []
    for run in list_runs(comp, ws, skipped):
        m = run.manifest
        if data and m.data != data:
            continue
        cv, test = m.cv, m.test
        done = m.n_folds if m.kind == "blend" and m.complete else len(run.done_folds())
        rows.append({
            "run": run.name, "kind": m.kind, "model": m.model, "view": m.view, "data": m.data, "device": m.device or "-",
            "folds": f"{done}/{m.n_folds}", "complete": m.complete, "metric": metric.name,
            "cv": cv.mean.get(metric.name) if cv else None, "cv_std": cv.std.get(metric.name) if cv else None,
            "oof": cv.oof.get(metric.name) if cv else None,
            "accuracy": cv.mean.get("accuracy") if cv else None, "macro_f1": cv.mean.get("macro_f1") if cv else None,
            "test": test.scores.get(metric.name) if test else None,
            "test_accuracy": test.scores.get("accuracy") if test else None,
            "test_macro_f1": test.scores.get("macro_f1") if test else None,
            "test_single": test.fold_models_mean(metric.name) if test else None,
            "seconds": cv.fit_seconds if cv else None, "fold_hash": m.fold_hash, "scheme": m.fold_scheme,
        })
    for row in rows:
        row["gap"] = row["cv"] - row["test_single"] if row["test_single"] is not None and row["cv"] is not None else None
    rows.sort(key=lambda r: (r["cv"] is None, -metric.key(r["cv"]) if r["cv"] is not None else 0.0))
    return rows
