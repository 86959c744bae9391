"""K-fold cross-validation over the saved folds, writing OOF and test predictions to the store.

``run_cv`` trains one model per fold, predicts the held-out fold and the test set, and writes
each fold as it finishes, so an interrupted run resumes at the first missing fold. When every
fold is done it assembles ``oof.npy`` and ``test.npy`` and scores the run.
"""

from __future__ import annotations

import copy
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np

from kaggletk import __version__
from kaggletk.data import Dataset, load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import Folds, load_folds
from kaggletk.metrics import score
from kaggletk.models import Model, StepCallback, get_model_class
from kaggletk.models._device import resolve_device
from kaggletk.params import ParamSpec, parse_params
from kaggletk.store import RUN_FORMAT, Run, load_run, run_folder, run_lock, save_final, save_fold, save_manifest
from kaggletk.views import get_view, stateless_features
from kaggletk.workspace import Workspace, check_name, workspace
from kaggletk._faults import crash_point
from kaggletk._io import write_json

# A fold whose validation accuracy is below the majority-class share plus this margin has not
# learned anything (LightGBM diverging on raw pixels ends here): fail loudly rather than store it.
CHANCE_MARGIN = 0.05

# Where a model that stops early (Keras epochs, boosting rounds) finds its stopping rows.
# "inner": a tenth of the training part, dealt like the folds (groups kept whole), so the held-out
# fold stays unseen until it is scored. "held-out": the held-out fold itself, as runs made before
# this setting existed did; its CV is optimistic by the choice of epoch (2.2 points for the dense net on Sign MNIST).
EARLY_STOPPING_CHOICES = ("inner", "held-out")
INNER_SHARE = 0.1

_LIBRARIES = ("numpy", "scikit-learn", "tensorflow", "keras", "xgboost", "lightgbm", "optuna")


class CvReporter:
    """What ``run_cv`` tells its caller as it goes; the CLI draws progress bars from it."""

    def note(self, message: str) -> None:
        pass

    def fold_begin(self, fold: int, n_folds: int, n_fit: int, n_valid: int) -> None:
        pass

    def step_callback(self) -> StepCallback | None:
        return None

    def fold_end(self, fold: int, result: dict[str, Any]) -> None:
        pass


@dataclass
class CvResult:
    run: Run
    ran_folds: list[int] = field(default_factory=list)
    skipped_folds: list[int] = field(default_factory=list)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "kaggletk": __version__}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def default_run_name(model: str, view: str, dataset: Dataset, param_source: str) -> str:
    name = f"{model}-{view}"
    if param_source == "tuned":
        name += "-tuned"
    if dataset.variant == "sample":
        name += "-sample"
    return name


def resolve_model_params(comp, model_cls: type[Model], params: dict[str, Any]) -> dict[str, Any]:
    """Validate user params for a model and apply the competition's augmentation rule."""
    params = dict(model_cls.check_params(params))
    if "hflip" in model_cls.default_params():
        if params.get("hflip") and not comp.hflip:
            raise KaggletkError(f"--params: hflip is not allowed for {comp.name} (a mirrored image can change class); remove it")
        params.setdefault("hflip", comp.hflip)
    return params


@dataclass
class RunSetup:
    """Everything a training command resolves before it trains: data, folds, model, view, params, device."""

    dataset: Dataset
    folds: Folds
    model_cls: type[Model]
    view: str
    spec: ParamSpec
    params: dict[str, Any]
    device: str


