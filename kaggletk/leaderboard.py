"""The leaderboard: every run and blend of a competition with CV, test and their gap, best CV first."""

from __future__ import annotations

from typing import Any

from kaggletk.store import list_runs


def leaderboard_rows(comp: str, data: str | None = None) -> list[dict[str, Any]]:
    """One row per run (dicts: run, model, view, data, folds, cv, cv_std, f1, oof, test, seconds, fold_hash...)."""
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
            "seconds": cv.get("fit_seconds"), "fold_hash": m.get("fold_hash", "?"), "scheme": m.get("fold_scheme", "?"),
        })
    rows.sort(key=lambda r: (r["cv"] is None, -(r["cv"] or 0.0)))
    return rows
