"""Adding a model is one file plus one registry line: cv, tune, blend, report and the progress bar work with it untouched."""

from __future__ import annotations

import numpy as np
import pytest

from kaggletk.models import MODELS
from kaggletk.store import load_run
from tests.conftest import run_cli


@pytest.fixture
def hgb_registered():
    MODELS.register("hgb", "tests.toy_hgb:HgbModel")  # the one line
    yield
    MODELS.unregister("hgb")


def test_a_new_model_works_everywhere_without_touching_kaggletk(project, hgb_registered):
    status, out, err = run_cli("cv", "fashion_mnist", "--model", "hgb", "--data", "sample", "--folds", "3")
    assert status == 0, err
    assert "hgb-pca-sample" in out and "CV accuracy" in out
    assert "hgb fold 2: accuracy" in err  # the progress callback printed each fold
    run = load_run("fashion_mnist", "hgb-pca-sample")
    assert run.complete and run.manifest.early_stopping == "inner" and run.manifest.step_unit == "round"
    history = run.history(0)
    assert history["val_loss"] and all(np.isfinite(history["val_loss"]))  # standard keys, recorded by the base class
    assert all(run.manifest.folds[f].n_stop > 0 for f in range(3))  # it watched stopping rows of the training part

    status, out, err = run_cli("tune", "fashion_mnist", "--model", "hgb", "--data", "sample", "--trials", "2", "--folds", "1")
    assert status == 0, err
    assert "best CV accuracy" in out and "trial 1:" in err

    assert run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--folds", "3")[0] == 0
    status, out, err = run_cli("blend", "fashion_mnist", "--runs", "hgb-pca-sample,logreg-pca-sample", "--data", "sample")
    assert status == 0, err
    assert "run hgb-pca-sample" in out

    status, out, err = run_cli("report", "fashion_mnist", "--data", "sample")
    assert status == 0, err
    html = (run.folder.parent / "report" / "report.html").read_text()
    assert "hgb-pca-sample" in html and "figures/curves-hgb-pca-sample.png" in html

    status, out, _ = run_cli("models")
    assert status == 0 and "hgb" in out
