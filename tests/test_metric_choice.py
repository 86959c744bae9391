"""The competition's metric decides: a log-loss competition ranks, blends and tunes by log loss, even where accuracy
would choose otherwise."""

from __future__ import annotations

import optuna
import pytest

from kaggletk.blend import run_blend
from kaggletk.cv import CvRequest, run_cv
from kaggletk.leaderboard import leaderboard_rows
from kaggletk.tune import TuneOptions, run_tune
from tests.conftest import run_cli


@pytest.fixture
def log_loss_project(project):
    definition = project / "competitions" / "fashion_mnist" / "competition.py"
    definition.write_text(definition.read_text().replace('metric="accuracy"', 'metric="log_loss"'))
    return project


def test_log_loss_picks_ranks_and_tunes(log_loss_project):
    forest = run_cv(CvRequest("fashion_mnist", "rf", data="sample", params={"n_estimators": 30, "n_jobs": 1})).run
    linear = run_cv(CvRequest("fashion_mnist", "logreg", data="sample")).run
    f, l = forest.manifest.cv, linear.manifest.cv
    # the two metrics disagree on these runs: the forest is more accurate, the linear model better calibrated
    assert f.mean["accuracy"] > l.mean["accuracy"] and f.mean["log_loss"] > l.mean["log_loss"]
    assert forest.manifest.metric == "log_loss"

    rows = leaderboard_rows("fashion_mnist", "sample")
    assert [r["run"] for r in rows] == [linear.name, forest.name]  # lower log loss first
    assert rows[0]["metric"] == "log_loss" and rows[0]["cv"] == pytest.approx(l.mean["log_loss"])
    status, out, _ = run_cli("leaderboard", "fashion_mnist")
    assert status == 0 and "CV log loss" in out and out.index(linear.name) < out.index(forest.name)

    result = run_blend("fashion_mnist", [forest.name, linear.name], method="auto")
    losses = {row["method"]: row["oof"]["log_loss"] for row in result.table if not row.get("run")}
    assert result.chosen == min(losses, key=losses.get) and result.metric == "log_loss"
    assert result.best_single["run"] == linear.name

    tuned = run_tune(CvRequest("fashion_mnist", "logreg", data="sample"), TuneOptions(trials=3, n_folds_used=1, sampler_seed=0))
    assert tuned.metric == "log_loss"
    study = optuna.load_study(study_name=tuned.study_name,
                              storage=f"sqlite:///{log_loss_project}/oof/fashion_mnist/optuna.db")
    best = study.best_trial
    assert best.user_attrs["metric"] == "log_loss" and best.value == pytest.approx(best.user_attrs["score"])
    assert best.value == min(t.value for t in study.get_trials() if t.value is not None)  # minimised: lower log loss is better