def prepare(comp: str, model: str, *, view: str | None = None, params: str | dict | None = None, n_folds: int | None = None,
            scheme: str | None = None, device: str = "auto", data: str = "auto", ws: Workspace | None = None,
            notify=None) -> RunSetup:
    """Validate a training request at the boundary: known model and view, typed params, device, saved folds."""
    ws = ws or workspace()
    dataset = load_dataset(comp, data, ws, notify=notify)
    competition = dataset.competition
    model_cls = get_model_class(model)
    spec = parse_params(params, comp, model, ws, variant=dataset.variant)
    view = view or spec.view or model_cls.default_view
    if view not in model_cls.views:
        raise KaggletkError(f"--view {view}: model {model} accepts {', '.join(model_cls.views)}")
    if view not in competition.views:
        raise KaggletkError(f"--view {view}: competition {comp} offers {', '.join(competition.views)}")
    model_params = resolve_model_params(competition, model_cls, spec.params)
    resolved_device = resolve_device(device, model, model_cls.supports_gpu)
    if resolved_device == "cpu" and model_cls.supports_gpu:
        from kaggletk.models._device import hide_gpus

        hide_gpus()
    folds = load_folds(dataset, scheme=scheme, n_splits=n_folds, ws=ws)
    return RunSetup(dataset, folds, model_cls, view, spec, model_params, resolved_device)


def run_cv(
    comp: str,
    model: str,
    *,
    view: str | None = None,
    params: str | dict | None = None,
    n_folds: int | None = None,
    scheme: str | None = None,
    fold: int | None = None,
    device: str = "auto",
    data: str = "auto",
    name: str | None = None,
    seed: int = 0,
    early_stopping: str = "inner",
    overwrite: bool = False,
    reporter: CvReporter | None = None,
    ws: Workspace | None = None,
) -> CvResult:
    """Cross-validate ``model`` on competition ``comp`` and store its OOF and test predictions.

    Parameters
    ----------
    view : str, optional
        Feature view; default the model's default (or the view the tuned params were found for).
    params : str or dict, optional
        JSON object, JSON file path, or ``"tuned"``; overrides of the model's defaults.
    n_folds : int, optional
        K of the fold scheme (default: the competition's). Each K has its own saved folds.
    scheme : {"stratified", "random", "group"}, optional
        Fold scheme (default: the competition's); runs on other schemes cannot be blended together.
    fold : int, optional
        Run only this fold (spread folds over machines); the run completes when all are there.
    device : {"auto", "cpu", "gpu"}
    data : {"auto", "full", "sample"}
    name : str, optional
        Run name; default ``<model>-<view>[-tuned][-sample]``.
    early_stopping : {"inner", "held-out"}
        The rows a model that stops early watches: a tenth of the training part (default; the CV
        stays honest) or the held-out fold (faster to converge, optimistic CV). Ignored by models
        that do not stop early.
    overwrite : bool
        Discard an existing run of the same name (same or other settings) and train its folds again.

    Returns
    -------
    CvResult with the stored ``Run`` (complete when every fold is done).
    """
    ws = ws or workspace()
    reporter = reporter or CvReporter()
    if early_stopping not in EARLY_STOPPING_CHOICES:
        raise KaggletkError(f"--early-stopping {early_stopping}: use {' or '.join(EARLY_STOPPING_CHOICES)}")
    setup = prepare(comp, model, view=view, params=params, n_folds=n_folds, scheme=scheme, device=device, data=data, ws=ws,
                    notify=reporter.note)
    dataset, folds, model_cls, view, spec = setup.dataset, setup.folds, setup.model_cls, setup.view, setup.spec
    model_params, resolved_device = setup.params, setup.device
    if fold is not None and not 0 <= fold < folds.n_splits:
        raise KaggletkError(f"--fold {fold}: folds are numbered 0..{folds.n_splits - 1}")
    run_name = check_name(name or default_run_name(model, view, dataset, spec.source), "run name")
    folder = run_folder(comp, run_name, ws)

    full_params = {**model_cls.default_params(), **model_params}
    early_stopping = early_stopping if model_cls.stops_early(full_params) else "none"
    settings = {
        "kind": "model", "model": model, "view": view, "params": full_params, "early_stopping": early_stopping,
        "param_source": spec.source,
        "seed": seed, "data": dataset.variant, "data_fingerprint": dataset.fingerprint,
        "fold_scheme": folds.scheme, "n_folds": folds.n_splits, "fold_seed": folds.seed, "fold_hash": folds.hash,
    }
    with run_lock(folder):
        manifest = _open_manifest(folder, run_name, comp, settings, overwrite, folds)
        todo = [fold] if fold is not None else list(range(folds.n_splits))
        done = set(int(k) for k in manifest["folds"])
        result = CvResult(run=Run(run_name, folder, manifest))
        features = FoldFeatures(get_view(view), dataset)
        for f in todo:
            if f in done:
                result.skipped_folds.append(f)
                continue
            entry = _run_fold(f, folds, dataset, features, model_cls, model_params, device, seed, early_stopping, folder, reporter)
            manifest["folds"][str(f)] = entry
            manifest["device"] = resolved_device
            save_manifest(folder, manifest)
            result.ran_folds.append(f)
        if len(manifest["folds"]) == folds.n_splits and manifest.get("status") != "complete":
            _finish(folder, manifest, dataset, folds)
        result.run = load_run(comp, run_name, ws)
    return result


