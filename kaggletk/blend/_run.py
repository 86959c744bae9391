"""``run_blend``: combine complete runs that share one fold hash, score every method side by side, keep one.

Every method is scored on the same saved folds; learned methods (``hill``, ``stack``) are fitted
inside those folds, so the OOF scores compared are honest. The blend is stored in the OOF store
like any run (same manifest, same summary code), and its submission written beside.
"""

from __future__ import annotations

import hashlib
import inspect
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaggletk._io import write_bytes
from kaggletk._versions import library_versions
from kaggletk.blend._base import BlendInput, BlendMethod, check_combinable
from kaggletk.callbacks import Callback, CallbackList
from kaggletk.data import load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import load_folds
from kaggletk.metrics import get_metric, score
from kaggletk.store import (BlendInfo, Run, RunManifest, fold_scores, holdout_score, list_runs, load_run, run_folder, run_lock,
                            save_final, summarise)
from kaggletk.workspace import Workspace, check_name, workspace


@dataclass
class BlendResult:
    """The stored blend, one table row per method then per input run, and the method kept."""

    run: Run
    # method, cv (every metric's mean over the folds, as the leaderboard gives it), oof (on the pooled OOF matrix),
    # test (TestScore or None), seconds, details; input runs have ``run``
    table: list[dict[str, Any]]
    chosen: str
    metric: str

    @property
    def best_single(self) -> dict[str, Any] | None:
        """The input run with the best OOF score in the competition's metric (its table row), or None."""
        singles = [row for row in self.table if row.get("run")]
        if not singles:
            return None
        metric = get_metric(self.metric)
        return max(singles, key=lambda row: metric.key(row["cv"][self.metric]))


def make_method(name: str, **options: Any) -> BlendMethod:
    """A blend method by name; options it does not take (``stacker`` for ``mean``) are ignored."""
    from kaggletk.blend import BLEND_METHODS

    cls = BLEND_METHODS.get(name)
    accepted = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in options.items() if k in accepted})


def select_runs(comp: str, names: list[str] | None, data: str = "auto", ws: Workspace | None = None,
                callbacks: Sequence[Callback] = ()) -> list[Run]:
    """The runs to blend: the named ones, or every complete model run on the current data's folds."""
    if names:
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise KaggletkError(f"--runs lists {twice[0]} twice; name each run once")
        if len(names) < 2:
            raise KaggletkError(f"--runs {','.join(names)}: a blend needs at least two runs; add another, or predict with "
                                f"this one (`kaggletk predict {comp} --run {names[0] if names else 'RUN'}`)")
        return [load_run(comp, n, ws) for n in names]
    observers = CallbackList(callbacks)
    dataset = load_dataset(comp, data, ws, callbacks=callbacks)
    every = [r for r in list_runs(comp, ws) if r.manifest.kind == "model"]
    runs = [r for r in every if r.manifest.data_fingerprint == dataset.fingerprint]
    if not runs:
        others = sorted({r.manifest.data for r in every} - {dataset.variant})
        hint = (f" ({sum(r.manifest.data == others[0] for r in every)} run(s) on the {others[0]} data: add --data {others[0]})"
                if others else f"; run `kaggletk cv {comp} --model ...` first")
        raise KaggletkError(f"no runs of {comp} on the {dataset.variant} data to blend{hint}")
    by_hash: dict[str, list[Run]] = {}
    for run in runs:
        by_hash.setdefault(run.fold_hash, []).append(run)
    folds_hash = load_folds(dataset, ws=ws).hash
    chosen = by_hash.get(folds_hash) or max(by_hash.values(), key=len)
    skipped = [r.name for r in runs if r not in chosen or not r.complete]
    if skipped:
        observers.on_note(f"--all leaves out runs that are partial or on other folds: {', '.join(skipped)}")
    complete = [r for r in chosen if r.complete]
    if not complete:
        raise KaggletkError(f"no complete runs of {comp} to blend; finish one with `kaggletk cv`")
    return complete


