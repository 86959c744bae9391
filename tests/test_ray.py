"""Folds and tuning trials on Ray: a local cluster of 2 CPUs and 4 logical GPUs stands in for a 4-GPU box.

A grid of models x folds on Ray gives the serial run's OOF; each GPU task sees the GPU Ray gave it;
a worker killed mid-fold is retried; a driver killed mid-grid resumes; tuning workers on Ray share
a SQLite study through Optuna's gRPC proxy. One module-scoped ``ray.init`` serves every test (Ray
starts slowly on a loaded machine); the module skips when ray is not installed. The TensorFlow
test (fresh worker processes that import TensorFlow) and the killed-driver test are ``slow``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # read when ray is imported: one node, all on 127.0.0.1

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'kaggletk[ray]'; the dev extra has it)")

import optuna  # noqa: E402

from kaggletk.callbacks import Recorder  # noqa: E402
from kaggletk.cv import CvRequest, RayExecutor, run_grid  # noqa: E402
from kaggletk.store import load_run, read_manifest, run_folder  # noqa: E402
from tests.conftest import make_project, run_cli  # noqa: E402

FOREST = {"n_estimators": 20}


def _requests(*specs: tuple[str, str | None, dict | None]) -> list[CvRequest]:
    """Requests on the sample, under the names ``kaggletk cv`` gives them (logreg-pca-sample, rf-hog-sample...)."""
    return [CvRequest("fashion_mnist", model, view=view, params=params, data="sample") for model, view, params in specs]


GRID = (("logreg", None, None), ("rf", None, FOREST))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Ray cluster (2 CPUs, 4 logical GPUs); yields its address for ``--ray ADDRESS``."""
    home = tmp_path_factory.mktemp("ray-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CUDA_VISIBLE_DEVICES", raising=False)  # conftest hides real GPUs; Ray hands out its logical ones
        with patch.context() as init:
            init.setenv("HOME", str(home))  # Ray writes the cluster's token to ~/.ray/auth_token: here, not in the real home
            ray.init(num_cpus=2, num_gpus=4, include_dashboard=False, log_to_driver=False)
        patch.setenv("RAY_AUTH_TOKEN_PATH", str(home / ".ray" / "auth_token"))  # for drivers started with another HOME
        yield ray.get_runtime_context().gcs_address
        ray.shutdown()


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """``serial(*specs)``: {run name: OOF} of the runs trained one fold after another in a project of their own.

    Each run is trained once, when a test first asks for it.
    """
    known: dict[str, tuple[str, np.ndarray]] = {}

    def oof(*specs) -> dict[str, np.ndarray]:
        todo = [spec for spec in specs if repr(spec) not in known]
        if todo:
            with pytest.MonkeyPatch.context() as patch:
                make_project(tmp_path_factory.mktemp("serial"), patch)
                for spec, result in zip(todo, run_grid(_requests(*todo))):
                    known[repr(spec)] = (result.run.name, result.run.oof())
        return dict(known[repr(spec)] for spec in specs)

    return oof


def _assert_same_oof(results, serial) -> None:
    for result in results:
        assert result.run.complete, result.run.name
        # the same fold models whatever process trains them (tolerance for BLAS threads in logistic regression)
        np.testing.assert_allclose(result.run.oof(), serial[result.run.name], rtol=0, atol=1e-5)


def test_a_grid_on_ray_gives_the_serial_oof_and_records_where_folds_ran(project, cluster, serial):
    recorders = [[Recorder()], [Recorder()]]
    results = run_grid(_requests(*GRID), executor=RayExecutor(), callbacks=recorders)
    _assert_same_oof(results, serial(*GRID))
    for result, [recorder] in zip(results, recorders):
        assert result.ran_folds and sorted(result.ran_folds) == [0, 1, 2, 3, 4]
        assert {entry.host for entry in result.run.manifest.folds.values()} == {platform.node()}
        assert not any("cuda_visible_devices" in entry.extra for entry in result.run.manifest.folds.values())
        events = [name for name, _ in recorder.events]
        assert events[0] == "on_run_begin" and events[-1] == "on_run_end"
        assert events.count("on_fold_begin") == 5 and events.count("on_fold_end") == 5
    again = run_grid(_requests(*GRID), executor=RayExecutor())
    assert all(r.ran_folds == [] and r.skipped_folds == [0, 1, 2, 3, 4] for r in again)


