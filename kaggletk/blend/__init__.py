"""Blending and stacking of OOF predictions; one file per method, all scored on the same folds.

``run_blend`` loads complete runs that share one fold hash, applies each method, scores every
method's out-of-fold predictions side by side, keeps the best (``auto``) or the one asked for,
and stores the result in the OOF store like any run, with its submission file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaggletk.blend._base import BlendInput, BlendMethod, BlendOutput, check_combinable
from kaggletk.blend.hill import HillClimbBlend
from kaggletk.blend.mean import MeanBlend
from kaggletk.blend.rank import RankBlend
from kaggletk.blend.stack import StackBlend
from kaggletk.cv import holdout_score, library_versions
from kaggletk.data import load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import load_folds
from kaggletk.metrics import score
from kaggletk.store import RUN_FORMAT, Run, list_runs, load_run, run_folder, run_lock, save_final, save_manifest
from kaggletk.workspace import Workspace, check_name, workspace

METHODS = ("mean", "rank", "hill", "stack")


def make_method(name: str, stacker: str = "logreg", log_odds: bool = False) -> BlendMethod:
    if name == "mean":
        return MeanBlend()
    if name == "rank":
        return RankBlend()
    if name == "hill":
        return HillClimbBlend()
    if name == "stack":
        return StackBlend(stacker=stacker, log_odds=log_odds)
    raise KaggletkError(f"--method {name!r}: use auto or one of {', '.join(METHODS)}")


@dataclass
class BlendResult:
    run: Run
    table: list[dict[str, Any]]  # one row per method, then per input run: method, oof accuracy/macro_f1, test, seconds, details
    chosen: str

    @property
    def best_single(self) -> dict[str, Any] | None:
        """The input run with the best OOF accuracy (its table row, with ``run`` set), or None."""
        singles = [row for row in self.table if row.get("run")]
        return max(singles, key=lambda row: row["oof_accuracy"]) if singles else None


def select_runs(comp: str, names: list[str] | None, data: str = "auto", ws: Workspace | None = None,
                notify=None) -> list[Run]:
    """The runs to blend: the named ones, or every complete model run on the current data's folds."""
    if names:
        return [load_run(comp, n, ws) for n in names]
    dataset = load_dataset(comp, data, ws, notify=notify)
    runs = [r for r in list_runs(comp, ws) if r.manifest.get("kind") == "model"
            and r.manifest.get("data_fingerprint") == dataset.fingerprint]
    if not runs:
        raise KaggletkError(f"no runs of {comp} on the {dataset.variant} data to blend; run `kaggletk cv {comp} --model ...` first")
    by_hash: dict[str, list[Run]] = {}
    for run in runs:
        by_hash.setdefault(run.fold_hash, []).append(run)
    folds_hash = load_folds(dataset, ws=ws).hash
    chosen = by_hash.get(folds_hash) or max(by_hash.values(), key=len)
    skipped = [r.name for r in runs if r not in chosen or not r.complete]
    if skipped and notify is not None:
        notify(f"--all leaves out runs that are partial or on other folds: {', '.join(skipped)}")
    complete = [r for r in chosen if r.complete]
    if not complete:
        raise KaggletkError(f"no complete runs of {comp} to blend; finish one with `kaggletk cv`")
    return complete


