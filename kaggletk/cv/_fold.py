"""Training one fold: the unit of work that a serial loop or a Ray task runs.

The model learns from the training part of the fold only. When it stops early, a tenth of that
part (dealt like the folds, groups kept whole: ``Folds.inner_split``) is set aside as its stopping
rows; the held-out part is only predicted and scored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk.cv._features import FoldFeatures
from kaggletk.cv._request import RunSetup
from kaggletk.errors import KaggletkError
from kaggletk.metrics import score
from kaggletk.models import Model

# A fold whose held-out accuracy is below the majority-class share plus this margin has not
# learned anything (LightGBM diverging on raw pixels ends here): fail loudly rather than store it.
CHANCE_MARGIN = 0.05
# The share of a fold's training part a model that stops early watches.
INNER_SHARE = 0.1


@dataclass
class FoldOutcome:
    """One trained fold: held-out (and test) probabilities, scores, timings, the fitted model."""

    fold: int
    fit_idx: np.ndarray
    valid_idx: np.ndarray
    stop_idx: np.ndarray | None  # rows early stopping watched (rows of the training part), None when it does not stop early
    oof: np.ndarray
    test: np.ndarray | None
    scores: dict[str, float]
    features_seconds: float  # the view's features for this fold (a cached descriptor is computed on first use)
    fit_seconds: float
    predict_seconds: float
    model: Model
    extra: dict[str, Any] = field(default_factory=dict)


def fold_rows(setup: RunSetup, fold: int, model: Model) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(fit rows, stopping rows or None, held-out rows) of ``fold`` for ``model``: stopping rows only if it stops early."""
    train_idx, valid_idx = setup.folds.split(fold)
    if not model.stops_early:
        return train_idx, None, valid_idx
    fit_idx, stop_idx = setup.folds.inner_split(fold, setup.dataset.y, INNER_SHARE)
    return fit_idx, stop_idx, valid_idx


def fit_fold(setup: RunSetup, fold: int, features: FoldFeatures, *, params: dict[str, Any] | None = None,
             seed: int | None = None, callbacks: Sequence[Any] = (), predict_test: bool = True,
             check_chance: bool = True, checkpoint_dir: Any = None, save_model: bool = False) -> FoldOutcome:
    """Train the setup's model on the training part of ``fold`` and predict its held-out part (and the test set).

    Parameters
    ----------
    params : dict, optional
        Model parameters instead of the setup's (a tuning trial's).
    seed : int, optional
        Base seed (default the request's); the fold's model uses ``seed + fold``.
    callbacks : kaggletk ``Callback`` objects and native callbacks, passed to the model's ``fit``.
    check_chance : bool
        Raise ``KaggletkError`` when the held-out accuracy is at chance level (a diverged model);
        tuning turns it off and records the trial's bad score instead.
    checkpoint_dir : optional
        Where a resumable model (the Keras nets) keeps its state after every epoch.
    save_model : bool
        Serialise the fitted model (its library's own format) and the view's fitted state into
        ``outcome.extra["files"]`` (file name -> bytes) for the driver to write beside the fold.
    """
    y = setup.dataset.y
    model = setup.new_model((setup.request.seed if seed is None else seed) + fold, params)
    fit_idx, stop_idx, valid_idx = fold_rows(setup, fold, model)
    start = time.perf_counter()
    if stop_idx is not None:
        X_fit, X_valid, X_stop, X_test = features.for_fold(fit_idx, valid_idx, stop_idx)
        y_stop = y[stop_idx]
    else:
        X_fit, X_valid, X_test = features.for_fold(fit_idx, valid_idx)
        X_stop = y_stop = None
    y_fit = y[fit_idx]
    if setup.pseudo is not None:  # round two: the test rows this fold's source model predicted confidently
        rows, labels = setup.pseudo.for_fold(fold)
        if checkpoint_dir is not None:  # a resume of this fold checks that its source fold is unchanged
            setup.pseudo.mark(Path(checkpoint_dir), fold)
        X_fit, y_fit = np.concatenate([X_fit, X_test[rows]]), np.concatenate([y_fit, labels.astype(y_fit.dtype)])
    features_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(X_fit, y_fit, X_stop=X_stop, y_stop=y_stop, callbacks=callbacks, checkpoint_dir=checkpoint_dir)
    fit_seconds = time.perf_counter() - start + model.resumed_seconds_  # with the epochs earlier processes trained
    start = time.perf_counter()
    oof = model.predict_proba(X_valid)
    test = model.predict_proba(X_test) if predict_test else None
    predict_seconds = time.perf_counter() - start
    scores = score(y[valid_idx], oof)
    chance = float(np.bincount(y[valid_idx]).max() / len(valid_idx))
    if check_chance and scores["accuracy"] < chance + CHANCE_MARGIN:
        raise KaggletkError(
            f"{setup.model_cls.name} fold {fold}: validation accuracy {scores['accuracy']:.1%} is at chance level ({chance:.1%}): "
            "the model diverged or learned nothing; lower learning_rate (and num_leaves for lgbm) and rerun"
        )
    outcome = FoldOutcome(fold, fit_idx, valid_idx, stop_idx, oof, test, scores, features_seconds, fit_seconds,
                          predict_seconds, model)
    if setup.pseudo is not None:
        outcome.extra["pseudo"] = setup.pseudo.record(fold)
    if save_model:
        outcome.extra["files"] = saved_files(model, features.fitted_view, fold)
    return outcome


def saved_files(model: Model, view, fold: int) -> dict[str, bytes]:
    """The fitted model and the view's fitted state of ``fold`` as file name -> bytes (no pickle: library formats, .npz)."""
    import io
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="kaggletk-model-") as tmp:
        try:
            files = model.save(Path(tmp), f"fold-{fold}.model")
        except NotImplementedError:  # an adapter whose library has no safe format in kaggletk: its runs keep no models
            return {}
        out = {entry["file"]: (Path(tmp) / entry["file"]).read_bytes() for entry in files.values()}
    buffer = io.BytesIO()
    np.savez(buffer, **view.state())
    out[f"fold-{fold}.view.npz"] = buffer.getvalue()
    return out

