"""``run_tune``: an Optuna study over an adapter's search space, resumable and shareable by workers.

Several ``kaggletk tune`` processes (on one machine or many, given a shared storage such as
PostgreSQL) run the same study: each asks the storage for the next trial, and the study stops
when it holds ``trials`` finished (complete or pruned) trials. The best parameters are saved under
``oof/<comp>/tuned/`` (never over the files a project ships in ``competitions/<comp>/tuned/``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk._io import write_json
from kaggletk._registry import Registry
from kaggletk.callbacks import Callback, CallbackList, TrialInfo
from kaggletk.cv import CvRequest, prepare
from kaggletk.errors import KaggletkError
from kaggletk.params import user_tuned_path
from kaggletk.tune._objective import FOLD_STEP, CvObjective
from kaggletk.tune._storage import default_storage_url, mask_url, open_storage
from kaggletk.workspace import Workspace, workspace


def _median():
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)


def _halving():
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner()


def _none():
    import optuna

    return optuna.pruners.NopPruner()


PRUNERS: Registry = Registry("pruner", "--pruner")
PRUNERS.register("median", _median)
PRUNERS.register("halving", _halving)
PRUNERS.register("none", _none)


@dataclass(frozen=True)
class TuneOptions:
    """How to search: trial count, time limit, folds per trial, storage, study, pruner, replicates.

    Parameters
    ----------
    trials : int
        Finished (complete or pruned) trials the study should hold; a rerun continues to this many.
    timeout : float, optional
        Stop starting trials after this many seconds.
    n_folds_used : int, optional
        Use only the first K saved folds per trial (default: all).
    storage : str, optional
        Optuna storage URL (default ``sqlite:///oof/<comp>/optuna.db``) or ``journal:PATH``.
    study : str, optional
        Study name (default ``<comp>-<model>-<view>[-sample]``).
    pruner : {"median", "halving", "none"}
    sampler_seed : int, optional
        Seed of the TPE sampler (reproducible single-worker studies).
    replicates : int
        Re-run the best parameters with this many seeds and report mean ± std.
    heartbeat_seconds : int
        A killed worker's trial is marked failed (and retried) after two heartbeats.
    """

    trials: int = 20
    timeout: float | None = None
    n_folds_used: int | None = None
    storage: str | None = None
    study: str | None = None
    pruner: str = "median"
    sampler_seed: int | None = None
    replicates: int = 0
    heartbeat_seconds: int = 60


@dataclass
class TuneResult:
    study_name: str
    storage: str  # masked: no password
    metric: str
    best_value: float  # the study's objective (CV error)
    best_score: float  # the best trial's CV score in ``metric``
    best_params: dict[str, Any]
    tuned_file: Path | None
    trials: list[dict[str, Any]] = field(default_factory=list)
    replicates: dict[str, Any] | None = None


def default_study_name(comp: str, model: str, view: str, variant: str) -> str:
    return f"{comp}-{model}-{view}" + ("" if variant == "full" else f"-{variant}")


def _finished(study) -> int:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def trial_info(trial, metric, finished: int) -> TrialInfo:
    """A finished Optuna trial as the observers see it (score in the metric; where a pruned one stopped)."""
    score = trial.user_attrs.get("score")
    detail = ""
    if score is None and trial.intermediate_values:
        step = max(trial.intermediate_values)
        value = trial.intermediate_values[step]
        if step >= FOLD_STEP:
            score, detail = (1.0 - value if metric.greater_is_better else value), f"after {step - FOLD_STEP + 1} fold(s)"
        else:
            detail = f"validation loss {value:.4f} at epoch/round {step} of the first fold"
    return TrialInfo(trial.number, trial.state.name.lower(), dict(trial.params), metric.name, score, detail,
                     trial.user_attrs.get("wall_seconds"), finished)


class Optimizer(ABC):
    """Where a study's trials run: in this process (``LocalOptimizer``), or on Ray actors (``kaggletk.tune._ray.RayOptimizer``)."""

    @abstractmethod
    def optimize(self, study, objective: CvObjective, n_trials: int, options: TuneOptions, url: str,
                 on_trial: Callable[[Any, Any], None]) -> None:
        """Run ``n_trials`` more trials of ``study`` (stored at ``url``), fewer if ``options.timeout`` passes first.

        ``on_trial(study, trial)`` is called in this process for each trial that finishes.
        """


class LocalOptimizer(Optimizer):
    """Trials one after another in this process; other processes sharing the storage may run the same study."""

    def optimize(self, study, objective, n_trials, options, url, on_trial):
        import optuna

        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        study.optimize(objective, n_trials=n_trials, timeout=options.timeout,
                       callbacks=[optuna.study.MaxTrialsCallback(options.trials, states=states), on_trial], gc_after_trial=True)


def run_tune(request: CvRequest, options: TuneOptions = TuneOptions(), *, callbacks: Sequence[Callback] = (),
             optimizer: Optimizer | None = None, ws: Workspace | None = None) -> TuneResult:
    """Tune ``request.model`` on ``request.competition``; save the best parameters for ``kaggletk cv --params tuned``.

    ``request.params`` are fixed parameters under the searched ones (e.g. ``{"epochs": 10}``).
    ``optimizer`` runs the trials (default: in this process; ``RayOptimizer``: workers on a Ray cluster).
    """
    import optuna

    ws = ws or workspace()
    observers = CallbackList(callbacks)
    if options.trials < 1:
        raise KaggletkError(f"--trials {options.trials}: must be at least 1")
    if options.timeout is not None and not options.timeout > 0:
        raise KaggletkError(f"--timeout {options.timeout:g}: give a positive number of seconds, or leave it out (no limit)")
    if options.replicates < 0:
        raise KaggletkError(f"--replicates {options.replicates}: must be 0 or more")
    pruner = PRUNERS.get(options.pruner)()
    setup = prepare(request, ws, observers.callbacks)
    comp = request.competition
    k = options.n_folds_used or setup.folds.n_splits
    if not 1 <= k <= setup.folds.n_splits:
        raise KaggletkError(f"--folds {k}: the saved folds have {setup.folds.n_splits}; use 1..{setup.folds.n_splits}")
    url = options.storage or default_storage_url(comp, ws)
    name = options.study or default_study_name(comp, request.model, setup.view, setup.dataset.variant)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    the_study = optuna.create_study(storage=open_storage(url, options.heartbeat_seconds), study_name=name, direction="minimize",
                                    load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=options.sampler_seed),
                                    pruner=pruner)
    objective = CvObjective(setup, list(range(k)), seed=0, base_params=setup.params)
    identity = {"competition": comp, "model": request.model, "view": setup.view, "data_fingerprint": setup.dataset.fingerprint,
                "fold_hash": setup.folds.hash, "folds_used": k, "metric": objective.metric.name}
    existing = {key: the_study.user_attrs.get(key) for key in identity}
    if existing.get("metric") is None and existing.get("model") is not None and existing.get("folds_used") is not None:
        existing["metric"] = "accuracy"  # studies made before the metric was recorded tuned accuracy
    # Another worker may be writing these one by one right now: a value not yet there is not a difference.
    differing = ", ".join(f"{key} {existing[key]} != {identity[key]}" for key in identity
                          if existing[key] is not None and existing[key] != identity[key])
    if differing:
        raise KaggletkError(f"study {name} was made with other settings ({differing}); use another --study name")
    for key, value in identity.items():
        if existing[key] is None:
            the_study.set_user_attr(key, value)

    done = _finished(the_study)
    observers.on_trials_begin(options.trials, done)

    def on_trial(study_, trial) -> None:
        observers.on_trial_end(trial_info(trial, objective.metric, _finished(study_)))

    if done < options.trials:
        (optimizer or LocalOptimizer()).optimize(the_study, objective, options.trials - done, options, url, on_trial)
    else:
        observers.on_note(f"study {name} already holds {done} finished trials (asked for {options.trials}); nothing to run")
    completed = [t for t in the_study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise KaggletkError(f"study {name} has no completed trial yet; run more trials (--trials) or a longer --timeout")
    best = the_study.best_trial
    best_params = objective.params_for(optuna.trial.FixedTrial(best.params))
    best_score = best.user_attrs.get("score", 1.0 - best.value if objective.metric.greater_is_better else best.value)
    result = TuneResult(study_name=name, storage=mask_url(url), metric=objective.metric.name, best_value=best.value,
                        best_score=best_score, best_params=best_params, tuned_file=None,
                        trials=[_trial_row(t, objective.metric) for t in sorted(completed, key=lambda t: t.value)[:10]])
    if options.replicates > 0:
        scores = np.array([objective.evaluate(best_params, seed)["score"] for seed in range(options.replicates)])
        result.replicates = {"seeds": list(range(options.replicates)), "scores": scores.tolist(), "mean": float(scores.mean()),
                             "std": float(scores.std(ddof=1)) if options.replicates > 1 else 0.0, "metric": objective.metric.name}
    path = user_tuned_path(comp, request.model, ws, setup.dataset.variant)
    write_json(path, {"model": request.model, "view": setup.view, "params": best_params, "metric": objective.metric.name,
                      "cv_score": best_score, "folds_used": k, "fold_hash": setup.folds.hash, "data": setup.dataset.variant,
                      "study": name, "storage": result.storage, "trial": best.number, "n_trials": len(the_study.trials),
                      "replicates": result.replicates, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    result.tuned_file = path
    return result


def _trial_row(trial, metric) -> dict[str, Any]:
    score = trial.user_attrs.get("score")
    if score is None and trial.value is not None:
        score = 1.0 - trial.value if metric.greater_is_better else trial.value
    return {"number": trial.number, "score": score, "params": dict(trial.params), "seconds": trial.user_attrs.get("wall_seconds")}
