"""``kaggletk cv`` over the saved folds: the OOF store, resume, refusals, the chance guard."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kaggletk.cv import CvRequest, run_cv
from kaggletk.data import load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import load_folds
from kaggletk.store import fold_models_test_scores, list_runs, load_run
from tests.conftest import run_cli


def test_cv_writes_oof_test_and_manifest(project):
    result = run_cv(CvRequest("fashion_mnist", "logreg", data="sample"))
    run = result.run
    assert run.name == "logreg-pca-sample" and run.complete and result.ran_folds == [0, 1, 2, 3, 4]
    oof, test = run.oof(), run.test()
    assert oof.shape == (3000, 10) and test.shape == (1000, 10) and oof.dtype == np.float32
    np.testing.assert_allclose(oof.sum(axis=1), 1.0, atol=1e-5)
    m = run.manifest
    dataset = load_dataset("fashion_mnist", "sample")
    assert m.fold_hash == load_folds(dataset).hash and m.data == "sample"
    assert set(m.folds) == {0, 1, 2, 3, 4}
    for entry in m.folds.values():
        assert {"accuracy", "macro_f1", "log_loss"} <= set(entry.scores) and entry.fit_seconds > 0
    assert 0.7 < m.cv.mean["accuracy"] < 0.95 and m.cv.std["accuracy"] > 0
    # the OOF accuracy is what the per-fold files say, row by row
    assert abs((oof.argmax(1) == dataset.y).mean() - m.cv.oof["accuracy"]) < 1e-9
    assert m.test.scores["accuracy"] > 0.7  # held-out labels scored, never trained on
    # each fold model is also scored alone on the test set: the like-for-like counterpart of the CV score
    holdout = dataset.competition.to_index(dataset.holdout_labels())
    singles = [(run.fold(f)["test"].argmax(1) == holdout).mean() for f in range(5)]
    np.testing.assert_allclose(m.test.fold_models["accuracy"], singles)
    assert fold_models_test_scores(run, dataset).fold_models_mean("accuracy") == pytest.approx(np.mean(singles))
    m.test.fold_models = {}  # runs made before this field existed are scored from their fold files
    assert fold_models_test_scores(run, dataset).fold_models_mean("accuracy") == pytest.approx(np.mean(singles))
    assert "scikit-learn" in m.versions and m.params["C"] == 0.1


def test_interrupted_run_resumes_to_the_same_oof(project):
    whole = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="whole")).run
    run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="pieces"), fold=3)
    partial = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="pieces"), fold=0).run
    assert not partial.complete and partial.missing_folds() == [1, 2, 4]
    with pytest.raises(KaggletkError, match=r"run pieces is partial \(missing fold-1, fold-2, fold-4\)"):
        partial.oof()
    result = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="pieces"))
    assert result.skipped_folds == [0, 3] and result.ran_folds == [1, 2, 4]
    np.testing.assert_array_equal(result.run.oof(), whole.oof())
    np.testing.assert_array_equal(result.run.test(), whole.test())


def test_a_corrupt_fold_file_is_rerun_not_trusted(project):
    run = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r"), fold=1).run
    (run.folder / "fold-1.npz").write_bytes(b"garbage")
    result = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r"), fold=1)
    assert result.ran_folds == [1]


def test_run_refuses_folds_whose_hash_changed(project):
    run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r"), fold=0)
    path = project / "competitions" / "fashion_mnist" / "competition.py"
    path.write_text(path.read_text().replace("n_folds=5,", "n_folds=5, fold_seed=7,"))
    with pytest.raises(KaggletkError, match=r"run r was made on folds \w+ .* refusing to mix them"):
        run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r"))


def test_other_params_under_the_same_name_are_refused(project):
    run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r"), fold=0)
    with pytest.raises(KaggletkError, match=r"run r exists with other settings \(the run's -> this command's: params: C 0.1 -> 1.0\)"):
        run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r", params={"C": 1.0}), fold=0)
    result = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r", params={"C": 1.0}), fold=0, overwrite=True)
    assert result.run.manifest.params["C"] == 1.0
    # same settings: a rerun resumes (nothing to do), --overwrite trains the fold again
    assert run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r", params={"C": 1.0}), fold=0).ran_folds == []
    again = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="r", params={"C": 1.0}), fold=0, overwrite=True)
    assert again.ran_folds == [0] and again.run.done_folds() == [0]


def test_a_model_that_learns_nothing_fails_loudly(project):
    with pytest.raises(KaggletkError, match=r"lgbm fold 0: validation accuracy 1\d\.\d% is at chance level"):
        run_cv(CvRequest("fashion_mnist", "lgbm", data="sample", name="flat", params={"min_child_samples": 100000, "n_estimators": 20}), fold=0)
    assert not (load_run("fashion_mnist", "flat").folder / "fold-0.npz").exists()


def test_sign_labels_and_views(project):
    run = run_cv(CvRequest("sign_mnist", "logreg", view="hog", data="sample")).run
    assert run.oof().shape == (3000, 24)
    both = run_cv(CvRequest("sign_mnist", "logreg", view="pcahog", data="sample")).run
    assert both.complete and both.manifest.view == "pcahog"
    assert both.manifest.cv.mean["accuracy"] > run.manifest.cv.mean["accuracy"] - 0.05
    with pytest.raises(KaggletkError, match="hflip is not allowed for sign_mnist"):
        run_cv(CvRequest("sign_mnist", "cnn", data="sample", params={"hflip": True}))
    with pytest.raises(KaggletkError, match="--view image: model xgb takes flat views \\(pixels, pca, hog, pcahog, compact\\)"):
        run_cv(CvRequest("sign_mnist", "xgb", view="image", data="sample"))


def test_params_file_and_tuned(project, tmp_path):
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"C": 0.5}))
    run = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", params=str(params), name="f"), fold=0).run
    assert run.manifest.params["C"] == 0.5 and run.manifest.param_source == str(params)
    with pytest.raises(KaggletkError, match="--params tuned: no tuned params for logreg on the sample data .*; run `kaggletk tune fashion_mnist --model logreg --data sample`"):
        run_cv(CvRequest("fashion_mnist", "logreg", data="sample", params="tuned"))
    tuned = project / "competitions" / "fashion_mnist" / "tuned"
    tuned.mkdir()
    (tuned / "logreg.sample.json").write_text(json.dumps({"model": "logreg", "view": "hog", "params": {"C": 0.2}}))
    run = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", params="tuned"), fold=0).run
    assert run.name == "logreg-hog-tuned-sample" and run.manifest.params["C"] == 0.2
    # your own tuning (kept under oof/, never written over the shipped file) wins over the shipped one
    own = project / "oof" / "fashion_mnist" / "tuned"
    own.mkdir(parents=True)
    (own / "logreg.sample.json").write_text(json.dumps({"model": "logreg", "view": "hog", "params": {"C": 0.3}}))
    run = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", params="tuned"), fold=0, overwrite=True).run
    assert run.manifest.params["C"] == 0.3


CLI_ERRORS = [
    (["cv", "fashion_mnist", "--model", "svm"], "--model 'svm': unknown model; known: mlp, lenet5, cnn, resnet, resnet20, xgb, lgbm, rf, logreg"),
    (["cv", "fashion_mnist", "--model", "xgbb"], "--model 'xgbb': unknown model; did you mean xgb?"),
    (["cv", "fashion_mnist", "--model", "logreg", "--view", "image"], "--view image: model logreg takes flat views"),
    (["cv", "fashion_mnist", "--model", "logreg", "--params", "{C: 1}"], "--params: not valid JSON"),
    (["cv", "fashion_mnist", "--model", "logreg", "--params", "nofile.json"], "neither a JSON object nor a file"),
    (["cv", "fashion_mnist", "--model", "mlp", "--params", '{"epochs": "5"}'], "'epochs' for model mlp must be an integer, got '5'"),
    (["cv", "fashion_mnist", "--model", "logreg", "--fold", "7"], "--fold 7: folds are numbered 0..4"),
    (["cv", "fashion_mnist", "--model", "logreg", "--name", "../x"], "invalid run name '../x'"),
    (["cv", "fashion_mnist", "--model", "mlp", "--device", "cpu", "--precision", "mixed_float16"],
     "--precision mixed_float16 is for GPUs (float16 is slow on a CPU); use bfloat16, float32 or auto"),
]


@pytest.mark.parametrize("argv,message", CLI_ERRORS)
def test_cli_refuses_bad_arguments_in_one_line(project, argv, message):
    status, _, err = run_cli(*argv, "--data", "sample")
    assert status == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    runs = [p for p in (project / "oof" / "fashion_mnist").glob("*") if p.name != "folds"]  # folds are a cache
    assert not runs, f"a refused request left a run behind: {runs}"


def test_cli_cv_prints_a_summary_and_the_leaderboard_lists_runs(project):
    status, out, err = run_cli("cv", "fashion_mnist", "--model", "logreg,logreg:hog", "--data", "sample")
    assert status == 0, err
    assert "logreg-pca-sample" in out and "CV accuracy" in out and "test accuracy" in out and "macro-F1" in out
    status, out, _ = run_cli("leaderboard", "fashion_mnist")
    assert status == 0
    lines = [l for l in out.splitlines() if "-sample" in l]
    assert len(lines) == 2 and all(load_folds(load_dataset("fashion_mnist", "sample")).hash in l for l in lines)
    assert {r.name for r in list_runs("fashion_mnist")} == {"logreg-pca-sample", "logreg-hog-sample"}


def test_the_leaderboard_fits_80_columns_with_every_run_name_whole(project, monkeypatch):
    from kaggletk.cli import _common

    for name in ("cnn-image-tuned-sample-long-name", "logreg-pca-sample"):
        run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name=name, n_folds=2))
    monkeypatch.setattr(_common.out, "width", 80)
    status, out, _ = run_cli("leaderboard", "fashion_mnist")
    assert status == 0
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    for name in ("cnn-image-tuned-sample-long-name", "logreg-pca-sample"):
        assert any(name in line for line in lines), name  # whole, on one line, never cut with an ellipsis
    assert "…" not in out and "--wide" in out
    status, wide, _ = run_cli("leaderboard", "fashion_mnist", "--wide")
    assert "fold hash" in " ".join(wide.split()) and "scheme" in wide
    status, text, _ = run_cli("leaderboard", "fashion_mnist", "--csv")
    header, *rows = text.splitlines()
    assert header.startswith("run,model,view") and len(rows) == 2
    status, text, _ = run_cli("leaderboard", "fashion_mnist", "--json")
    import json as json_

    assert {r["run"] for r in json_.loads(text)} == {"cnn-image-tuned-sample-long-name", "logreg-pca-sample"}


def test_the_manifest_records_every_precision_and_device_the_folds_computed_on(project):
    """A run resumed with another precision or device (``auto`` on another machine) says so: its manifest names both."""
    request = dict(competition="fashion_mnist", model="mlp", data="sample", params={"epochs": 1}, n_folds=2)
    first = run_cv(CvRequest(**request, precision="bfloat16"), fold=0).run
    assert first.manifest.precision == "bfloat16" and first.manifest.device == "cpu" and not first.complete
    run = run_cv(CvRequest(**request, precision="float32")).run
    assert run.complete and run.manifest.precision == "bfloat16+float32" and run.manifest.device == "cpu"
    again = run_cv(CvRequest(**request, precision="float32"), overwrite=True).run
    assert again.manifest.precision == "float32"
    # a fold resumed on a GPU machine adds its device the same way (this machine has none to train on)
    from kaggletk.cv._run import _merged

    assert _merged("cpu", "gpu") == _merged("gpu+cpu", "cpu") == "cpu+gpu" and _merged(None, "cpu") == "cpu"