def _open_manifest(folder, run_name, comp, settings, overwrite, folds: Folds) -> dict[str, Any]:
    path = folder / "manifest.json"
    if path.exists():
        from kaggletk._io import read_json

        manifest = read_json(path)
        # Runs made before the setting existed stopped on the held-out fold (when their model stops early).
        legacy = {"early_stopping": "none" if settings["early_stopping"] == "none" else "held-out"}
        differing = [k for k, v in settings.items() if manifest.get(k, legacy.get(k)) != v]
        if differing and not overwrite:
            if "fold_hash" in differing or "data_fingerprint" in differing:
                raise KaggletkError(
                    f"run {run_name} was made on folds {manifest.get('fold_hash')} of data {manifest.get('data_fingerprint')}, "
                    f"but the saved folds are now {folds.hash} of data {settings['data_fingerprint']}: refusing to mix them; "
                    "use another --name, or --overwrite to start the run again"
                )
            hint = ""
            if differing == ["early_stopping"]:
                hint = f", or --early-stopping {manifest.get('early_stopping', legacy['early_stopping'])} to go on as it was made"
            raise KaggletkError(
                f"run {run_name} exists with other settings ({', '.join(differing)}); use another --name, or --overwrite to replace it"
                + hint
            )
        if not differing and not overwrite:
            _verify_folds(folder, manifest)
            return manifest
        for old in list(folder.glob("fold-*.npz")) + list(folder.glob("history-*.json")) + list(folder.glob("*.npy")):
            old.unlink()
    manifest = {"format": RUN_FORMAT, "run": run_name, "competition": comp, **settings, "status": "running",
                "folds": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": library_versions(),
                "host": platform.node()}
    save_manifest(folder, manifest)
    return manifest


def _verify_folds(folder, manifest) -> None:
    """Drop fold entries whose file is missing or does not match its checksum (rerun them)."""
    from kaggletk._io import sha256_file

    for key, entry in list(manifest["folds"].items()):
        path = folder / entry["file"]
        if not path.exists() or sha256_file(path) != entry["sha256"]:
            del manifest["folds"][key]
            manifest["status"] = "running"


class FoldFeatures:
    """Fold features of one view: computed once for stateless views, fitted per fold otherwise."""

    def __init__(self, view, dataset: Dataset):
        self.view, self.dataset = view, dataset
        self._all: tuple[np.ndarray, np.ndarray] | None = None
        self._parts: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def for_fold(self, fit_idx: np.ndarray, *other_idx: np.ndarray) -> tuple[np.ndarray, ...]:
        """Features of the fit rows, of each other row set, then of the test set; a fitted view learns from the fit rows only."""
        d = self.dataset
        if self.view.stateless:
            if self._all is None:
                self._all = stateless_features(self.view, d)
            train, test = self._all
            return (train[fit_idx], *(train[idx] for idx in other_idx), test)
        if self._parts is None:
            self._parts = {key: stateless_features(part, d) for key, part in self.view.stateless_parts().items()}

        def rows(idx):
            return d.train_images[idx], {key: train[idx] for key, (train, _) in self._parts.items()}

        fit_rows = rows(fit_idx)
        fitted = copy.deepcopy(self.view).fit(*fit_rows)  # the view as configured, parts and all, fitted afresh per fold
        test_parts = {key: test for key, (_, test) in self._parts.items()}
        return (fitted.transform(*fit_rows), *(fitted.transform(*rows(idx)) for idx in other_idx),
                fitted.transform(d.test_images, test_parts))


