"""Reliability: SIGKILL at any point and rerun, concurrent runs, secrets, read-only and full disks, --debug."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kaggletk.blend import run_blend
from kaggletk.cv import CvRequest, run_cv
from kaggletk.data import load_dataset
from kaggletk.errors import KaggletkError
from kaggletk._lock import is_locked
from kaggletk.store import load_run, run_lock
from tests.conftest import run_cli

CV = ["cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "r"]


def _kaggletk(project: Path, *argv: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    full = dict(os.environ, KAGGLETK_HOME=str(project), **(env or {}))
    return subprocess.run([sys.executable, "-m", "kaggletk", *argv], capture_output=True, text=True, env=full, timeout=600, **kwargs)


def _no_partial_files(folder: Path) -> None:
    """Everything a reader could open is whole: no temp files are referenced, every listed file checks out."""
    from kaggletk._io import sha256_file

    run = load_run("fashion_mnist", folder.name)
    for entry in run.manifest.folds.values():
        assert sha256_file(folder / entry.file) == entry.sha256
    for entry in run.manifest.files.values():
        assert sha256_file(folder / entry["file"]) == entry["sha256"]


@pytest.fixture
def reference(project):
    """The OOF of an uninterrupted run (logreg is deterministic)."""
    run = run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="reference")).run
    return run.oof(), run.test()


@pytest.mark.parametrize("point", ["fold-trained", "before-rename:2", "fold-file-written:3", "between-final-arrays",
                                   *(pytest.param(p, marks=pytest.mark.slow) for p in ("before-rename:4", "final-arrays-written"))])
def test_cv_killed_at_any_point_reruns_to_the_same_oof(project, reference, point):
    killed = _kaggletk(project, *CV, env={"KAGGLETK_CRASH_AT": point})
    assert killed.returncode == -signal.SIGKILL
    folder = project / "oof" / "fashion_mnist" / "r"
    assert not is_locked(folder)  # the kernel released the killed writer's lock
    _no_partial_files(folder)
    if not load_run("fashion_mnist", "r").complete:
        with pytest.raises(KaggletkError, match="run r is partial"):
            run_blend("fashion_mnist", ["reference", "r"])
    rerun = _kaggletk(project, *CV)
    assert rerun.returncode == 0, rerun.stderr
    run = load_run("fashion_mnist", "r")
    assert run.complete and not is_locked(folder) and not list(folder.glob(".*.tmp"))
    np.testing.assert_array_equal(run.oof(), reference[0])
    np.testing.assert_array_equal(run.test(), reference[1])


def test_a_keras_fit_interrupted_between_epochs_resumes_from_its_checkpoint_to_the_same_model(project, tmp_path):
    """In-process: a fit stopped after its first epoch's checkpoint ends, when fitted again, as an uninterrupted one,
    and counts the seconds its first process spent on that epoch."""
    from kaggletk.models import get_model_class
    from kaggletk.models._keras import import_keras

    keras = import_keras()
    dataset = load_dataset("fashion_mnist", "sample")
    X, y = dataset.train_images[:600].reshape(600, -1).astype(np.float32) / 255, dataset.y[:600]
    params = {"epochs": 3, "patience": None, "schedule": "cosine", "units": [32]}

    class Stop(Exception):
        pass

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise Stop

    mlp = get_model_class("mlp")
    whole = mlp(params, n_classes=10, device="cpu", seed=5).fit(X, y)
    cut = mlp(params, n_classes=10, device="cpu", seed=5)
    with pytest.raises(Stop):
        cut.fit(X, y, callbacks=[StopAfterFirstEpoch()], checkpoint_dir=tmp_path / "ck")
    saved = json.loads((tmp_path / "ck" / "checkpoint.json").read_text())
    assert saved["epoch"] == 0 and saved["seconds"] > 0
    resumed = mlp(params, n_classes=10, device="cpu", seed=5).fit(X, y, checkpoint_dir=tmp_path / "ck")
    assert not (tmp_path / "ck").exists() and len(resumed.history_["loss"]) == 3
    assert resumed.resumed_seconds_ == saved["seconds"] and whole.resumed_seconds_ == 0.0
    np.testing.assert_allclose(resumed.history_["loss"], whole.history_["loss"], rtol=1e-5)
    np.testing.assert_allclose(resumed.predict_proba(X[:50]), whole.predict_proba(X[:50]), atol=1e-5)


@pytest.mark.slow
def test_a_keras_fold_killed_between_epochs_resumes_at_the_next_epoch_with_the_same_model(project):
    """A long fold is not started again: the rerun loads the epoch-2 checkpoint and ends where an uninterrupted fit ends."""
    argv = ["cv", "fashion_mnist", "--model", "mlp", "--data", "sample", "--folds", "2", "--fold", "0",
            "--params", '{"epochs": 4, "patience": null, "schedule": "cosine"}']
    whole = _kaggletk(project, *argv, "--name", "whole")
    assert whole.returncode == 0, whole.stderr
    killed = _kaggletk(project, *argv, "--name", "cut", env={"KAGGLETK_CRASH_AT": "epoch-saved:2"})
    assert killed.returncode == -signal.SIGKILL
    folder = project / "oof" / "fashion_mnist" / "cut"
    meta = folder / ".fold-0.checkpoint" / "checkpoint.json"
    assert meta.exists() and '"epoch": 1' in meta.read_text()  # epochs 0 and 1 were saved
    carried = json.loads(meta.read_text())["seconds"]
    rerun = _kaggletk(project, *argv, "--name", "cut")
    assert rerun.returncode == 0, rerun.stderr
    assert not (folder / ".fold-0.checkpoint").exists()
    cut, full = load_run("fashion_mnist", "cut"), load_run("fashion_mnist", "whole")
    assert len(cut.history(0)["loss"]) == 4
    assert cut.manifest.folds[0].fit_seconds > carried > 0  # the killed process's two epochs are counted
    np.testing.assert_allclose(cut.history(0)["loss"], full.history(0)["loss"], rtol=1e-5)
    np.testing.assert_allclose(np.load(folder / cut.manifest.folds[0].file)["oof"],
                               np.load(full.folder / full.manifest.folds[0].file)["oof"], atol=1e-5)


def test_cv_killed_mid_fold_from_outside_resumes(project, reference):
    env = dict(os.environ, KAGGLETK_HOME=str(project))
    # Random forest folds take a few seconds: long enough to be killed inside one.
    argv = [sys.executable, "-m", "kaggletk", "cv", "fashion_mnist", "--model", "rf", "--data", "sample", "--name", "f",
            "--params", '{"n_estimators": 60, "n_jobs": 1}']
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = project / "oof" / "fashion_mnist" / "f" / "fold-0.npz"
    deadline = time.time() + 300
    while not manifest.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = load_run("fashion_mnist", "f")
    assert not partial.complete and 0 < len(partial.done_folds()) < 5
    done = set(partial.done_folds())
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    listed = ", ".join(map(str, sorted(done)))
    assert (f"fold {listed} is already done" if len(done) == 1 else f"folds {listed} are already done") in rerun.stderr
    whole = run_cv(CvRequest("fashion_mnist", "rf", data="sample", name="g", params={"n_estimators": 60, "n_jobs": 1})).run
    np.testing.assert_array_equal(load_run("fashion_mnist", "f").oof(), whole.oof())
    assert done


def test_blend_killed_keeps_its_previous_result_whole(project, reference):
    run_cv(CvRequest("fashion_mnist", "lgbm", data="sample", params={"n_estimators": 20}))
    assert run_cli("blend", "fashion_mnist", "--method", "mean", "--data", "sample", "--name", "b")[0] == 0
    before = load_run("fashion_mnist", "b").oof()
    for point in ("between-final-arrays", "between-final-arrays:2", "final-arrays-written", "before-rename:3"):
        killed = _kaggletk(project, "blend", "fashion_mnist", "--method", "hill", "--data", "sample", "--name", "b",
                           env={"KAGGLETK_CRASH_AT": point})
        assert killed.returncode == -signal.SIGKILL, point
        # the blend is still the previous one, whole: its manifest and the arrays it names
        kept = load_run("fashion_mnist", "b")
        assert kept.complete and kept.manifest.blend.method == "mean", point
        np.testing.assert_array_equal(kept.oof(), before)
        kept.test()
    assert _kaggletk(project, "blend", "fashion_mnist", "--method", "hill", "--data", "sample", "--name", "b").returncode == 0
    replaced = load_run("fashion_mnist", "b")
    assert replaced.manifest.blend.method == "hill" and replaced.oof().shape == before.shape
    assert sorted(p.name.split("-")[0] for p in replaced.folder.glob("*.npy")) == ["oof", "test"]  # the old arrays are gone


def test_fetch_killed_between_renames_keeps_the_old_cache(project):
    sample = project / "competitions" / "sign_mnist" / "sample"
    assert _kaggletk(project, "fetch", "sign_mnist", "--from", str(sample)).returncode == 0
    killed = _kaggletk(project, "fetch", "sign_mnist", "--from", str(sample), env={"KAGGLETK_CRASH_AT": "between-dir-renames"})
    assert killed.returncode == -signal.SIGKILL
    assert not (project / "competitions" / "sign_mnist" / "data" / "full").exists()
    assert load_dataset("sign_mnist", "full").n_train == 3000  # the previous cache is put back


def _hold_lock(folder: Path) -> subprocess.Popen:
    """Another process that holds ``folder``'s lock until killed (it prints 'held' once it has it)."""
    code = (f"import sys, time; from kaggletk._lock import folder_lock\n"
            f"with folder_lock({str(folder)!r}, 'busy'):\n    print('held', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_two_processes_on_one_run_do_not_corrupt_it(project):
    folder = project / "oof" / "fashion_mnist" / "busy"
    holder = _hold_lock(folder)
    try:
        status, _, err = run_cli("cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "busy")
        assert status == 2 and f"run is being written by process {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: the kernel released its lock and the next run takes it at once
    assert run_cv(CvRequest("fashion_mnist", "logreg", data="sample", name="busy")).run.complete


def test_two_runs_of_one_competition_work_side_by_side(project):
    procs = [subprocess.Popen([sys.executable, "-m", "kaggletk", "cv", "fashion_mnist", "--model", "logreg", "--data", "sample",
                               "--name", name], env=dict(os.environ, KAGGLETK_HOME=str(project)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    np.testing.assert_array_equal(load_run("fashion_mnist", "a").oof(), load_run("fashion_mnist", "b").oof())


def test_a_lock_file_left_behind_holds_nothing(project, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".lock").write_text(f"{os.getppid()}\n")  # a live PID in a lock file nobody holds
    with run_lock(folder):
        assert is_locked(folder) and (folder / ".lock").read_text().split()[0] == str(os.getpid())
    assert not is_locked(folder)


def test_credentials_never_reach_any_file_or_output(project):
    key = "kaggle-key-4f1c9a77e2d0b3"
    env = {"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": key}
    outputs = [
        _kaggletk(project, "cv", "fashion_mnist", "--model", "logreg", "--data", "sample", env=env),
        _kaggletk(project, "blend", "fashion_mnist", "--data", "sample", "--method", "mean", env=env),
        _kaggletk(project, "report", "fashion_mnist", "--data", "sample", env=env),
        _kaggletk(project, "submit", "fashion_mnist", "submissions/fashion_mnist/blend-mean-sample.csv", "-m", "x", "-c", "slug",
                  "--dry-run", env=env, cwd=project),
    ]
    for proc in outputs:
        assert key not in proc.stdout + proc.stderr
    for path in project.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True).returncode == 0


def test_a_full_disk_gives_a_clear_error_and_keeps_what_was_written(project):
    oof = project / "oof"
    if not _mount_tmpfs(oof, "size=96k"):
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    try:
        proc = _kaggletk(project, "cv", "fashion_mnist", "--model", "logreg", "--data", "sample")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "No space left on device" in proc.stderr and "free some disk space" in proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("kaggletk: error:")]
        assert len(errors) == 1 and "fold-" in errors[0]  # one line naming the file it could not write
        runs = list(oof.glob("fashion_mnist/*/manifest.json"))
        for manifest in runs:
            _no_partial_files(manifest.parent)
    finally:
        subprocess.run(["umount", str(oof)])


def test_a_read_only_output_folder_gives_a_clear_error(project):
    oof = project / "oof"
    if not _mount_tmpfs(oof, "size=1m,ro"):
        pytest.skip("cannot mount a read-only tmpfs here (needs root and mount rights)")
    try:
        proc = _kaggletk(project, "cv", "fashion_mnist", "--model", "logreg", "--data", "sample")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "Read-only file system" in proc.stderr and "writable folder" in proc.stderr
    finally:
        subprocess.run(["umount", str(oof)])


def test_debug_shows_the_traceback_and_plain_errors_do_not(project):
    plain = _kaggletk(project, "cv", "fashion_mnist", "--model", "svm", "--data", "sample")
    debug = _kaggletk(project, "--debug", "cv", "fashion_mnist", "--model", "svm", "--data", "sample")
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "KaggletkError" in debug.stderr
