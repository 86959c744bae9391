"""Honest CV by construction, for every registered model: the held-out fold never shapes the model it scores.

Two contracts, run over the registry (a model added later is checked without touching this file):
changing the held-out fold's rows (images and labels) must not change the fitted model's
predictions on anything else; changing the stopping rows must not change them either, unless the
model declares that it stops early (and then it must have watched them).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kaggletk.cv import CvRequest, FoldFeatures, fit_fold, prepare
from kaggletk.models import MODELS, get_model_class
from kaggletk.views import get_view

# Small and short: the contracts are about which rows a model sees, not how well it learns. The cnn
# without its random shifts and test-time shifts (neither reads any row) fits and predicts faster.
FAST = {
    "mlp": {"epochs": 2, "units": [32]}, "lenet5": {"epochs": 2},
    "cnn": {"epochs": 2, "filters": [8, 16, 16], "dense": 16, "shift": 0.0, "tta": False},
    "resnet": {"epochs": 1, "widths": [8, 8, 8, 8], "blocks": 1, "batch_size": 64},
    "resnet20": {"epochs": 1, "widths": [8, 8, 8], "blocks": 1, "batch_size": 64},
    "xgb": {"n_estimators": 30, "max_depth": 3}, "lgbm": {"n_estimators": 30, "force_col_wise": True},
    "rf": {"n_estimators": 20}, "logreg": {"max_iter": 100},
}


# Every registered model; the resnets (about a minute each for both contracts) run with -m slow.
CONTRACT_MODELS = [pytest.param(m, marks=pytest.mark.slow) if m in ("resnet", "resnet20") else m for m in MODELS]


def _params(name: str) -> dict:
    return FAST.get(name, {})


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    import os

    from tests.conftest import REPO

    root = tmp_path_factory.mktemp("contract")
    os.environ["KAGGLETK_HOME"] = str(REPO)  # read the shipped sample; the cache goes to a copy below
    from kaggletk.competition import load_competition
    from kaggletk.data import read_source, write_cache
    from kaggletk.workspace import Workspace

    ws = Workspace(root)
    (root / "competitions").mkdir()
    import shutil

    shutil.copytree(REPO / "competitions" / "fashion_mnist", root / "competitions" / "fashion_mnist",
                    ignore=shutil.ignore_patterns("data", "tuned", "__pycache__"))
    comp = load_competition("fashion_mnist", ws)
    raw = read_source(REPO / "competitions" / "fashion_mnist" / "sample", comp)
    keep = np.random.default_rng(0).permutation(len(raw.train_labels))[:1500]
    raw = dataclasses.replace(raw, train_images=raw.train_images[keep], train_labels=raw.train_labels[keep],
                              test_images=raw.test_images[:200], test_ids=raw.test_ids[:200], test_labels=raw.test_labels[:200])
    write_cache(comp, raw, "sample", "contract slice", ws)
    os.environ.pop("KAGGLETK_HOME")
    return ws


@pytest.mark.parametrize("name", CONTRACT_MODELS)
def test_the_held_out_fold_never_changes_the_model(fashion, tmp_path, name):
    setup = prepare(CvRequest("fashion_mnist", name, params=_params(name), data="sample", device="cpu"), fashion)
    fold = 1
    first = fit_fold(setup, fold, FoldFeatures(setup.new_view(), setup.dataset), check_chance=False)

    _, held = setup.folds.split(fold)
    d = setup.dataset
    images, labels = d.train_images.copy(), d.train_labels.copy()
    images[held] = np.random.default_rng(1).integers(0, 256, size=images[held].shape, dtype=np.uint8)
    labels[held] = np.roll(labels[held], 1)
    (tmp_path / "changed").mkdir()
    changed = dataclasses.replace(setup, dataset=dataclasses.replace(d, train_images=images, train_labels=labels,
                                                                     folder=tmp_path / "changed"))
    second = fit_fold(changed, fold, FoldFeatures(changed.new_view(), changed.dataset), check_chance=False)
    if first.stop_idx is not None:
        assert not np.intersect1d(first.stop_idx, held).size and not np.intersect1d(first.fit_idx, held).size
    np.testing.assert_allclose(second.test, first.test, atol=1e-5,
                               err_msg=f"{name}: changing the held-out fold changed the model's test predictions")


@pytest.mark.parametrize("name", CONTRACT_MODELS)
def test_stopping_rows_matter_only_to_a_model_that_stops_early(fashion, name):
    from kaggletk.data import load_dataset

    cls = get_model_class(name)
    d = load_dataset("fashion_mnist", "sample", fashion)
    view = get_view(cls.default_view if cls.default_view in ("pixels", "image") else "pixels")
    X, y = view.transform(d.train_images[:1000]), d.y[:1000]
    X_stop, y_stop = view.transform(d.train_images[1000:1300]), d.y[1000:1300]
    noise = view.transform(np.random.default_rng(2).integers(0, 256, size=d.train_images[1000:1300].shape, dtype=np.uint8))
    X_test = view.transform(d.test_images)

    def predict(stop_X):
        model = cls(_params(name), n_classes=10, device="cpu", seed=0)
        model.fit(X, y, X_stop=stop_X, y_stop=np.roll(y_stop, 3) if stop_X is noise else y_stop)
        return model, model.predict_proba(X_test)

    model, real = predict(X_stop)
    _, fake = predict(noise)
    if model.stops_early:
        assert model.history_.get("val_loss"), f"{name} declares it stops early but watched no stopping rows"
    else:
        np.testing.assert_allclose(fake, real, atol=1e-6, err_msg=f"{name} does not stop early but its stopping rows changed it")
        assert not any(k.startswith("val_") for k in model.history_), f"{name} recorded validation metrics it should not have"