@dataclass
class FoldOutcome:
    """One trained fold: held-out (and test) probabilities, scores, timings, the fitted model."""

    fold: int
    fit_idx: np.ndarray
    valid_idx: np.ndarray
    stop_idx: np.ndarray | None  # rows early stopping watched, when they are not the held-out fold
    oof: np.ndarray
    test: np.ndarray | None
    scores: dict[str, float]
    features_seconds: float  # the view's features for this fold (a cached descriptor is computed on first use)
    fit_seconds: float
    predict_seconds: float
    model: Model


def fit_fold(f: int, folds: Folds, dataset: Dataset, features: FoldFeatures, model_cls: type[Model], params: dict[str, Any],
             *, device: str = "auto", seed: int = 0, early_stopping: str = "inner", callbacks: list | None = None,
             predict_test: bool = True, check_chance: bool = True) -> FoldOutcome:
    """Train ``model_cls`` on the training part of fold ``f`` and predict its held-out part (and the test set).

    With ``early_stopping="inner"`` a model that stops early trains on nine tenths of the training
    part and stops on the rest (``Folds.inner_split``); the held-out part is only predicted.

    Raises ``KaggletkError`` when the held-out accuracy is at chance level (a diverged model), unless
    ``check_chance`` is False (tuning records such a trial's bad score instead).
    """
    fit_idx, valid_idx = folds.split(f)
    y = dataset.y
    stop_idx = None
    start = time.perf_counter()
    if early_stopping == "inner" and model_cls.stops_early({**model_cls.default_params(), **params}):
        fit_idx, stop_idx = folds.inner_split(f, y, INNER_SHARE)
        X_fit, X_valid, X_stop, X_test = features.for_fold(fit_idx, valid_idx, stop_idx)
        y_stop = y[stop_idx]
    else:
        X_fit, X_valid, X_test = features.for_fold(fit_idx, valid_idx)
        X_stop, y_stop = X_valid, y[valid_idx]
    features_seconds = time.perf_counter() - start
    model = model_cls(dataset.competition.n_classes, params, device=device, seed=seed + f)
    start = time.perf_counter()
    model.fit(X_fit, y[fit_idx], X_stop, y_stop, callbacks=callbacks or [])
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    oof = model.predict_proba(X_valid)
    test = model.predict_proba(X_test) if predict_test else None
    predict_seconds = time.perf_counter() - start
    scores = score(y[valid_idx], oof)
    chance = float(np.bincount(y[valid_idx]).max() / len(valid_idx))
    if check_chance and scores["accuracy"] < chance + CHANCE_MARGIN:
        raise KaggletkError(
            f"{model_cls.name} fold {f}: validation accuracy {scores['accuracy']:.1%} is at chance level ({chance:.1%}): "
            "the model diverged or learned nothing; lower learning_rate (and num_leaves for lgbm) and rerun"
        )
    return FoldOutcome(f, fit_idx, valid_idx, stop_idx, oof, test, scores, features_seconds, fit_seconds, predict_seconds,
                       model)


def _run_fold(f, folds, dataset, features, model_cls, params, device, seed, early_stopping, folder, reporter) -> dict[str, Any]:
    fit_idx, valid_idx = folds.split(f)
    reporter.fold_begin(f, folds.n_splits, len(fit_idx), len(valid_idx))
    step = reporter.step_callback()
    outcome = fit_fold(f, folds, dataset, features, model_cls, params, device=device, seed=seed, early_stopping=early_stopping,
                       callbacks=[step] if step else [])
    crash_point("fold-trained")
    file_name, digest = save_fold(folder, f, valid_idx, outcome.oof, outcome.test)
    crash_point("fold-file-written")
    if outcome.model.history_:
        write_json(folder / f"history-{f}.json", outcome.model.history_)
    entry = {**outcome.scores, "features_seconds": round(outcome.features_seconds, 3), "fit_seconds": round(outcome.fit_seconds, 3),
             "predict_seconds": round(outcome.predict_seconds, 3),
             "n_fit": int(len(outcome.fit_idx)), "n_stop": int(len(outcome.stop_idx)) if outcome.stop_idx is not None else 0,
             "n_valid": int(len(valid_idx)), "best_iteration": outcome.model.best_iteration_,
             "file": file_name, "sha256": digest}
    reporter.fold_end(f, entry)
    return entry