def run_blend(comp: str, runs: list[str] | None = None, *, method: str = "auto", name: str | None = None,
              data: str = "auto", stacker: str = "logreg", log_odds: bool = False, ws: Workspace | None = None,
              callbacks: Sequence[Callback] = ()) -> BlendResult:
    """Blend runs of ``comp`` and store the result as run ``name`` (default ``blend-<method>[-sample]``).

    ``auto`` runs every method and keeps the best OOF score in the competition's metric. Held-out
    test labels, when present, are scored for the report only and never influence the choice.
    """
    from kaggletk.blend import BLEND_METHODS

    ws = ws or workspace()
    methods = list(BLEND_METHODS) if method == "auto" else [BLEND_METHODS.get(method).name]
    selected = select_runs(comp, runs, data, ws, callbacks)
    check_combinable(selected)
    first = selected[0].manifest
    dataset = load_dataset(comp, first.data, ws)
    if dataset.fingerprint != first.data_fingerprint:
        raise KaggletkError(f"run {selected[0].name} was made on other data than the current {first.data} cache; rerun it")
    folds = load_folds(dataset, first.fold_scheme, first.n_folds, first.fold_seed, ws)
    if folds.hash != first.fold_hash:
        raise KaggletkError(f"saved folds {folds.hash} differ from the runs' folds {first.fold_hash}; rerun the runs")
    metric = get_metric(dataset.competition.metric)
    oof = np.stack([r.oof() for r in selected])
    test = np.stack([r.test() for r in selected])
    if oof.shape[2] != dataset.competition.n_classes:
        raise KaggletkError(f"runs have {oof.shape[2]} classes but {comp} has {dataset.competition.n_classes}")
    data_in = BlendInput(selected, oof, test, dataset.y, folds, metric)

    table, outputs = [], {}
    observers = CallbackList(callbacks)
    for m in methods:
        how = (f" (a level-2 {stacker} fitted in each of the {folds.n_splits} folds)" if m == "stack"
               else f" (weights chosen in each of the {folds.n_splits} folds)" if m == "hill" else "")
        observers.on_note(f"blending {len(selected)} runs with {m}{how}")
        start = time.perf_counter()
        output = make_method(m, stacker=stacker, log_odds=log_odds).blend(data_in)
        outputs[m] = output
        table.append({"method": m, "cv": fold_scores(dataset.y, output.oof, folds)[0], "oof": score(dataset.y, output.oof),
                      "test": holdout_score(dataset, output.test), "seconds": time.perf_counter() - start,
                      "details": output.details})
    chosen = max(table, key=lambda row: (metric.key(row["cv"][metric.name]), row["cv"]["accuracy"]))["method"]
    blend_name = check_name(name or f"blend-{method}" + ("-sample" if dataset.variant == "sample" else ""), "run name")
    if blend_name in {r.name for r in selected}:
        raise KaggletkError(f"--name {blend_name}: a blend cannot overwrite one of its own input runs")
    manifest = RunManifest(
        run=blend_name, competition=comp, kind="blend", model=f"blend:{chosen}", view="-", data=dataset.variant,
        data_fingerprint=dataset.fingerprint, fold_scheme=folds.scheme, n_folds=folds.n_splits, fold_seed=folds.seed,
        fold_hash=folds.hash, metric=metric.name, step_unit="", status="complete", versions=library_versions(),
        host=platform.node(),
        blend=BlendInfo(chosen, method, [r.name for r in selected], {r.name: r.fold_hash for r in selected},
                        outputs[chosen].details, [_json_row(row) for row in table]),
    )
    summarise(manifest, dataset, folds, outputs[chosen].oof, outputs[chosen].test,
              fit_seconds=sum(row["seconds"] for row in table))
    folder = run_folder(comp, blend_name, ws)
    with run_lock(folder):
        files = {}
        for file_name, data in outputs[chosen].files.items():  # the level-2 models, before the manifest that names them
            write_bytes(folder / file_name, data)
            files[file_name] = hashlib.sha256(data).hexdigest()
        manifest.blend.details = {**manifest.blend.details, "files": files}
        save_final(folder, manifest, {"oof": outputs[chosen].oof, "test": outputs[chosen].test})
        for stale in folder.glob("stack-*"):  # level-2 models of an earlier blend of this name
            if stale.name not in files:
                stale.unlink(missing_ok=True)
    singles = [{"method": f"run {r.name}", "run": r.name, "cv": r.manifest.cv.mean, "oof": r.manifest.cv.oof,
                "test": r.manifest.test, "seconds": 0.0, "details": {}} for r in selected]
    return BlendResult(load_run(comp, blend_name, ws), table + singles, chosen, metric.name)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"method": row["method"], **{f"{k}_mean": v for k, v in row["cv"].items()}, **{f"oof_{k}": v for k, v in row["oof"].items()},
            "test": row["test"].to_json() if row["test"] else None, "seconds": row["seconds"], "details": row["details"]}
