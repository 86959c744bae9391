"""``run_cv`` and ``run_grid``: train one model per fold over the saved folds, writing each fold as it finishes.

``run_grid`` opens every run of a grid of requests first (each request validated, each run's lock
taken by this process), hands all their missing folds to one executor at once, writes each fold
into its run as it returns, then finishes every run; ``run_cv`` is the grid of one request. An
interrupted run resumes at the first missing fold; a fold file that fails its checksum is trained
again; when every fold is there, the out-of-fold and test matrices are assembled (again, if a
final array was lost or changed) and scored.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk._faults import crash_point
from kaggletk._io import sha256_file, write_bytes, write_json
from kaggletk._versions import library_versions
from kaggletk.callbacks import Callback, CallbackList, RunInfo
from kaggletk.cv._executor import Executor, RunJob, SerialExecutor
from kaggletk.cv._fold import FoldOutcome
from kaggletk.cv._pseudo import pseudo_marker
from kaggletk.cv._request import CvRequest, RunSetup, prepare
from kaggletk.errors import KaggletkError
from kaggletk.store import (FoldEntry, Run, RunManifest, load_run, read_manifest, run_folder, run_lock, save_final, save_fold,
                            save_manifest, summarise)
from kaggletk.workspace import Workspace, workspace


@dataclass
class CvResult:
    """The stored run (complete when every fold is done) and what this call did."""

    run: Run
    ran_folds: list[int] = field(default_factory=list)
    skipped_folds: list[int] = field(default_factory=list)


def run_cv(request: CvRequest, *, fold: int | None = None, overwrite: bool = False, callbacks: Sequence[Any] = (),
           executor: Executor | None = None, ws: Workspace | None = None) -> CvResult:
    """Cross-validate ``request.model`` on ``request.competition`` and store its OOF and test predictions.

    Parameters
    ----------
    request : CvRequest
    fold : int, optional
        Train only this fold (spread folds over machines); the run completes when all are there.
    overwrite : bool
        Discard an existing run of the same name (same or other settings) and train its folds again.
    callbacks : sequence
        kaggletk ``Callback`` objects (run, fold and step events) and native callbacks of the model's
        library (Keras, XGBoost, LightGBM), passed to every fold's fit.
    executor : Executor, optional
        Where folds train; default one after another in this process.

    Returns
    -------
    CvResult with the stored ``Run``.
    """
    return run_grid([request], fold=fold, overwrite=overwrite, callbacks=[callbacks], executor=executor, ws=ws)[0]


def run_grid(requests: Sequence[CvRequest], *, fold: int | None = None, overwrite: bool = False,
             callbacks: Sequence[Sequence[Any]] = (), executor: Executor | None = None,
             ws: Workspace | None = None) -> list[CvResult]:
    """Cross-validate several requests (models x views) as one grid: every missing fold of every run at once.

    Every request is validated before any training, and each run is held (its lock taken by this
    process) for the whole call. With a ``RayExecutor`` the folds of all runs train concurrently on
    the cluster; with the default they train one after another, run by run.

    Parameters
    ----------
    requests : sequence of CvRequest
        One run each; two requests may not name the same run.
    fold : int, optional
        Train only this fold of each run.
    overwrite : bool
        Discard existing runs of the same names and train their folds again.
    callbacks : sequence of sequences, optional
        ``callbacks[i]`` observe run ``i`` (as ``run_cv``'s ``callbacks``); default none.
    executor : Executor, optional
        Where folds train; default one after another in this process.

    Returns
    -------
    list of CvResult, one per request, in order.
    """
    ws = ws or workspace()
    per_run = list(callbacks) or [()] * len(requests)
    if len(per_run) != len(requests):
        raise ValueError(f"callbacks: give one sequence per request ({len(requests)}), got {len(per_run)}")
    observers = [CallbackList(c for c in run_callbacks if isinstance(c, Callback)) for run_callbacks in per_run]
    setups = [prepare(request, ws, obs.callbacks) for request, obs in zip(requests, observers)]
    for setup in setups:
        if fold is not None and not 0 <= fold < setup.folds.n_splits:
            raise KaggletkError(f"--fold {fold}: folds are numbered 0..{setup.folds.n_splits - 1}")
    folders = [run_folder(setup.request.competition, setup.run_name, ws) for setup in setups]
    twice = [folder for i, folder in enumerate(folders) if folder in folders[:i]]
    if twice:
        raise KaggletkError(f"run {twice[0].name} is asked for twice in one grid; give the requests other names")
    for setup, folder in zip(setups, folders):
        _check_pseudo_sources(setup, folder, fold, overwrite)
    with contextlib.ExitStack() as held:
        runs = []
        for setup, folder, obs in zip(setups, folders, observers):
            held.enter_context(run_lock(folder))
            runs.append(_OpenRun(setup, folder, fold, overwrite, obs))
        for run in runs:
            run.begin()
        (executor or SerialExecutor()).run([RunJob(run.setup, run.missing, run.write, run_callbacks, run.checkpoint_dir)
                                            for run, run_callbacks in zip(runs, per_run)])
        results = [run.finish(ws) for run in runs]
    for run, result in zip(runs, results):
        run.observers.on_run_end(result.run)
    return results


class _OpenRun:
    """A run held by this process: its manifest opened (or made), each fold written as it arrives, then finished."""

    def __init__(self, setup: RunSetup, folder: Path, fold: int | None, overwrite: bool, observers: CallbackList):
        self.setup, self.folder, self.observers = setup, folder, observers
        self.manifest = _open_manifest(folder, _new_manifest(setup), overwrite)
        todo = [fold] if fold is not None else list(range(setup.folds.n_splits))
        self.result = CvResult(run=Run(setup.run_name, folder, self.manifest),
                               skipped_folds=[f for f in todo if f in self.manifest.folds])
        self.missing = [f for f in todo if f not in self.manifest.folds]

    def begin(self) -> None:
        setup = self.setup
        self.observers.on_run_begin(RunInfo(setup.run_name, setup.request.model, setup.view, setup.folds.n_splits,
                                            tuple(self.missing), tuple(sorted(self.manifest.folds)), setup.model_cls.step_unit))

    def checkpoint_dir(self, fold: int) -> Path:
        """Where fold ``fold`` keeps its per-epoch state while it trains (removed once the fold is written)."""
        return self.folder / f".fold-{fold}.checkpoint"

    def write(self, outcome: FoldOutcome) -> None:
        """Write one trained fold and the manifest naming it; the observers hear ``on_fold_end``."""
        crash_point("fold-trained")
        self.manifest.folds[outcome.fold] = _write_fold(self.folder, outcome)
        crash_point("fold-file-written")
        self.manifest.device = _merged(self.manifest.device, getattr(outcome.model, "device_", self.setup.device))
        self.manifest.precision = _merged(self.manifest.precision, getattr(outcome.model, "precision_", None))
        save_manifest(self.folder, self.manifest)
        shutil.rmtree(self.checkpoint_dir(outcome.fold), ignore_errors=True)
        self.result.ran_folds.append(outcome.fold)
        self.observers.on_fold_end(outcome.fold, {**outcome.scores, "fit_seconds": outcome.fit_seconds,
                                                  "features_seconds": outcome.features_seconds})

    def finish(self, ws: Workspace) -> CvResult:
        """Assemble and score the final arrays once every fold is there; the result holds the run as stored."""
        if len(self.manifest.folds) == self.setup.folds.n_splits and not self.manifest.complete:
            _finish(self.folder, self.manifest, self.setup)
        self.result.run = load_run(self.setup.request.competition, self.setup.run_name, ws)
        return self.result


def _check_pseudo_sources(setup: RunSetup, folder: Path, fold: int | None, overwrite: bool) -> None:
    """Refuse, before anything is written, to train a fold whose pseudo-labels' source fold is not there yet, and
    to resume a run whose finished folds or epoch checkpoints learned from a source fold that has changed since."""
    if setup.pseudo is None:
        return
    if overwrite or not (folder / "manifest.json").exists():
        done: dict = {}
    else:
        done = read_manifest(folder).folds
    todo = [fold] if fold is not None else range(setup.folds.n_splits)
    unlabelled = [f for f in todo if f not in done and f not in setup.pseudo.rows]
    if unlabelled:
        raise KaggletkError(setup.pseudo.missing_message(unlabelled))
    # A fold (finished, or in progress in its epoch checkpoint) that learned from another version of its source
    # fold than the source holds now: resuming would mix two sets of pseudo-labels in one run.
    learned = {f: (entry.extra.get("pseudo") or {}).get("source_sha256") for f, entry in done.items()}
    if not overwrite:
        for f in todo:
            if f not in done and (folder / f".fold-{f}.checkpoint" / "checkpoint.json").exists():
                learned[f] = pseudo_marker(folder / f".fold-{f}.checkpoint")
    stale = sorted(f for f, digest in learned.items() if digest != setup.pseudo.sha256.get(f))
    if stale:
        raise KaggletkError(setup.pseudo.stale_message(setup.run_name, stale))


def _new_manifest(setup: RunSetup) -> RunManifest:
    request, dataset, folds = setup.request, setup.dataset, setup.folds
    return RunManifest(
        run=setup.run_name, competition=request.competition, kind="model", model=request.model, view=setup.view,
        view_params=dict(request.view_params), params=setup.full_params,
        early_stopping="inner" if setup.new_model(0).stops_early else "none", param_source=setup.spec.source,
        seed=request.seed, data=dataset.variant, data_fingerprint=dataset.fingerprint, fold_scheme=folds.scheme,
        n_folds=folds.n_splits, fold_seed=folds.seed, fold_hash=folds.hash, metric=dataset.competition.metric,
        step_unit=setup.model_cls.step_unit, versions=library_versions(), host=platform.node(),
        pseudo_labels=setup.pseudo.setting if setup.pseudo else None,
    )


def _describe(key: str, old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        changed = [f"{k} {old.get(k, '(unset)')!r} -> {new.get(k, '(unset)')!r}" for k in sorted(set(old) | set(new))
                   if old.get(k) != new.get(k)]
        return f"{key}: {', '.join(changed)}"
    return f"{key}: {old!r} -> {new!r}"


def _open_manifest(folder, fresh: RunManifest, overwrite: bool) -> RunManifest:
    if (folder / "manifest.json").exists():
        old = read_manifest(folder)
        before, now = old.settings(), fresh.settings()
        differing = [k for k in now if before[k] != now[k]]
        if differing and not overwrite:
            name = fresh.run
            if "fold_hash" in differing or "data_fingerprint" in differing:
                raise KaggletkError(
                    f"run {name} was made on folds {old.fold_hash} of data {old.data_fingerprint}, but the saved folds are "
                    f"now {fresh.fold_hash} of data {fresh.data_fingerprint}: refusing to mix them; use another --name, "
                    "or --overwrite to start the run again")
            if old.early_stopping == "held-out":
                raise KaggletkError(
                    f"run {name} was made with early stopping on its held-out fold, which kaggletk no longer does (that CV is "
                    "optimistic); use --overwrite to train it again, or another --name")
            changes = "; ".join(_describe(k, before[k], now[k]) for k in differing)
            raise KaggletkError(f"run {name} exists with other settings (the run's -> this command's: {changes}); "
                                "use another --name, or --overwrite to replace it")
        if not differing and not overwrite:
            _verify(folder, old)
            return old
        for stale in [p for p in (*folder.glob("fold-*"), *folder.glob("history-*.json"), *folder.glob("*.npy")) if p.is_file()]:
            stale.unlink()
        for checkpoint in folder.glob(".fold-*.checkpoint"):
            shutil.rmtree(checkpoint, ignore_errors=True)
    save_manifest(folder, fresh)
    return fresh


def _verify(folder, manifest: RunManifest) -> None:
    """Drop fold entries whose file is missing or changed (they are trained again), and reassemble lost final arrays."""
    for key, entry in list(manifest.folds.items()):
        path = folder / entry.file
        if not path.exists() or sha256_file(path) != entry.sha256:
            del manifest.folds[key]
            manifest.status = "running"
    for entry in manifest.files.values():
        path = folder / entry["file"]
        if not path.exists() or sha256_file(path) != entry["sha256"]:
            manifest.status = "running"  # every fold file is valid: _finish assembles the arrays again


def _merged(recorded: str | None, new: str | None) -> str | None:
    """The run's device or precision after one more fold: folds resumed on another machine may have computed on
    another (``--device auto``, ``--precision auto``), so the run names every one its folds used, e.g.
    ``bfloat16+float32`` or ``cpu+gpu``."""
    if not recorded or not new:
        return new or recorded
    return "+".join(sorted(set(recorded.split("+")) | {new}))


def _write_fold(folder, outcome: FoldOutcome) -> FoldEntry:
    saved = _write_models(folder, outcome.extra.pop("files", None) or {})
    file_name, digest = save_fold(folder, outcome.fold, outcome.valid_idx, outcome.oof, outcome.test)
    if outcome.model.history_:
        write_json(folder / f"history-{outcome.fold}.json", outcome.model.history_)
    if saved:
        outcome.extra["model"] = saved
    return FoldEntry(
        scores=outcome.scores, n_fit=int(len(outcome.fit_idx)),
        n_stop=int(len(outcome.stop_idx)) if outcome.stop_idx is not None else 0, n_valid=int(len(outcome.valid_idx)),
        file=file_name, sha256=digest, features_seconds=outcome.features_seconds, fit_seconds=outcome.fit_seconds,
        predict_seconds=outcome.predict_seconds, best_iteration=outcome.model.best_iteration_,
        host=outcome.extra.get("host") or platform.node(), extra={k: v for k, v in outcome.extra.items() if k != "host"},
    )


def _write_models(folder: Path, files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """Write a fold's saved model files (each whole or not at all) and name them by role with their sha256."""
    roles = {}
    for name, data in sorted(files.items()):
        write_bytes(folder / name, data)
        role = "view" if name.endswith(".view.npz") else "meta" if name.endswith(".json") else "model"
        roles[role] = {"file": name, "sha256": hashlib.sha256(data).hexdigest()}
    return roles


def _finish(folder, manifest: RunManifest, setup: RunSetup) -> None:
    dataset, folds = setup.dataset, setup.folds
    n_classes = dataset.competition.n_classes
    oof = np.full((dataset.n_train, n_classes), np.nan, dtype=np.float32)
    test = np.zeros((dataset.n_test, n_classes), dtype=np.float64)
    run = Run(manifest.run, folder, manifest)
    fold_tests = []
    for f in range(folds.n_splits):
        arrays = run.fold(f)
        oof[arrays["valid_idx"]] = arrays["oof"]
        test += arrays["test"]
        fold_tests.append(arrays["test"])
    test /= folds.n_splits
    if np.isnan(oof).any():
        raise KaggletkError(f"{folder}: fold files do not cover every training row; rerun with --overwrite")
    summarise(manifest, dataset, folds, oof, test, fold_tests)
    manifest.status = "complete"
    save_final(folder, manifest, {"oof": oof, "test": test.astype(np.float32)})