def _finish(folder, manifest, dataset: Dataset, folds: Folds) -> None:
    n_classes = dataset.competition.n_classes
    oof = np.full((dataset.n_train, n_classes), np.nan, dtype=np.float32)
    test = np.zeros((dataset.n_test, n_classes), dtype=np.float64)
    run = Run(manifest["run"], folder, manifest)
    fold_tests = []
    for f in range(folds.n_splits):
        arrays = run.fold(f)
        oof[arrays["valid_idx"]] = arrays["oof"]
        test += arrays["test"]
        fold_tests.append(arrays["test"])
    test /= folds.n_splits
    if np.isnan(oof).any():
        raise KaggletkError(f"{folder}: fold files do not cover every training row; rerun with --overwrite")
    manifest["files"] = save_final(folder, oof, test.astype(np.float32))
    crash_point("final-arrays-written")
    manifest["cv"] = cv_summary(manifest, oof, dataset)
    manifest["test"] = holdout_score(dataset, test, fold_tests)
    manifest["status"] = "complete"
    save_manifest(folder, manifest)


def cv_summary(manifest: dict[str, Any], oof: np.ndarray, dataset: Dataset) -> dict[str, float]:
    per_fold = [manifest["folds"][str(f)] for f in range(manifest["n_folds"])]
    acc = np.array([e["accuracy"] for e in per_fold])
    f1 = np.array([e["macro_f1"] for e in per_fold])
    overall = score(dataset.y, oof)
    return {
        "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        "macro_f1_mean": float(f1.mean()), "macro_f1_std": float(f1.std(ddof=1)) if len(f1) > 1 else 0.0,
        "oof_accuracy": overall["accuracy"], "oof_macro_f1": overall["macro_f1"],
        "fit_seconds": float(sum(e.get("fit_seconds", 0.0) for e in per_fold)),
        "predict_seconds": float(sum(e.get("predict_seconds", 0.0) for e in per_fold)),
    }


def holdout_score(dataset: Dataset, test_proba: np.ndarray,
                  fold_test_probas: list[np.ndarray] | None = None) -> dict[str, Any] | None:
    """Test accuracy and macro-F1 against held-out labels, when the data has them (scoring only).

    test_proba : (n_test, n_classes) float, the fold models' average (what a submission holds).
    fold_test_probas : optional, one (n_test, n_classes) array per fold model. Their test accuracies
        are the like-for-like counterpart of the CV score, which also scores single fold models:
        averaging K models helps on the test set, most where each fold model misses whole groups.
    """
    y = _holdout_indices(dataset)
    if y is None:
        return None
    result: dict[str, Any] = score(y, test_proba)
    if fold_test_probas:
        per_fold = [score(y, proba)["accuracy"] for proba in fold_test_probas]
        result["fold_models_accuracy"] = per_fold
        result["fold_models_accuracy_mean"] = float(np.mean(per_fold))
    return result


def _holdout_indices(dataset: Dataset) -> np.ndarray | None:
    labels = dataset.holdout_labels()
    return None if labels is None else dataset.competition.to_index(labels)


def fold_models_test_accuracy(run: Run, dataset: Dataset) -> float | None:
    """Mean test accuracy of a complete run's single fold models (None without held-out labels)."""
    recorded = (run.manifest.get("test") or {}).get("fold_models_accuracy_mean")
    if recorded is not None:
        return recorded
    y = _holdout_indices(dataset)
    if y is None:
        return None
    return float(np.mean([score(y, run.fold(f)["test"])["accuracy"] for f in range(run.manifest["n_folds"])]))
