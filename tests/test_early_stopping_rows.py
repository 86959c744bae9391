"""Early stopping watches rows of the training part, never the held-out fold it is scored on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss

from kaggletk._io import read_json, write_json
from kaggletk.cv import CvRequest, FoldFeatures, fit_fold, prepare, run_cv
from kaggletk.data import load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import load_folds
from kaggletk.views import get_view


def test_inner_split_keeps_groups_whole_and_the_held_out_fold_out(project):
    dataset = load_dataset("sign_mnist", "sample")
    folds = load_folds(dataset)
    for fold in (0, 3):
        train_idx, held_idx = folds.split(fold)
        fit_idx, stop_idx = folds.inner_split(fold, dataset.y)
        assert not np.intersect1d(fit_idx, stop_idx).size and not np.intersect1d(stop_idx, held_idx).size
        np.testing.assert_array_equal(np.sort(np.concatenate([fit_idx, stop_idx])), train_idx)
        assert 0.05 < len(stop_idx) / len(train_idx) < 0.15
        # no group of near-copies on both sides: stopping sees photos as new as the held-out fold's
        assert not np.intersect1d(folds.groups[fit_idx], folds.groups[stop_idx]).size
        again_fit, again_stop = folds.inner_split(fold, dataset.y)
        np.testing.assert_array_equal(again_stop, stop_idx)

    fashion = load_dataset("fashion_mnist", "sample")
    fashion_folds = load_folds(fashion)
    fit_idx, stop_idx = fashion_folds.inner_split(0, fashion.y)
    overall = np.bincount(fashion.y, minlength=10) / fashion.n_train
    assert np.abs(np.bincount(fashion.y[stop_idx], minlength=10) / len(stop_idx) - overall).max() < 0.02


def test_the_model_stops_on_the_inner_rows_not_on_the_held_out_fold(project):
    params = {"n_estimators": 300, "early_stopping_rounds": 10, "max_depth": 4}
    setup = prepare(CvRequest("sign_mnist", "xgb", view="pca", params=params, data="sample"))
    dataset, folds = setup.dataset, setup.folds
    features = FoldFeatures(get_view("pca"), dataset)
    outcome = fit_fold(setup, 0, features)
    assert outcome.stop_idx is not None
    _, held_idx = folds.split(0)
    np.testing.assert_array_equal(outcome.valid_idx, held_idx)
    assert len(outcome.fit_idx) + len(outcome.stop_idx) + len(held_idx) == dataset.n_train
    # XGBoost's validation curves (standard keys) are the stop rows' loss and accuracy, and it stopped at the best loss
    _, X_held, X_stop, _ = features.for_fold(outcome.fit_idx, held_idx, outcome.stop_idx)
    history, best = outcome.model.history_, outcome.model.best_iteration_
    assert set(history) == {"val_loss", "val_accuracy"} and best < 299
    stop_loss = log_loss(dataset.y[outcome.stop_idx], outcome.model.predict_proba(X_stop), labels=range(24))
    held_loss = log_loss(dataset.y[held_idx], outcome.model.predict_proba(X_held), labels=range(24))
    assert stop_loss == pytest.approx(history["val_loss"][best], rel=1e-3)
    assert held_loss != pytest.approx(history["val_loss"][best], rel=1e-3)


def test_runs_record_where_they_stopped_and_older_runs_are_refused_to_resume(project):
    run = run_cv(CvRequest("sign_mnist", "xgb", data="sample", name="boost",
                           params={"n_estimators": 60, "early_stopping_rounds": 5}), fold=1).run
    m = run.manifest
    assert m.early_stopping == "inner"
    entry = m.folds[1]
    assert entry.n_stop > 0 and entry.n_fit + entry.n_stop + entry.n_valid == 3000
    # a model that does not stop early trains on the whole training part
    plain = run_cv(CvRequest("sign_mnist", "logreg", data="sample", name="plain"), fold=1).run
    assert plain.manifest.early_stopping == "none" and plain.manifest.folds[1].n_stop == 0
    assert plain.manifest.folds[1].n_fit + plain.manifest.folds[1].n_valid == 3000
    # xgb without early stopping rounds does not stop early: no stopping rows
    fixed = run_cv(CvRequest("sign_mnist", "xgb", data="sample", name="fixed",
                             params={"n_estimators": 20, "early_stopping_rounds": None}), fold=1).run
    assert fixed.manifest.early_stopping == "none" and fixed.manifest.folds[1].n_stop == 0

    # a run made before the setting existed (format 1) stopped on the held-out fold: readable, but never resumed as it was
    manifest = read_json(run.folder / "manifest.json")
    for key in ("early_stopping", "format", "view_params", "metric", "step_unit"):
        manifest.pop(key, None)
    write_json(run.folder / "manifest.json", manifest)
    with pytest.raises(KaggletkError, match="run boost was made with early stopping on its held-out fold"):
        run_cv(CvRequest("sign_mnist", "xgb", data="sample", name="boost",
                         params={"n_estimators": 60, "early_stopping_rounds": 5}), fold=1)
    # logreg runs made before it existed match "none" and resume
    manifest = read_json(plain.folder / "manifest.json")
    for key in ("early_stopping", "format", "view_params", "metric", "step_unit"):
        manifest.pop(key, None)
    write_json(plain.folder / "manifest.json", manifest)
    assert run_cv(CvRequest("sign_mnist", "logreg", data="sample", name="plain"), fold=1).ran_folds == []
