"""``run_sweep``: one parameter over a grid of values, each with several seeds (replicates).

The course's "3 replicates per setting" experiment. Results are saved, one record per (value,
seed), to ``oof/<comp>/sweeps/<name>.json`` as they finish, so an interrupted sweep resumes; the
report draws them as mean ± std error bars.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kaggletk._io import read_json, write_json
from kaggletk.callbacks import Callback, CallbackList, TrialInfo
from kaggletk.cv import CvRequest, prepare, resolve_model_params
from kaggletk.errors import KaggletkError
from kaggletk.tune._objective import CvObjective
from kaggletk.workspace import Workspace, check_name, workspace


def parse_values(text: str) -> list[Any]:
    """``"0.1,0.2"`` -> [0.1, 0.2]; items are JSON scalars (numbers, true/false) or plain strings."""
    values = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            value = json.loads(item)
        except json.JSONDecodeError:
            value = item
        values.append(value)
    if not values:
        raise KaggletkError("--values: give at least one value, e.g. --values 0.1,0.2,0.3")
    return values


@dataclass
class SweepResult:
    path: Any
    summary: list[dict[str, Any]]  # per value: value, mean, std, n


def run_sweep(request: CvRequest, param: str, values: list[Any], *, replicates: int = 3, n_folds_used: int = 1,
              name: str | None = None, callbacks: Sequence[Callback] = (), ws: Workspace | None = None) -> SweepResult:
    """Train ``request.model`` for each value of ``param`` with ``replicates`` seeds on the first ``n_folds_used`` folds.

    Scores are in the competition's metric (accuracy and macro-F1 beside it). Each (value, seed)
    is saved as it finishes, so an interrupted sweep resumes where it stopped.
    """
    ws = ws or workspace()
    observers = CallbackList(callbacks)
    if replicates < 1:
        raise KaggletkError(f"--replicates {replicates}: must be at least 1")
    setup = prepare(request, ws, observers.callbacks)
    comp, model = request.competition, request.model
    if not 1 <= n_folds_used <= setup.folds.n_splits:
        raise KaggletkError(f"--folds {n_folds_used}: the saved folds have {setup.folds.n_splits}")
    for value in values:  # every value type-checked before any training
        resolve_model_params(setup.dataset.competition, setup.model_cls, {**setup.params, param: value})
    sweep_name = check_name(name or f"{model}-{setup.view}-{param}" + ("" if setup.dataset.variant == "full" else "-sample"), "sweep name")
    path = ws.comp_oof_dir(comp) / "sweeps" / f"{sweep_name}.json"
    objective = CvObjective(setup, list(range(n_folds_used)))
    metric = objective.metric.name
    identity = {"model": model, "view": setup.view, "param": param, "fold_hash": setup.folds.hash, "folds_used": n_folds_used,
                "base_params": setup.params}
    record = read_json(path) if path.exists() else None
    if record is not None and any(record.get(k) != v for k, v in identity.items()):
        raise KaggletkError(f"{path}: a sweep with other settings exists; use another --name")
    if record is None:
        record = {**identity, "metric": metric, "values": [], "replicates": replicates, "data": setup.dataset.variant,
                  "results": []}
    record["values"] = list(dict.fromkeys([*record["values"], *values]))
    record["replicates"] = max(record.get("replicates", 0), replicates)
    done = {(json.dumps(r["value"]), r["seed"]) for r in record["results"]}
    observers.on_trials_begin(len(values) * replicates, len(done))
    for value in values:
        run_params = resolve_model_params(setup.dataset.competition, setup.model_cls, {**setup.params, param: value})
        for seed in range(replicates):
            if (json.dumps(value), seed) in done:
                continue
            outcome = objective.evaluate(run_params, seed)
            row = {"value": value, "seed": seed, "fit_seconds": outcome["fit_seconds"],
                   **{m: outcome[m] for m in {metric, "accuracy", "macro_f1"}}}
            record["results"].append(row)
            write_json(path, record)
            observers.on_trial_end(TrialInfo(len(record["results"]) - 1, "complete", {param: value, "seed": seed}, metric,
                                             outcome["score"], seconds=outcome["fit_seconds"], finished=len(record["results"])))
    write_json(path, record)
    return SweepResult(path, summarise(record))


def summarise(record: dict[str, Any]) -> list[dict[str, Any]]:
    summary = []
    for value in record["values"]:
        accs = np.array([r[record.get("metric", "accuracy")] for r in record["results"] if r["value"] == value])
        if len(accs):
            summary.append({"value": value, "mean": float(accs.mean()), "std": float(accs.std(ddof=1)) if len(accs) > 1 else 0.0,
                            "n": int(len(accs))})
    return summary
