"""Tuning on the sample: trials run and prune, the study resumes after a kill, tuned params feed cv,
two workers share one study on a real PostgreSQL server, sweeps save replicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from kaggletk.cv import CvRequest, run_cv
from kaggletk.errors import KaggletkError
from kaggletk.callbacks import Callback
from kaggletk.tune import TuneOptions, default_storage_url, run_sweep, run_tune
from tests.conftest import run_cli

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def _study(project, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{project}/oof/fashion_mnist/optuna.db")


def test_tune_xgb_on_pca_saves_params_that_cv_uses(project):
    result = run_tune(CvRequest("fashion_mnist", "xgb", view="pca", params={"n_estimators": 15, "n_jobs": 1}, data="sample"),
                      TuneOptions(trials=2, n_folds_used=2, sampler_seed=0, replicates=2))
    assert result.study_name == "fashion_mnist-xgb-pca-sample"
    tuned = json.loads(result.tuned_file.read_text())
    assert result.tuned_file == project / "oof" / "fashion_mnist" / "tuned" / "xgb.sample.json"  # never a tracked file
    assert tuned["view"] == "pca" and tuned["params"]["n_estimators"] == 15 and tuned["metric"] == "accuracy"
    assert 0.6 < tuned["cv_score"] < 1.0 and len(tuned["replicates"]["scores"]) == 2
    study = _study(project, result.study_name)
    assert len(study.get_trials(states=FINISHED)) == 2
    best = study.best_trial
    assert {"fold0_accuracy", "fold1_accuracy"} <= set(best.user_attrs)
    assert any(step < 1_000_000 for step in best.intermediate_values)  # the pruning callback reported XGBoost's rounds
    assert 1_000_001 in best.intermediate_values  # and the CV error after the second fold
    run = run_cv(CvRequest("fashion_mnist", "xgb", params="tuned", data="sample"), fold=0).run
    assert run.name == "xgb-pca-tuned-sample"
    assert {k: run.manifest.params[k] for k in tuned["params"]} == tuned["params"]


def test_rerun_continues_the_study_to_the_asked_number_of_trials(project):
    request = CvRequest("fashion_mnist", "logreg", data="sample")
    run_tune(request, TuneOptions(trials=2, n_folds_used=1, sampler_seed=0))
    run_tune(request, TuneOptions(trials=4, n_folds_used=1, sampler_seed=0))
    assert len(_study(project, "fashion_mnist-logreg-pca-sample").get_trials(states=FINISHED)) == 4
    with pytest.raises(KaggletkError, match="study fashion_mnist-logreg-pca-sample was made with other settings \\(folds_used 1 != 2\\)"):
        run_tune(request, TuneOptions(trials=5, n_folds_used=2))


def test_a_keras_net_tunes_on_the_sample(project):
    result = run_tune(CvRequest("fashion_mnist", "mlp", params={"epochs": 2}, data="sample"),
                      TuneOptions(trials=2, n_folds_used=1, sampler_seed=0, pruner="none"))
    study = _study(project, result.study_name)
    trial = study.best_trial
    assert [s for s in trial.intermediate_values if s < 1_000_000] == [0, 1]  # the pruning callback, per Keras epoch
    assert json.loads(result.tuned_file.read_text())["params"]["epochs"] == 2


def _tune_process(project, *extra, model="logreg"):
    env = dict(os.environ, KAGGLETK_HOME=str(project))
    return subprocess.Popen([sys.executable, "-m", "kaggletk", "tune", "fashion_mnist", "--model", model, "--data", "sample",
                             "--folds", "1", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_tune_resumes_and_retries_the_interrupted_trial(project):
    storage = default_storage_url("fashion_mnist")
    xgb = ("--trials", "3", "--heartbeat", "1", "--view", "pca", "--params", '{"n_estimators": 300, "n_jobs": 1}')
    proc = _tune_process(project, *xgb, model="xgb")
    name = "fashion_mnist-xgb-pca-sample"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
        except KeyError:
            trials = []
        if any(t.state == optuna.trial.TrialState.RUNNING for t in trials):
            break
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(2.5)  # past the grace period of the killed worker's heartbeat
    proc = _tune_process(project, *xgb, model="xgb")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    study = optuna.load_study(study_name=name, storage=storage)
    states = [t.state for t in study.get_trials()]
    assert sum(s in FINISHED for s in states) == 3
    assert optuna.trial.TrialState.RUNNING not in states
    failed = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1  # the killed trial, marked failed by the heartbeat, then retried with its params
    retried = [t for t in study.get_trials() if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retried) == 1 and retried[0].params == failed[0].params


@pytest.fixture(scope="module")
def postgres():
    from tests.postgres import TempPostgres, server_binaries

    if server_binaries() is None:
        pytest.skip("PostgreSQL server binaries not installed (.ci/run installs Debian's postgresql package)")
    server = TempPostgres().start()
    yield server
    server.stop()


def test_two_workers_share_one_study_on_postgresql(project, postgres):
    procs = [_tune_process(project, "--trials", "8", "--storage", postgres.url, "--study", "shared") for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "secret-pw" not in out + err  # the password is masked in everything printed
    study = optuna.load_study(study_name="shared", storage=postgres.url)
    trials = study.get_trials()
    finished = [t for t in trials if t.state in FINISHED]
    assert 8 <= len(finished) <= 9  # workers stop at 8; one may finish a trial it had started
    assert all(t.state in FINISHED for t in trials), [t.state for t in trials]  # nothing lost or stuck
    assert sorted(t.number for t in trials) == list(range(len(trials)))  # no duplicated trial numbers
    lines = [l for out, err in outputs for l in err.splitlines() if l.strip().startswith("trial ")]
    assert len(lines) == len(finished)  # every trial was run by exactly one worker
    tuned = json.loads((project / "oof" / "fashion_mnist" / "tuned" / "logreg.sample.json").read_text())
    assert "secret-pw" not in json.dumps(tuned) and "***" in tuned["storage"]


class _Rows(Callback):
    def __init__(self):
        self.rows = []

    def on_trial_end(self, trial):
        self.rows.append(trial.params)


def test_sweep_saves_replicates_and_resumes(project):
    seen = _Rows()
    request = CvRequest("fashion_mnist", "logreg", data="sample")
    result = run_sweep(request, "C", [0.01, 1.0], replicates=2, callbacks=[seen])
    record = json.loads(result.path.read_text())
    assert record["param"] == "C" and record["values"] == [0.01, 1.0] and len(record["results"]) == 4
    assert {r["seed"] for r in record["results"]} == {0, 1}
    assert [s["n"] for s in result.summary] == [2, 2]
    assert len(seen.rows) == 4
    seen.rows.clear()
    run_sweep(request, "C", [0.01, 1.0, 10.0], replicates=2, callbacks=[seen])
    assert [r["C"] for r in seen.rows] == [10.0, 10.0]  # only the new value ran
    status, _, err = run_cli("sweep", "fashion_mnist", "--model", "logreg", "--param", "C", "--values", "high,low", "--data", "sample")
    assert status == 2 and "--params" in err and "'C' for model logreg must be a number" in err
