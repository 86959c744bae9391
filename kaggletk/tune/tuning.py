"""``run_tune``: an Optuna study over an adapter's search space, resumable and shareable by workers.

Several ``kaggletk tune`` processes (on one machine or many, given a shared storage such as
PostgreSQL) run the same study: each asks the storage for the next trial, and the study stops
when it holds ``trials`` finished (complete or pruned) trials.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kaggletk._io import write_json
from kaggletk.cv import prepare
from kaggletk.errors import KaggletkError
from kaggletk.params import tuned_path
from kaggletk.tune.objective import CvObjective
from kaggletk.tune.storage import default_storage_url, mask_url, open_storage
from kaggletk.workspace import Workspace, workspace

PRUNERS = ("median", "halving", "none")


class TuneReporter:
    """What ``run_tune`` tells its caller; the CLI prints a line per trial and a bar over trials."""

    def note(self, message: str) -> None:
        pass

    def start(self, total: int, done: int) -> None:
        pass

    def trial_end(self, trial, finished: int) -> None:
        pass


@dataclass
class TuneResult:
    study_name: str
    storage: str  # masked: no password
    best_value: float
    best_accuracy: float
    best_params: dict[str, Any]
    tuned_file: Any
    trials: list[dict[str, Any]] = field(default_factory=list)
    replicates: dict[str, Any] | None = None


def default_study_name(comp: str, model: str, view: str, variant: str) -> str:
    return f"{comp}-{model}-{view}" + ("" if variant == "full" else f"-{variant}")


def _pruner(name: str):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise KaggletkError(f"--pruner {name!r}: use one of {', '.join(PRUNERS)}")


def _finished(study) -> int:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def run_tune(comp: str, model: str, *, view: str | None = None, params: str | dict | None = None, trials: int = 20, timeout: float | None = None,
             n_folds_used: int | None = None, storage: str | None = None, study: str | None = None, device: str = "auto",
             data: str = "auto", seed: int | None = None, pruner: str = "median", replicates: int = 0,
             heartbeat_seconds: int = 60, reporter: TuneReporter | None = None, ws: Workspace | None = None) -> TuneResult:
    """Tune ``model`` on ``comp`` and save the best parameters for ``kaggletk cv --params tuned``.

    Parameters
    ----------
    params : str or dict, optional
        Fixed parameters (JSON, file or ``tuned``) under the searched ones, e.g. ``{"epochs": 10}``.
    trials : int
        Finished (complete or pruned) trials the study should hold; a rerun continues to this many.
    n_folds_used : int, optional
        Use only the first K saved folds per trial (default: all).
    storage : str, optional
        Optuna storage URL (default ``sqlite:///oof/<comp>/optuna.db``) or ``journal:PATH``.
    replicates : int
        Re-run the best parameters with this many seeds and report mean ± std.
    """
    import optuna

    ws = ws or workspace()
    reporter = reporter or TuneReporter()
    if trials < 1:
        raise KaggletkError(f"--trials {trials}: must be at least 1")
    setup = prepare(comp, model, view=view, params=params, device=device, data=data, ws=ws, notify=reporter.note)
    k = n_folds_used or setup.folds.n_splits
    if not 1 <= k <= setup.folds.n_splits:
        raise KaggletkError(f"--folds {k}: the saved folds have {setup.folds.n_splits}; use 1..{setup.folds.n_splits}")
    fold_ids = list(range(k))
    url = storage or default_storage_url(comp, ws)
    name = study or default_study_name(comp, model, setup.view, setup.dataset.variant)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    the_study = optuna.create_study(storage=open_storage(url, heartbeat_seconds), study_name=name, direction="minimize",
                                    load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=seed), pruner=_pruner(pruner))
    identity = {"competition": comp, "model": model, "view": setup.view, "data_fingerprint": setup.dataset.fingerprint,
                "fold_hash": setup.folds.hash, "folds_used": k}
    existing = {key: the_study.user_attrs.get(key) for key in identity}
    if all(v is None for v in existing.values()):
        for key, value in identity.items():
            the_study.set_user_attr(key, value)
    elif existing != identity:
        differing = ", ".join(f"{key} {existing[key]} != {identity[key]}" for key in identity if existing[key] != identity[key])
        raise KaggletkError(f"study {name} was made with other settings ({differing}); use another --study name")

    objective = CvObjective(setup, fold_ids, seed=0, base_params=setup.params)
    done = _finished(the_study)
    reporter.start(trials, done)

    def on_trial(study_, trial) -> None:
        reporter.trial_end(trial, _finished(study_))

    if done < trials:
        the_study.optimize(objective, n_trials=trials - done, timeout=timeout,
                           callbacks=[optuna.study.MaxTrialsCallback(trials, states=(optuna.trial.TrialState.COMPLETE,
                                                                                     optuna.trial.TrialState.PRUNED)), on_trial],
                           gc_after_trial=True)
    else:
        reporter.note(f"study {name} already holds {done} finished trials (asked for {trials}); nothing to run")
    completed = [t for t in the_study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise KaggletkError(f"study {name} has no completed trial yet; run more trials (--trials) or a longer --timeout")
    best = the_study.best_trial
    best_params = objective.params_for(optuna.trial.FixedTrial(best.params))
    result = TuneResult(study_name=name, storage=mask_url(url), best_value=best.value,
                        best_accuracy=1.0 - best.value, best_params=best_params, tuned_file=None,
                        trials=[_trial_row(t) for t in sorted(completed, key=lambda t: t.value)[:10]])
    if replicates > 0:
        runs = [objective.evaluate(best_params, seed) for seed in range(replicates)]
        accs = np.array([r["accuracy"] for r in runs])
        result.replicates = {"seeds": list(range(replicates)), "accuracy": accs.tolist(), "mean": float(accs.mean()),
                             "std": float(accs.std(ddof=1)) if replicates > 1 else 0.0}
    path = tuned_path(comp, model, ws, setup.dataset.variant)
    write_json(path, {"model": model, "view": setup.view, "params": best_params, "cv_accuracy": result.best_accuracy,
                      "folds_used": k, "fold_hash": setup.folds.hash, "data": setup.dataset.variant, "study": name,
                      "storage": result.storage, "trial": best.number, "n_trials": len(the_study.trials),
                      "replicates": result.replicates, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    result.tuned_file = path
    return result


def _trial_row(trial) -> dict[str, Any]:
    return {"number": trial.number, "accuracy": 1.0 - trial.value if trial.value is not None else None,
            "params": dict(trial.params), "seconds": trial.user_attrs.get("wall_seconds")}
