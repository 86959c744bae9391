"""Any Kaggle image-classification competition in one folder: `new` -> `fetch` -> `folds --check` -> `cv` -> `blend`
-> `predict` -> `validate` -> `score`, on real images written in the layouts Kaggle uses. The produced submission has
the sample submission's header and ID column byte for byte, and scores the same joined on the ID as Kaggle joins it."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.layouts import LAYOUTS, fashion_slice


@pytest.fixture(scope="module")
def real_slice():
    return fashion_slice()


def _column(path, index: int) -> list[str]:
    with open(path, newline="") as fh:
        return [row[index] for row in csv.reader(fh)][1:]


# Two layouts in the quick suite (CSV with a 1-based sample, RGB image folders); the other three with -m slow.
QUICK = ("digit-recognizer", "rgb-folders")


@pytest.mark.parametrize("layout", [l if l in QUICK else pytest.param(l, marks=pytest.mark.slow) for l in LAYOUTS])
def test_a_new_competition_goes_end_to_end(project, tmp_path, real_slice, layout):
    source = tmp_path / "download"
    truth = LAYOUTS[layout](source, real_slice)
    name = layout.replace("-", "_")
    status, out, err = run_cli("new", name, "--from", str(source))
    assert status == 0, err
    assert f"wrote {project / 'competitions' / name / 'competition.py'}" in " ".join(out.split())
    assert "hflip" in out and "metric: accuracy" in out
    status, out, err = run_cli("new", name, "--from", str(source))
    assert status == 2 and "already exists" in err  # never overwritten

    assert run_cli("fetch", name)[0] == 0  # data_dir in competition.py points at the files
    status, out, err = run_cli("folds", name, "--folds", "3", "--check")
    assert status == 0, err
    assert "Leak report" in out
    for model, params in (("logreg", '{"max_iter": 200}'), ("cnn", '{"epochs": 3, "batch_size": 16, "shift": 0.0, "filters": [8, 16, 16], "dense": 32}')):
        status, out, err = run_cli("cv", name, "--model", model, "--folds", "3", "--params", params)
        assert status == 0, err
    status, out, err = run_cli("blend", name)
    assert status == 0, err
    status, out, err = run_cli("predict", name, "--run", "logreg-pca")
    assert status == 0, err
    written = project / "submissions" / name / "logreg-pca.csv"
    sample = source / "sample_submission.csv"
    assert written.read_text().splitlines()[0] == sample.read_text().splitlines()[0]  # the header, byte for byte
    assert _column(written, 0) == _column(sample, 0) == truth["ids"]  # the IDs as the sample writes them, in its order
    assert set(_column(written, 1)) <= set(truth["labels"]) | set(_column(source / "solution.csv", 1))
    for path in (written, sample, project / "submissions" / name / "blend-auto.csv"):
        status, out, err = run_cli("validate", name, str(path))
        assert status == 0, err  # Kaggle's own sample submission passes too
    status, out, err = run_cli("score", name, str(written))
    assert status == 0, err
    accuracy = float(out.split("accuracy ")[1].split(",")[0])
    # joined on the ID the way Kaggle joins it, the score is the model's, not chance
    predicted = dict(zip(_column(written, 0), _column(written, 1)))
    expected = np.mean([predicted[i] == y for i, y in zip(truth["ids"], truth["labels"])])
    assert accuracy == pytest.approx(expected, abs=1e-4) and accuracy > 0.5