def run_blend(comp: str, runs: list[str] | None = None, *, method: str = "auto", name: str | None = None,
              data: str = "auto", stacker: str = "logreg", log_odds: bool = False, ws: Workspace | None = None,
              notify=None) -> BlendResult:
    """Blend runs of ``comp`` and store the result as run ``name`` (default ``blend-<method>``).

    Every method is scored on the same saved folds; learned methods (``hill``, ``stack``) are
    fitted inside those folds, so the OOF scores compared here are honest. ``auto`` runs every
    method and keeps the best OOF accuracy. Held-out test labels, when present, are scored for
    the report only and never influence the choice.
    """
    ws = ws or workspace()
    selected = select_runs(comp, runs, data, ws, notify)
    check_combinable(selected)
    first = selected[0].manifest
    dataset = load_dataset(comp, first["data"], ws)
    if dataset.fingerprint != first["data_fingerprint"]:
        raise KaggletkError(f"run {selected[0].name} was made on other data than the current {first['data']} cache; rerun it")
    folds = load_folds(dataset, first["fold_scheme"], first["n_folds"], first.get("fold_seed"), ws)
    if folds.hash != first["fold_hash"]:
        raise KaggletkError(f"saved folds {folds.hash} differ from the runs' folds {first['fold_hash']}; rerun the runs")
    n_classes = dataset.competition.n_classes
    oof = np.stack([r.oof() for r in selected])
    test = np.stack([r.test() for r in selected])
    if oof.shape[2] != n_classes:
        raise KaggletkError(f"runs have {oof.shape[2]} classes but {comp} has {n_classes}")
    data_in = BlendInput(selected, oof, test, dataset.y, folds)

    methods = list(METHODS) if method == "auto" else [method]
    table, outputs = [], {}
    for m in methods:
        start = time.perf_counter()
        output = make_method(m, stacker, log_odds).blend(data_in)
        seconds = time.perf_counter() - start
        outputs[m] = output
        oof_score = score(dataset.y, output.oof)
        table.append({"method": m, "oof_accuracy": oof_score["accuracy"], "oof_macro_f1": oof_score["macro_f1"],
                      "test": holdout_score(dataset, output.test), "seconds": seconds, "details": output.details})
    chosen = max(table, key=lambda row: (row["oof_accuracy"], row["oof_macro_f1"]))["method"]
    blend_name = check_name(name or f"blend-{method}" + ("-sample" if dataset.variant == "sample" else ""), "run name")
    if blend_name in {r.name for r in selected}:
        raise KaggletkError(f"--name {blend_name}: a blend cannot overwrite one of its own input runs")
    run = _store(comp, blend_name, method, chosen, outputs[chosen], table, selected, dataset, folds, ws)
    singles = [{"method": f"run {r.name}", "run": r.name, "oof_accuracy": r.manifest["cv"]["oof_accuracy"],
                "oof_macro_f1": r.manifest["cv"]["oof_macro_f1"], "test": r.manifest.get("test"), "seconds": 0.0,
                "details": {}} for r in selected]
    return BlendResult(run, table + singles, chosen)


def _store(comp, name, requested, chosen, output: BlendOutput, table, selected, dataset, folds, ws) -> Run:
    folder = run_folder(comp, name, ws)
    with run_lock(folder):
        for old in folder.glob("*.npy"):
            old.unlink()
        per_fold = {}
        for f in range(folds.n_splits):
            _, held = folds.split(f)
            per_fold[str(f)] = score(dataset.y[held], output.oof[held])
        acc = np.array([v["accuracy"] for v in per_fold.values()])
        f1 = np.array([v["macro_f1"] for v in per_fold.values()])
        overall = score(dataset.y, output.oof)
        manifest = {
            "format": RUN_FORMAT, "run": name, "competition": comp, "kind": "blend", "method": chosen,
            "requested_method": requested, "model": f"blend:{chosen}", "view": "-", "runs": [r.name for r in selected],
            "run_hashes": {r.name: r.fold_hash for r in selected}, "details": output.details,
            "methods": [{k: v for k, v in row.items()} for row in table],
            "data": dataset.variant, "data_fingerprint": dataset.fingerprint, "fold_scheme": folds.scheme,
            "n_folds": folds.n_splits, "fold_seed": folds.seed, "fold_hash": folds.hash, "folds": per_fold,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": library_versions(),
        }
        manifest["files"] = save_final(folder, output.oof, output.test)
        manifest["cv"] = {"accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)),
                          "macro_f1_mean": float(f1.mean()), "macro_f1_std": float(f1.std(ddof=1)),
                          "oof_accuracy": overall["accuracy"], "oof_macro_f1": overall["macro_f1"],
                          "fit_seconds": float(sum(row["seconds"] for row in table))}
        manifest["test"] = holdout_score(dataset, output.test)
        manifest["status"] = "complete"
        save_manifest(folder, manifest)
    return load_run(comp, name, ws)


__all__ = ["METHODS", "BlendResult", "make_method", "run_blend", "select_runs"]
