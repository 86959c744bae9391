"""The report's numbers: confusion counts, per-class scores, mistakes, and the tables that show them.

Inputs are class indices ``0..n_classes-1`` and probabilities ``(n, n_classes)``; tables show the
competition's class names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from kaggletk.report._blocks import Table


def fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true, predicted) pairs, ndarray of shape (n_classes, n_classes), int64; rows are true classes."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confused_pairs(counts: np.ndarray, top: int = 8) -> list[tuple[int, int, int, float]]:
    """The ``top`` most frequent mistakes as (true, predicted, count, share of the true class), most first."""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:top]
    totals = counts.sum(axis=1)
    pairs = []
    for flat in order:
        i, j = divmod(int(flat), counts.shape[1])
        if off[i, j] == 0:
            break
        pairs.append((i, j, int(off[i, j]), float(off[i, j] / max(totals[i], 1))))
    return pairs


def per_class_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """Per class: support, accuracy (the share of the class predicted right, i.e. recall), precision, F1."""
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(n_classes), zero_division=0)
    return {"support": support, "accuracy": recall, "precision": precision, "f1": f1}


def confident_mistakes(proba: np.ndarray, y: np.ndarray, top: int = 16, images: np.ndarray | None = None) -> np.ndarray:
    """Row indices of the ``top`` wrong predictions with the highest predicted probability, most confident first.

    With ``images``, one row per group of near-copies (augmentations of one photo repeat the same
    mistake): the most confident of each group, so the grid shows ``top`` different pictures.
    """
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    ranked = wrong[np.argsort(-proba[wrong, pred[wrong]], kind="stable")]
    if images is None or len(ranked) <= 1:
        return ranked[:top]
    from kaggletk.folds.groups import near_duplicate_groups

    candidates = ranked[: 20 * top]
    groups = near_duplicate_groups(images[candidates], threshold=0.97, neighbours=min(20, len(candidates) - 1))
    first = np.unique(groups, return_index=True)[1]
    return candidates[np.sort(first)][:top]


# ---------------------------------------------------------------- tables


def leaderboard_table(rows: list[dict[str, Any]], manifests: dict[str, Any]) -> Table:
    """Every run and blend: the rows of ``kaggletk leaderboard``, the competition's metric first, accuracy and macro-F1 beside."""
    from kaggletk.metrics import get_metric

    metric = get_metric(rows[0]["metric"]) if rows else get_metric("accuracy")
    label = metric.label
    columns = [f"CV {label}", f"test {label}", f"1-model test {label}", "CV − 1-model test"]
    if metric.name != "accuracy":
        columns += ["CV accuracy", "test accuracy"]
    columns = ["run", "model", "view", *columns, "CV macro-F1", "test macro-F1", "fit s", "device", "folds done, scheme, hash"]
    body = []
    for r in rows:
        cv = manifests[r["run"]].cv if r["run"] in manifests else None
        main = "-" if r["cv"] is None else f"{r['cv']:.4f} ± {r['cv_std'] or 0:.4f}"
        f1 = "-" if r["macro_f1"] is None else f"{r['macro_f1']:.4f} ± {(cv.std.get('macro_f1') if cv else 0) or 0:.4f}"
        cells = [main, fmt(r["test"]), fmt(r["test_single"]), fmt(r["gap"], "+.4f")]
        if metric.name != "accuracy":
            cells += [fmt(r["accuracy"]), fmt(r["test_accuracy"])]
        body.append([r["run"], r["model"], r["view"], *cells, f1, fmt(r["test_macro_f1"]), fmt(r["seconds"], ".1f"), r["device"],
                     f"{r['folds']} {r['scheme']} {r['fold_hash']}" + ("" if r["complete"] else " (partial)")])
    if rows and all(r["test"] is None for r in rows):
        return Table(columns, body, f"best CV {label} first; no held-out labels: submit to score")
    return Table(columns, body, f"best CV {label} first; test scores use held-out labels (scoring only); "
                                "test scores the submission (the fold models' average, or the blend); "
                                "1-model test is the fold models' mean alone, which is what CV estimates; "
                                "the gap is CV minus that (blends have no single models: no gap)")


