"""The Python API for notebooks: kaggletk's calls, scikit-learn conventions, user callbacks, saved fold models for inference,
MLflow tracking, and the example notebook run end to end in a real Jupyter kernel."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

import kaggletk
from kaggletk.errors import KaggletkError
from tests.conftest import run_cli
from tests.helpers import REPO


def test_import_kaggletk_exposes_the_api():
    for name in ("cv", "tune", "blend", "predict", "submit", "leaderboard", "report", "load", "RunResult", "Callback"):
        assert name in dir(kaggletk), name


def test_cv_returns_a_run_that_shows_itself(project):
    run = kaggletk.cv("fashion_mnist", "logreg", data="sample", folds=3, progress=False)
    assert run.oof.shape == (3000, 10) and run.test.shape == (1000, 10)
    assert 0.7 < run.scores["cv"]["accuracy"] < 1 and run.scores["test"]["accuracy"] > 0.7
    summary = run.summary()
    assert list(summary.index) == [0, 1, 2, "mean", "std"] and "macro_f1" in summary.columns
    html = run._repr_html_()
    assert "<table" in html and html.count("data:image/png;base64,") >= 1  # the summary and the confusion matrix, inline
    board = kaggletk.leaderboard("fashion_mnist")
    assert board.loc["logreg-pca-sample", "cv"] == pytest.approx(run.scores["cv"]["accuracy"])


def test_adapters_follow_scikit_learn_conventions(project):
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from kaggletk.data import load_dataset
    from kaggletk.models import get_model_class
    from kaggletk.views import get_view

    model = get_model_class("xgb")({"n_estimators": 20, "early_stopping_rounds": None}, n_classes=10, seed=3)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    copy.set_params(params__max_depth=3, seed=4)
    assert copy.params["max_depth"] == 3 and copy.seed == 4 and "max_depth" not in model.params
    dataset = load_dataset("fashion_mnist", "sample")
    X, y = get_view("pixels").transform(dataset.train_images[:600]), dataset.y[:600]
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.5
    pipeline = make_pipeline(FunctionTransformer(lambda a: a * 2.0), get_model_class("logreg")({"max_iter": 50}))
    assert pipeline.fit(X, y).predict(X[:5]).shape == (5,)


def test_user_keras_callbacks_reach_every_fold(project, tmp_path):
    from kaggletk.models._keras import import_keras

    keras = import_keras()
    logs = tmp_path / "logs"
    logs.mkdir()

    class PerFold(keras.callbacks.Callback):
        fits = 0

        def on_train_begin(self, logs_=None):
            PerFold.fits += 1
            self.logger = keras.callbacks.CSVLogger(str(logs / f"fit-{PerFold.fits}.csv"))
            self.logger.set_model(self.model)
            self.logger.on_train_begin()

        def on_epoch_end(self, epoch, logs_=None):
            self.logger.on_epoch_end(epoch, logs_)

        def on_train_end(self, logs_=None):
            self.logger.on_train_end()

    kaggletk.cv("fashion_mnist", "mlp", data="sample", folds=2, params={"epochs": 2}, callbacks=[PerFold()], progress=False)
    files = sorted(logs.glob("fit-*.csv"))
    assert len(files) == 2 and all(len(f.read_text().splitlines()) == 3 for f in files)  # a header and 2 epochs per fold


def test_boosted_trees_callbacks_reach_every_fold(project):
    import xgboost

    class Rounds(xgboost.callback.TrainingCallback):
        fits = rounds = 0

        def before_training(self, model):
            Rounds.fits += 1
            return model

        def after_iteration(self, model, epoch, evals_log):
            Rounds.rounds += 1
            return False

    kaggletk.cv("fashion_mnist", "xgb", data="sample", folds=2, params={"n_estimators": 5, "early_stopping_rounds": None},
                callbacks=[Rounds()], progress=False)
    assert (Rounds.fits, Rounds.rounds) == (2, 10)
    calls = []

    def lgbm_callback(env):  # LightGBM's callback protocol: a callable taking the CallbackEnv
        calls.append(env.iteration)

    kaggletk.cv("fashion_mnist", "lgbm", data="sample", folds=2, params={"n_estimators": 4, "early_stopping_rounds": None},
                callbacks=[lgbm_callback], progress=False)
    assert calls == [0, 1, 2, 3, 0, 1, 2, 3]


def test_saved_fold_models_predict_the_runs_test_probabilities_exactly(project):
    from kaggletk.data import load_dataset

    run = kaggletk.cv("fashion_mnist", "xgb", data="sample", folds=2, params={"n_estimators": 20}, progress=False)
    dataset = load_dataset("fashion_mnist", "sample")
    np.testing.assert_array_equal(run.predict_proba(dataset.test_images), run.test)
    entry = run.run.manifest.folds[0].extra["model"]
    assert set(entry) == {"model", "meta", "view"} and all(len(e["sha256"]) == 64 for e in entry.values())
    assert entry["model"]["file"] == "fold-0.model.ubj" and entry["view"]["file"] == "fold-0.view.npz"
    labels = run.predict(dataset.test_images[:10])
    assert set(labels) <= set(dataset.competition.labels)


def test_a_tampered_saved_model_is_refused(project):
    from kaggletk.data import load_dataset

    run = kaggletk.cv("fashion_mnist", "logreg", data="sample", folds=2, progress=False)
    saved = run.run.folder / run.run.manifest.folds[1].extra["model"]["model"]["file"]
    saved.write_bytes(saved.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(KaggletkError, match="changed since it was saved"):
        run.predict_proba(load_dataset("fashion_mnist", "sample").test_images[:3])


def test_blends_predict_new_images_through_their_inputs(project):
    from kaggletk.data import load_dataset

    for model in ("logreg", "xgb"):
        kaggletk.cv("fashion_mnist", model, data="sample", folds=2, params={"n_estimators": 20} if model == "xgb" else None,
                    progress=False)
    test_images = load_dataset("fashion_mnist", "sample").test_images
    for method in ("mean", "hill", "stack"):
        blended = kaggletk.blend("fashion_mnist", data="sample", method=method, name=f"b-{method}")
        np.testing.assert_allclose(blended.predict_proba(test_images), blended.test, atol=1e-6)


def test_predict_images_on_the_command_line(project, tmp_path):
    from kaggletk.data import load_dataset

    kaggletk.cv("fashion_mnist", "logreg", data="sample", folds=2, progress=False)
    images = load_dataset("fashion_mnist", "sample").test_images[:20]
    source = tmp_path / "new.csv"
    with open(source, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"pixel{i}" for i in range(784)])
        writer.writerows(img.ravel() for img in images)
    status, out, err = run_cli("predict", "fashion_mnist", "--run", "logreg-pca-sample", "--images", str(source), "--proba")
    assert status == 0, err
    rows = list(csv.reader(open(f"{source}.predictions.csv")))
    assert rows[0][:2] == ["row", "label"] and len(rows) == 21 and len(rows[0]) == 12
    status, _, err = run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--folds", "2", "--name", "light",
                             "--no-models")
    assert status == 0, err
    status, _, err = run_cli("predict", "fashion_mnist", "--run", "light", "--images", str(source))
    assert status == 2 and "has no saved fold models" in err


def test_mlflow_logs_a_run_to_a_local_store(project):
    mlflow = pytest.importorskip("mlflow")
    status, _, err = run_cli("cv", "fashion_mnist", "--model", "mlp", "--data", "sample", "--folds", "2", "--params",
                             '{"epochs": 2}', "--track", "mlflow")
    assert status == 0, err
    mlflow.set_tracking_uri(f"sqlite:///{project / 'oof' / 'fashion_mnist' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["fashion_mnist"])
    assert len(runs) == 1 and runs.iloc[0]["tags.mlflow.runName"] == "mlp-pixels-sample"
    assert runs.iloc[0]["params.model"] == "mlp" and 0 < runs.iloc[0]["metrics.cv_accuracy"] < 1
    client = mlflow.tracking.MlflowClient()
    run_id = runs.iloc[0]["run_id"]
    assert len(client.get_metric_history(run_id, "fold_accuracy")) == 2
    assert len(client.get_metric_history(run_id, "history_fold0_loss")) == 2
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"manifest.json", "mlp-pixels-sample.csv"} <= artifacts


def test_the_example_notebook_runs_in_a_jupyter_kernel(project, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(REPO / "examples" / "notebook.ipynb", as_version=4)
    monkeypatch.setenv("KAGGLETK_HOME", str(project))  # the kernel inherits the environment
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(project)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if o.output_type == "execute_result" and "text/html" in o.get("data", {})]
    assert any("data:image/png;base64" in h for h in html)  # a run displayed itself with its figures
    assert (project / "submissions" / "fashion_mnist").is_dir()