def test_a_pseudo_label_round_on_ray_learns_what_the_serial_round_learns(project, cluster):
    """Each Ray task of round two gets its own fold's pseudo-labels: the OOF and the per-fold records match a serial run."""
    source = CvRequest("fashion_mnist", "logreg", data="sample", name="first")
    run_grid([source])
    second = dict(competition="fashion_mnist", model="logreg", data="sample", pseudo_labels="first", pseudo_threshold=0.9)
    [serial] = run_grid([CvRequest(**second, name="second-serial")])
    [on_ray] = run_grid([CvRequest(**second, name="second-ray")], executor=RayExecutor())
    assert on_ray.run.complete and sorted(on_ray.ran_folds) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(on_ray.run.oof(), serial.run.oof(), rtol=0, atol=1e-5)
    for fold in range(5):
        record = on_ray.run.manifest.folds[fold].extra["pseudo"]
        assert record == serial.run.manifest.folds[fold].extra["pseudo"] and record["rows"] > 0
    assert not np.allclose(on_ray.run.oof(), load_run("fashion_mnist", "first").oof(), atol=1e-4)


def test_cli_cv_on_ray_prints_what_a_local_run_prints(project, cluster):
    status, out, err = run_cli("cv", "fashion_mnist", "--model", "logreg,logreg:hog", "--data", "sample", "--ray", cluster)
    assert status == 0, err
    for name in ("logreg-pca-sample", "logreg-hog-sample"):
        assert name in out and load_run("fashion_mnist", name).complete
    assert "CV accuracy" in out and "leaderboard" in out
    assert sum(line.strip().startswith("logreg fold ") for line in err.splitlines()) == 10


LOGICAL_GPUS = {"0", "1", "2", "3"}


def test_each_gpu_task_sees_the_gpu_ray_gave_it(project, cluster):
    # --gpus-per-task 1: each fold of a GPU-capable model holds one of the 4 logical GPUs; it trains on the CPU here (no CUDA)
    xgb = CvRequest("fashion_mnist", "xgb", view="pca", data="sample", n_folds=3, params={"n_estimators": 10, "max_depth": 3})
    [result] = run_grid([xgb], executor=RayExecutor(gpus_per_task=1))
    seen = [entry.extra.get("cuda_visible_devices") for entry in result.run.manifest.folds.values()]
    assert len(seen) == 3 and all(value in LOGICAL_GPUS for value in seen), seen  # one GPU each, as Ray gave it
    assert result.run.complete and result.run.manifest.device == "cpu"


@pytest.mark.slow
def test_keras_tasks_share_gpus_in_fresh_workers(project, cluster):
    # device auto: the net asks for GPUs because the cluster has some; 0.5 each, TensorFlow set up (threads, memory growth)
    # in a worker process of its own per fold
    mlp = CvRequest("fashion_mnist", "mlp", data="sample", n_folds=2, params={"epochs": 1, "units": [32]})
    [result] = run_grid([mlp], executor=RayExecutor(gpus_per_task=0.5))
    seen = [entry.extra.get("cuda_visible_devices") for entry in result.run.manifest.folds.values()]
    assert len(seen) == 2 and all(value in LOGICAL_GPUS for value in seen), seen
    assert result.run.complete and result.run.manifest.device == "cpu"


def test_each_task_asks_for_what_its_model_needs(project):
    from kaggletk.cv import prepare
    from kaggletk.cv._ray import TaskResources, task_resources

    def asked(model, params=None, device="auto", **options):
        return task_resources(prepare(CvRequest("fashion_mnist", model, params=params, device=device, data="sample")), **options)

    assert asked("mlp", cluster_gpus=4) == TaskResources(1, 1.0)  # a net takes a GPU when the cluster has some
    assert asked("mlp", cluster_gpus=0) == TaskResources(1, 0.0)
    assert asked("mlp", cluster_gpus=4, gpus_per_task=0.5, cpus_per_task=2) == TaskResources(2, 0.5)  # two share a GPU
    assert asked("mlp", device="cpu", cluster_gpus=4) == TaskResources(1, 0.0)
    assert asked("xgb", cluster_gpus=4) == TaskResources(1, 0.0)  # trees stay on CPUs unless asked
    assert asked("rf", {"n_jobs": 3}, cluster_gpus=4) == TaskResources(3, 0.0)  # the params' thread count wins
    assert asked("logreg", cluster_gpus=4, gpus_per_task=1) == TaskResources(1, 0.0)  # no GPU for a CPU-only model


def _kill_when_titled(title: str, deadline: float) -> tuple[list[int], threading.Thread]:
    """Kill the Ray worker process whose title is ``title`` (Ray names a busy worker ``ray::<task name>``) once it runs."""
    wanted, killed = f"ray::{title}\0".encode(), []

    def watch():
        while time.time() < deadline:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        running = fh.read().startswith(wanted)
                except OSError:
                    continue
                if running:
                    os.kill(int(pid), signal.SIGKILL)
                    killed.append(int(pid))
                    return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return killed, thread


def test_a_worker_killed_mid_fold_is_retried_to_the_same_oof(project, cluster, serial):
    [request] = _requests(GRID[1])
    killed, watcher = _kill_when_titled("kaggletk rf-pixels-sample fold 2", time.time() + 300)
    [result] = run_grid([request], executor=RayExecutor())
    watcher.join(timeout=5)
    assert len(killed) == 1, "fold 2's worker was never seen running"
    assert result.ran_folds and sorted(result.ran_folds) == [0, 1, 2, 3, 4]
    _assert_same_oof([result], serial(GRID[1]))