def pairs_table(pairs: list[tuple[int, int, int, float]], class_names: Sequence[str], caption: str) -> Table:
    return Table(["true class", "predicted as", "count", "share of the true class"],
                 [[class_names[i], class_names[j], str(n), f"{share:.1%}"] for i, j, n, share in pairs], caption)


def per_class_table(class_names: Sequence[str], oof: dict[str, np.ndarray], test: dict[str, np.ndarray] | None) -> Table:
    columns = ["class", "train images", "OOF accuracy", "OOF precision", "OOF F1"]
    if test is not None:
        columns += ["test images", "test accuracy", "test F1"]
    rows = []
    for c, name in enumerate(class_names):
        row = [name, str(int(oof["support"][c])), fmt(oof["accuracy"][c]), fmt(oof["precision"][c]), fmt(oof["f1"][c])]
        if test is not None:
            row += [str(int(test["support"][c])), fmt(test["accuracy"][c]), fmt(test["f1"][c])]
        rows.append(row)
    return Table(columns, rows, "per-class accuracy is the share of the class's images predicted right (recall)", detail=True)


def blend_tables(manifest) -> list[Table]:
    """A blend's weights per input run and method, and each method's scores."""
    methods = manifest.blend.methods
    runs = manifest.blend.runs
    chosen = manifest.blend.method
    names = [row["method"] for row in methods]
    weights = Table(["input run"] + [n + (" (chosen)" if n == chosen else "") for n in names],
                    [[run] + [fmt(((row.get("details") or {}).get("weights") or {}).get(run), ".3f") for row in methods]
                     for run in runs],
                    "mean and rank: equal weights; hill: selection counts; stack: the level-2 model's mean |coefficient| per run")
    scores = Table(["method", "CV accuracy", "CV macro-F1", "test accuracy", "test macro-F1", "seconds"],
                   [[row["method"] + (" (chosen)" if row["method"] == chosen else ""),
                     fmt(row.get("accuracy_mean", row.get("oof_accuracy"))),
                     fmt(row.get("macro_f1_mean", row.get("oof_macro_f1"))), fmt((row.get("test") or {}).get("accuracy")),
                     fmt((row.get("test") or {}).get("macro_f1")), fmt(row.get("seconds"), ".2f")] for row in methods],
                   "every method scored on the same saved folds; CV is the mean over the folds, as on the leaderboard")
    return [weights, scores]


def sweep_stats(results: list[dict[str, Any]], values: list[Any], metric: str) -> dict[str, np.ndarray]:
    """Mean and std (ddof=1; 0 for one replicate) per swept value of the metric, macro-F1 and fit time."""
    out: dict[str, list] = {k: [] for k in ("n", "mean", "std", "f1_mean", "secs_mean", "secs_std")}
    for value in values:
        group = [r for r in results if r["value"] == value]
        acc = np.array([r[metric] for r in group], dtype=float)
        f1 = np.array([r.get("macro_f1", np.nan) for r in group], dtype=float)
        secs = np.array([r.get("fit_seconds", np.nan) for r in group], dtype=float)
        out["n"].append(len(group))
        out["mean"].append(acc.mean() if len(acc) else np.nan)
        out["std"].append(acc.std(ddof=1) if len(acc) > 1 else 0.0)
        out["f1_mean"].append(np.nanmean(f1) if len(f1) and not np.isnan(f1).all() else np.nan)
        out["secs_mean"].append(np.nanmean(secs) if len(secs) and not np.isnan(secs).all() else np.nan)
        out["secs_std"].append(np.nanstd(secs, ddof=1) if np.count_nonzero(~np.isnan(secs)) > 1 else 0.0)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def sweep_table(param: str, values: list[Any], stats: dict[str, np.ndarray], metric: str) -> Table:
    def num(x, spec=".4f"):
        return "-" if np.isnan(x) else format(x, spec)

    best = int(np.nanargmax(stats["mean"])) if not np.isnan(stats["mean"]).all() else -1
    rows = [[str(v) + (" (best)" if i == best else ""), str(int(stats["n"][i])), num(stats["mean"][i]), num(stats["std"][i]),
             num(stats["f1_mean"][i]), num(stats["secs_mean"][i], ".1f")] for i, v in enumerate(values)]
    return Table([param, "replicates", f"{metric} mean", f"{metric} std", "macro-F1 mean", "fit s mean"], rows)
