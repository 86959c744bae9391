"""Pseudo-labels (``cv --pseudo-labels RUN``): each fold learns from its own source fold's confident test rows, and
nothing else; refusals come before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

from kaggletk.cv import CvRequest, FoldFeatures, prepare, run_cv
from kaggletk.errors import KaggletkError
from tests.conftest import run_cli


def _request(name, **kw):
    return CvRequest("fashion_mnist", "logreg", data="sample", name=name, **kw)


def test_each_fold_learns_from_its_own_source_fold_confident_test_rows_and_nothing_else(project):
    first = run_cv(_request("first")).run
    request = _request("second", pseudo_labels="first", pseudo_threshold=0.9)
    second = run_cv(request).run
    assert second.complete and second.manifest.pseudo_labels == {"run": "first", "threshold": 0.9}
    averaged = first.test().max(axis=1) >= 0.9
    differs = 0
    for fold in range(5):
        source = first.fold(fold)["test"]
        confident = source.max(axis=1) >= 0.9
        record = second.manifest.folds[fold].extra["pseudo"]
        assert record == {"run": "first", "threshold": 0.9, "rows": int(confident.sum()),
                          "source_sha256": first.manifest.folds[fold].sha256}
        assert 0 < record["rows"] < len(source)
        differs += int((confident != averaged).any())
    assert differs, "every fold picked the rows the averaged test probabilities pick: the test cannot tell them apart"
    # Fold 0 by hand: the view fitted on the fold's training rows, the model on those rows plus the source fold
    # model's confident test rows with its labels. The held-out rows are only predicted.
    setup = prepare(request)
    train_idx, valid_idx = setup.folds.split(0)
    X_fit, X_valid, X_test = FoldFeatures(setup.new_view(), setup.dataset).for_fold(train_idx, valid_idx)
    source = first.fold(0)["test"]
    rows = np.flatnonzero(source.max(axis=1) >= 0.9)
    model = setup.new_model(0).fit(np.concatenate([X_fit, X_test[rows]]),
                                   np.concatenate([setup.dataset.y[train_idx], source[rows].argmax(axis=1)]))
    np.testing.assert_allclose(second.fold(0)["oof"], model.predict_proba(X_valid), atol=1e-6)
    assert not np.allclose(second.fold(0)["oof"], first.fold(0)["oof"], atol=1e-4)  # the pseudo-labels did change it
    # another threshold is another run
    with pytest.raises(KaggletkError, match="other settings.*pseudo_labels"):
        run_cv(_request("second", pseudo_labels="first", pseudo_threshold=0.99))


def test_pseudo_label_sources_are_refused_in_one_line_before_anything_is_written(project):
    assert run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "one-fold", "--fold", "0")[0] == 0
    assert run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "three", "--folds", "3")[0] == 0
    assert run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "b", "--folds", "3",
                   "--seed", "1")[0] == 0
    assert run_cli("blend", "fashion_mnist", "--runs", "three,b", "--method", "mean", "--data", "sample", "--name", "mix")[0] == 0
    cases = [
        (["--pseudo-labels", "one-fold"], "that run has no folds 1, 2, 3, 4 yet"),
        (["--pseudo-labels", "three"], "that run was made on folds"),
        (["--pseudo-labels", "mix", "--folds", "3"], "a blend's test predictions mix every fold's model"),
        (["--pseudo-labels", "one-fold", "--pseudo-threshold", "0"], "--pseudo-threshold 0.0: give a probability in (0, 1]"),
        (["--pseudo-labels", "nosuch"], "no run 'nosuch'"),
        (["--pseudo-labels", "new", "--name", "new", "--folds", "3"], "a run cannot label itself"),
    ]
    for extra, message in cases:
        status, _, err = run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "new", *extra)
        assert status == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, (extra, err)
        assert not (project / "oof" / "fashion_mnist" / "new").exists(), extra
    # the one finished source fold is enough for that fold alone
    status, _, err = run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "new",
                             "--pseudo-labels", "one-fold", "--fold", "0")
    assert status == 0, err


@pytest.mark.slow
def test_a_pseudo_run_is_not_resumed_on_labels_from_a_source_that_was_trained_again(project):
    """Fold by fold a pseudo run resumes (a killed fold at its epoch checkpoint) while its source is unchanged; once the
    source is trained again, neither its finished folds nor its checkpoint are mixed with the new labels."""
    import signal

    from kaggletk.store import load_run
    from tests.test_reliability import _kaggletk

    base = ["cv", "fashion_mnist", "--data", "sample", "--folds", "3"]
    assert run_cli(*base, "--model", "logreg", "--name", "first")[0] == 0
    second = [*base, "--model", "mlp", "--name", "second", "--pseudo-labels", "first",
              "--params", '{"epochs": 2, "patience": null}']
    folder = project / "oof" / "fashion_mnist" / "second"
    assert run_cli(*second, "--fold", "0")[0] == 0
    for fold in (1, 2):  # each killed after its first epoch; fold 1 is then resumed, fold 2 left in its checkpoint
        killed = _kaggletk(project, *second, "--fold", str(fold), env={"KAGGLETK_CRASH_AT": "epoch-saved"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert (folder / f".fold-{fold}.checkpoint" / "checkpoint.json").exists()
    status, _, err = run_cli(*second, "--fold", "1")
    assert status == 0, err
    run = load_run("fashion_mnist", "second")
    assert sorted(run.manifest.folds) == [0, 1] and len(run.history(1)["loss"]) == 2
    # the source trained again with another C: its fold files (and confident rows) change
    assert run_cli(*base, "--model", "logreg", "--name", "first", "--params", '{"C": 0.01}', "--overwrite")[0] == 0
    before = (folder / "manifest.json").read_bytes()
    status, _, err = run_cli(*second)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "folds 0, 1, 2 learned from pseudo-labels of run first's folds 0, 1, 2" in err and "--overwrite" in err, err
    assert (folder / "manifest.json").read_bytes() == before and (folder / ".fold-2.checkpoint" / "checkpoint.json").exists()
    status, _, err = run_cli(*second, "--overwrite")
    assert status == 0, err
    first, run = load_run("fashion_mnist", "first"), load_run("fashion_mnist", "second")
    assert run.complete and not list(folder.glob(".fold-*.checkpoint"))
    for fold in range(3):
        assert run.manifest.folds[fold].extra["pseudo"]["source_sha256"] == first.manifest.folds[fold].sha256