def _done_folds(folder) -> int:
    try:
        return len(read_manifest(folder).folds)
    except Exception:  # not written yet, or being replaced
        return 0


@pytest.mark.slow
def test_a_driver_killed_mid_grid_resumes_to_the_same_oof(project, cluster, serial):
    specs = (GRID[1], ("rf", "hog", FOREST))
    requests = _requests(*specs)
    folders = [run_folder("fashion_mnist", name) for name in ("rf-pixels-sample", "rf-hog-sample")]
    argv = [sys.executable, "-m", "kaggletk", "cv", "fashion_mnist", "--model", "rf,rf:hog", "--data", "sample",
            "--params", json.dumps(FOREST), "--ray", cluster]
    log = project / "driver.log"  # a file, not a pipe: what the driver started may hold a pipe open after it dies
    with log.open("w") as stderr:
        # a session of its own: the kill takes the driver's helper processes (joblib's) with it, not this test's
        driver = subprocess.Popen(argv, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    deadline = time.time() + 300
    while sum(_done_folds(f) for f in folders) < 2 and driver.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):  # gone already: finished early, which the assert below reports
        os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(timeout=60)
    assert driver.returncode == -signal.SIGKILL, log.read_text()  # killed mid-grid, not finished
    done = {folder.name: set(read_manifest(folder).folds) for folder in folders}
    assert 2 <= sum(map(len, done.values())) < 10, done
    results = run_grid(requests, executor=RayExecutor())
    for result in results:
        assert sorted(result.skipped_folds) == sorted(done[result.run.name])
        assert sorted(result.ran_folds) == sorted(set(range(5)) - done[result.run.name])
    _assert_same_oof(results, serial(*specs))


def test_tune_on_ray_shares_a_sqlite_study_through_the_grpc_proxy(project, cluster):
    status, _, err = run_cli("tune", "fashion_mnist", "--model", "logreg", "--data", "sample", "--folds", "1", "--trials", "4",
                             "--pruner", "none", "--ray", cluster, "--workers", "2")
    assert status == 0, err
    study = optuna.load_study(study_name="fashion_mnist-logreg-pca-sample",
                              storage=f"sqlite:///{project}/oof/fashion_mnist/optuna.db")
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4  # exactly the asked number, none left running
    assert sorted(t.number for t in trials) == [0, 1, 2, 3] and len({t.params["C"] for t in trials}) == 4
    reported = [line.split(":")[0].strip() for line in err.splitlines() if line.strip().startswith("trial ")]
    assert sorted(reported) == [f"trial {i}" for i in range(4)]  # each trial reported once, as a local study reports it
    assert (project / "oof" / "fashion_mnist" / "tuned" / "logreg.sample.json").exists()


@pytest.mark.parametrize("argv, said", [
    (("cv", "--ray", "--gpus-per-task", "-1"), "--gpus-per-task -1: give a share of one GPU"),
    (("cv", "--ray", "--gpus-per-task", "1.5"), "--gpus-per-task 1.5: give a share of one GPU"),
    (("cv", "--ray", "--cpus-per-task", "0"), "--cpus-per-task 0: must be at least 1"),
    (("tune", "--ray", "--workers", "0"), "--workers 0: must be at least 1"),
    (("tune", "--workers", "2"), "--workers applies to Ray tasks; add --ray"),
    (("cv", "--gpus-per-task", "0.5"), "--gpus-per-task applies to Ray tasks; add --ray"),
    (("cv", "--ray", "--track", "mlflow"), "--track mlflow: not with --ray yet"),
])
def test_bad_ray_options_are_refused_in_one_line(project, argv, said):
    command, *options = argv
    status, out, err = run_cli(command, "fashion_mnist", "--model", "logreg", "--data", "sample", *options)
    assert status == 2 and said in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not list((project / "oof").glob("*/logreg-*")), "refused before any training"


@pytest.mark.parametrize("command", ["cv", "tune"])
def test_a_missing_ray_is_refused_in_one_line(project, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    status, _, err = run_cli(command, "fashion_mnist", "--model", "logreg", "--data", "sample", "--ray")
    assert status == 2 and "install the ray extra: pip install 'kaggletk[ray]'" in err and err.count("\n") == 1, err


def test_kaggletk_help_does_not_import_ray():
    code = ("import sys\nimport kaggletk.cv, kaggletk.tune._ray, kaggletk.cli._ray\nfrom kaggletk.cli import main\n"
            "try:\n    main(['cv', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'ray' not in sys.modules, 'ray was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--ray [ADDRESS]" in done.stdout, done.stderr
