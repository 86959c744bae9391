"""Blending on small real OOF sets: every method, honest stacking, refusals, submissions, local score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaggletk.blend import run_blend
from kaggletk.blend._base import BlendInput
from kaggletk.blend.hill import hill_climb
from kaggletk.blend.stack import StackBlend
from kaggletk.cv import CvRequest, run_cv
from kaggletk.data import load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import load_folds
from kaggletk.store import load_run
from kaggletk.submission import score_submission, validate_submission
from tests.conftest import run_cli


THREE = ["logreg-pca-sample", "logreg-hog-sample", "lgbm-pca-sample"]


@pytest.fixture(scope="module")
def sign_project(tmp_path_factory):
    """A project with three real, different runs on the Sign MNIST sample, made once for this module."""
    from tests.conftest import make_project

    with pytest.MonkeyPatch.context() as mp:
        root = make_project(tmp_path_factory.mktemp("blend"), mp)
        for model, view in (("logreg", "pca"), ("logreg", "hog"), ("lgbm", "pca")):
            run_cv(CvRequest("sign_mnist", model, view=view, data="sample", params={"n_estimators": 30} if model == "lgbm" else None))
        yield root


@pytest.fixture
def three_runs(sign_project, monkeypatch):
    monkeypatch.setenv("KAGGLETK_HOME", str(sign_project))
    return list(THREE)


def test_auto_blend_scores_every_method_on_the_same_folds_and_keeps_the_best(three_runs):
    result = run_blend("sign_mnist", three_runs, method="auto")
    methods = {row["method"]: row for row in result.table}
    assert {"mean", "rank", "hill", "stack"} <= set(methods)
    best = max(("mean", "rank", "hill", "stack"), key=lambda m: methods[m]["cv"]["accuracy"])
    assert result.chosen == best and result.metric == "accuracy"
    run = result.run
    assert run.manifest.kind == "blend" and run.manifest.blend.runs == three_runs
    assert run.oof().shape == (3000, 24) and run.test().shape == (1000, 24)
    dataset = load_dataset("sign_mnist", "sample")
    assert abs((run.oof().argmax(1) == dataset.y).mean() - methods[best]["oof"]["accuracy"]) < 1e-9
    singles = [r["cv"]["accuracy"] for r in result.table if r["method"].startswith("run ")]
    assert methods[best]["cv"]["accuracy"] >= max(singles) - 0.005
    # the blend table's CV scores are the leaderboard's: the mean over the folds, for the runs as for the blend
    for row in result.table:
        if row.get("run"):
            assert row["cv"] == load_run("sign_mnist", row["run"]).manifest.cv.mean
    assert run.manifest.cv.mean == pytest.approx(methods[best]["cv"])
    # a blend's summary is written by the same code as a run's: every metric, per fold mean and std, OOF, test
    assert set(run.manifest.cv.mean) == set(run.manifest.cv.oof) == {"accuracy", "macro_f1", "weighted_f1", "log_loss"}
    assert run.manifest.test.scores["accuracy"] == pytest.approx(methods[best]["test"].scores["accuracy"])
    weights = methods["hill"]["details"]["weights"]
    assert abs(sum(weights.values()) - 1) < 1e-9 and set(weights) == set(three_runs)


def test_each_method_writes_a_valid_submission_with_original_labels(three_runs):
    for method in ("mean", "rank", "hill", "stack"):
        status, out, err = run_cli("blend", "sign_mnist", "--runs", ",".join(three_runs), "--method", method, "--data", "sample")
        assert status == 0, err
        path = load_run("sign_mnist", f"blend-{method}-sample").folder.parents[2] / "submissions" / "sign_mnist" / f"blend-{method}-sample.csv"
        frame = pd.read_csv(path)
        assert list(frame.columns) == ["ID", "Prediction"] and list(frame["ID"]) == list(range(1000))
        assert 9 not in set(frame["Prediction"]) and set(frame["Prediction"]) <= set(load_dataset("sign_mnist", "sample").competition.labels)
        assert 24 in set(frame["Prediction"])  # Y is predicted as its label value 24, never as index 23
        score = score_submission("sign_mnist", path, "sample")
        assert score.accuracy > 0.3
        # a blend that does not beat the best single run says so and names the run to submit instead
        blended = load_run("sign_mnist", f"blend-{method}-sample").manifest.cv.oof["accuracy"]
        best_single = max(three_runs, key=lambda r: load_run("sign_mnist", r).manifest.cv.oof["accuracy"])
        loses = load_run("sign_mnist", best_single).manifest.cv.oof["accuracy"] >= blended
        assert ("no blend beats the best single run " + best_single in " ".join(out.split())) == loses
    status, out, _ = run_cli("leaderboard", "sign_mnist")
    assert "blend-stack-sample" in out and "blend:stack" in out


def test_stacker_score_is_out_of_fold_not_fitted_on_the_rows_it_scores(project):
    """Pure-noise 'runs': a meta-model fitted on all rows memorises them; a nested one scores chance."""
    from kaggletk.folds import Folds

    dataset = load_dataset("fashion_mnist", "sample")
    saved = load_folds(dataset)
    n = 800
    folds = Folds(saved.assignment[:n], saved.scheme, saved.n_splits, saved.seed, saved.fingerprint)
    y = dataset.y[:n]
    rng = np.random.default_rng(0)
    noise = rng.dirichlet(np.ones(10), size=(5, n)).astype(np.float32)
    test = rng.dirichlet(np.ones(10), size=(5, 100)).astype(np.float32)
    from types import SimpleNamespace

    from kaggletk.metrics import get_metric

    data = BlendInput([SimpleNamespace(name=f"noise{i}") for i in range(5)], noise, test, y, folds, get_metric("accuracy"))
    stack = StackBlend(stacker="lgbm")
    honest = (stack.blend(data).oof.argmax(1) == y).mean()
    from kaggletk.blend.stack import STACKERS, features

    cheat = STACKERS.get("lgbm")(0).fit(features(noise, False), y)
    cheating = (cheat.predict_proba(features(noise, False)).argmax(1) == y).mean()
    assert honest < 0.14, f"nested stacker found signal in noise: {honest:.3f}"
    assert cheating > 0.3, "the check would not catch a meta-model fitted on all rows"


def test_hill_climbing_prefers_the_better_run():
    y = np.array([0, 1, 2, 0, 1, 2])
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    bad = np.roll(good, 1, axis=1)
    counts = hill_climb(np.stack([bad, good]), y)
    assert counts[1] >= 1 and counts[1] > counts[0]


def test_hill_climbing_weights_each_fold_on_the_other_folds_rows_alone_in_threads_as_in_series(three_runs):
    """The per-fold climbs run in parallel threads: each fold's OOF rows are weighted by a climb on the other folds'
    rows only (the held-out rows are never seen), and the result is bit for bit the serial one."""
    from types import SimpleNamespace

    from kaggletk.blend.hill import HillClimbBlend
    from kaggletk.metrics import get_metric

    runs = [load_run("sign_mnist", name) for name in three_runs]
    dataset = load_dataset("sign_mnist", "sample")
    folds = load_folds(dataset)
    oof, test = np.stack([r.oof() for r in runs]), np.stack([r.test() for r in runs])
    data = BlendInput([SimpleNamespace(name=n) for n in three_runs], oof, test, dataset.y, folds, get_metric("accuracy"))

    class Serial(HillClimbBlend):
        n_jobs = 1

    threaded, serial = HillClimbBlend(), Serial()
    threaded.n_jobs = 2
    out, one_by_one = threaded.blend(data), serial.blend(data)
    assert out.details == one_by_one.details
    np.testing.assert_array_equal(out.oof, one_by_one.oof)
    np.testing.assert_array_equal(out.test, one_by_one.test)
    for fold in range(folds.n_splits):
        fit_rows, held = folds.split(fold)
        counts = hill_climb(oof[:, fit_rows], dataset.y[fit_rows])
        np.testing.assert_allclose(out.oof[held], np.tensordot(counts / counts.sum(), oof[:, held], axes=1), atol=1e-6)
    counts = hill_climb(oof, dataset.y)
    assert out.details["counts"] == counts.tolist()
    np.testing.assert_allclose(out.test, np.tensordot(counts / counts.sum(), test, axes=1), atol=1e-6)


def test_mixed_fold_hashes_and_partial_runs_are_refused(three_runs):
    run_cv(CvRequest("sign_mnist", "logreg", data="sample", n_folds=3, name="k3"), overwrite=True)
    with pytest.raises(KaggletkError, match=r"different folds \(logreg-pca-sample=\w+, k3=\w+\)"):
        run_blend("sign_mnist", ["logreg-pca-sample", "k3"])
    run_cv(CvRequest("sign_mnist", "logreg", data="sample", name="half"), fold=0, overwrite=True)
    with pytest.raises(KaggletkError, match=r"run half is partial \(missing fold-1, fold-2, fold-3, fold-4\)"):
        run_blend("sign_mnist", ["logreg-pca-sample", "half"])
    with pytest.raises(KaggletkError, match="no run 'nope'"):
        run_blend("sign_mnist", ["logreg-pca-sample", "nope"])
    result = run_blend("sign_mnist", None, method="mean", data="sample")  # --all leaves out the partial and other-fold runs
    assert set(result.run.manifest.blend.runs) == set(three_runs)


SUBMISSION_CASES = {
    "wrong header": (lambda f: f.rename(columns={"Prediction": "Label"}), "columns are ID,Label; expected exactly ID,Prediction"),
    "extra column": (lambda f: f.assign(x=1), "expected exactly ID,Prediction"),
    "missing row": (lambda f: f.iloc[:-1], "999 rows, expected 1000"),
    "duplicate ID": (lambda f: f.assign(ID=f["ID"].where(f.index != 5, 4)), "ID 4 is listed twice (lines 6 and 7)"),
    "unknown ID": (lambda f: f.assign(ID=f["ID"].where(f.index != 3, 5000)), "line 5: ID 5000 is not a test ID"),
    "label J": (lambda f: f.assign(Prediction=f["Prediction"].where(f.index != 10, 9)), "line 12, column Prediction: '9' is not a label of sign_mnist"),
    "internal index": (lambda f: f.assign(Prediction=f["Prediction"].where(f.index != 2, 25)), "line 4, column Prediction: '25' is not a label"),
    "empty cell": (lambda f: f.astype(object).assign(Prediction=f["Prediction"].astype(object).where(f.index != 8, "")), "line 10, column Prediction"),
    "text label": (lambda f: f.astype(object).assign(Prediction=f["Prediction"].astype(object).where(f.index != 1, "Y")), "line 3, column Prediction: 'Y' is not a label"),
    "float label": (lambda f: f.astype(object).assign(Prediction=f["Prediction"].astype(object).where(f.index != 1, "3.0")), "line 3, column Prediction: '3.0' is not a label"),
    "float ID": (lambda f: f.astype(object).assign(ID=f["ID"].astype(object).where(f.index != 6, "6.0")), "line 8: ID 6.0 is not a test ID"),
    "exponent ID": (lambda f: f.astype(object).assign(ID=f["ID"].astype(object).where(f.index != 6, "6e0")), "line 8: ID 6e0 is not a test ID"),
    "20-digit ID": (lambda f: f.astype(object).assign(ID=f["ID"].astype(object).where(f.index != 6, "9" * 20)), "line 8: ID 99999999999999999999 is not a test ID"),
}


@pytest.mark.parametrize("case", list(SUBMISSION_CASES))
def test_validate_names_the_first_bad_row(project, case, tmp_path):
    dataset = load_dataset("sign_mnist", "sample")
    good = pd.DataFrame({"ID": dataset.test_ids, "Prediction": dataset.holdout_labels()})
    path = tmp_path / "s.csv"
    good.to_csv(path, index=False)
    assert validate_submission("sign_mnist", path, "sample") == 1000
    assert score_submission("sign_mnist", path, "sample").accuracy == 1.0
    edit, message = SUBMISSION_CASES[case]
    edit(good).to_csv(path, index=False)
    status, _, err = run_cli("validate", "sign_mnist", str(path), "--data", "sample")
    assert status == 2 and message in err and err.count("\n") == 1


def test_empty_submission_file(project, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("")
    with pytest.raises(KaggletkError, match="s.csv: empty file"):
        validate_submission("sign_mnist", path, "sample")


def test_predict_writes_a_run_submission_and_score_matches_the_manifest(three_runs, sign_project):
    status, out, _ = run_cli("predict", "sign_mnist", "--run", "logreg-hog-sample")
    assert status == 0
    path = sign_project / "submissions" / "sign_mnist" / "logreg-hog-sample.csv"
    status, out, _ = run_cli("score", "sign_mnist", str(path), "--data", "sample")
    expected = load_run("sign_mnist", "logreg-hog-sample").manifest.test.scores["accuracy"]
    assert status == 0 and f"test accuracy {expected:.4f}" in out


def test_the_logreg_stacker_fits_its_folds_in_parallel_to_the_same_models_as_one_after_another(project):
    """Each fold's level-2 model comes back to its own fold: threads change the time, not one probability."""
    from types import SimpleNamespace

    from kaggletk.metrics import get_metric

    dataset = load_dataset("fashion_mnist", "sample")
    folds, y = load_folds(dataset), dataset.y
    rng = np.random.default_rng(1)
    signal = np.eye(10)[y] * rng.uniform(0.5, 3.0, size=(4, 1, 1)) + rng.normal(0, 1.0, (4, len(y), 10))
    oof = (np.exp(signal) / np.exp(signal).sum(axis=2, keepdims=True)).astype(np.float32)
    test = rng.dirichlet(np.ones(10), size=(4, 200)).astype(np.float32)
    data = BlendInput([SimpleNamespace(name=f"run{i}") for i in range(4)], oof, test, y, folds, get_metric("accuracy"))

    class OneAfterAnother(StackBlend):
        n_jobs = 1

    class Parallel(StackBlend):
        n_jobs = 2

    serial, parallel = OneAfterAnother().blend(data), Parallel().blend(data)
    np.testing.assert_array_equal(parallel.oof, serial.oof)
    np.testing.assert_array_equal(parallel.test, serial.test)
    assert parallel.details == serial.details and sorted(parallel.files) == sorted(serial.files)
    assert (parallel.oof.argmax(1) == y).mean() > 0.8
