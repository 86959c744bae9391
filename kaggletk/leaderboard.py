"""The leaderboard: every run and blend of a competition with CV, test and their gap, best CV first."""

from __future__ import annotations

from typing import Any

from kaggletk.store import list_runs


def leaderboard_rows(comp: str, data: str | None = None) -> list[dict[str, Any]]:
    """One row per run (dicts: run, model, view, data, folds, cv, cv_std, f1, oof, test, test_single, gap, seconds, fold_hash...).

    ``test`` scores what a submission holds (the fold models' average, or the blend); ``test_single``
    the mean test accuracy of the single fold models, which is what CV estimates; ``gap`` is CV minus
    ``test_single`` where it exists, else OOF accuracy minus ``test``.
    """
    rows = []
    for run in list_runs(comp):
        m = run.manifest
        if data and m.get("data") != data:
            continue
        cv, test = m.get("cv") or {}, m.get("test") or {}
        rows.append({
            "run": run.name, "kind": m.get("kind", "model"), "model": m.get("model") or m.get("method", ""),
            "view": m.get("view", "-"), "data": m.get("data", "?"), "device": m.get("device", "-"),
            "folds": f"{len(run.done_folds())}/{m.get('n_folds', '?')}", "complete": run.complete,
            "cv": cv.get("accuracy_mean"), "cv_std": cv.get("accuracy_std"), "f1": cv.get("macro_f1_mean"),
            "oof": cv.get("oof_accuracy"), "test": test.get("accuracy"), "test_f1": test.get("macro_f1"),
            "test_single": test.get("fold_models_accuracy_mean"),
            "seconds": cv.get("fit_seconds"), "fold_hash": m.get("fold_hash", "?"), "scheme": m.get("fold_scheme", "?"),
        })
    for row in rows:
        if row["test_single"] is not None and row["cv"] is not None:
            row["gap"] = row["cv"] - row["test_single"]
        else:
            row["gap"] = None if row["test"] is None or row["oof"] is None else row["oof"] - row["test"]
    rows.sort(key=lambda r: (r["cv"] is None, -(r["cv"] or 0.0)))
    return rows
