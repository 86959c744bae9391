"""One writer at a time, nothing half-written, nothing read unchecked: locks, caches, runs and blends under races and kills."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kaggletk._lock import folder_lock, is_locked
from kaggletk.cv import CvRequest, run_cv
from kaggletk.errors import KaggletkError
from kaggletk.store import load_run
from tests.conftest import REPO, run_cli


def _kaggletk(project: Path, *argv: str, umask: int | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, KAGGLETK_HOME=str(project))
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([sys.executable, "-m", "kaggletk", *argv], capture_output=True, text=True, env=env, timeout=600,
                          preexec_fn=preexec, **kwargs)


def test_the_lock_admits_one_writer_in_races(tmp_path):
    """The stress benchmark's lock races, fewer of them: half kill the first holder while it holds the lock."""
    sys.path.insert(0, str(REPO / "bench"))
    from stress import lock_races

    result = lock_races(tmp_path, 50)
    assert result["races"] == 50 and result["double_holders"] == 0
    assert not any(is_locked(folder) for folder in tmp_path.iterdir())


def test_a_busy_lock_names_its_holder_and_a_dead_ones_is_free_at_once(tmp_path):
    folder = tmp_path / "run"
    code = (f"import time; from kaggletk._lock import folder_lock\n"
            f"with folder_lock({str(folder)!r}, 'busy'):\n    print('held', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(KaggletkError, match=f"busy by process {holder.pid}"):
        with folder_lock(folder, "busy"):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with folder_lock(folder, "busy"):  # no stale-lock guessing: the kernel freed it with the process
        assert is_locked(folder)


def test_two_fetches_at_once_leave_one_whole_cache(project):
    sample = project / "competitions" / "sign_mnist" / "sample"
    env = dict(os.environ, KAGGLETK_HOME=str(project))
    procs = [subprocess.Popen([sys.executable, "-m", "kaggletk", "fetch", "sign_mnist", "--from", str(sample)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    from kaggletk.data import load_dataset

    dataset = load_dataset("sign_mnist", "full")  # every array checked against its manifest
    assert dataset.n_train == 3000 and not list((project / "competitions" / "sign_mnist" / "data").glob(".*.tmp"))


def test_two_cv_processes_on_one_run_never_both_write_it(project):
    env = dict(os.environ, KAGGLETK_HOME=str(project))
    argv = [sys.executable, "-m", "kaggletk", "cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--name", "r"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(600), p.stderr.read()) for p in procs]
    busy = [err for code, err in results if code == 2]
    assert all(code in (0, 2) for code, _ in results) and len(busy) <= 1
    assert all("run is being written by process" in err for err in busy)
    run = load_run("fashion_mnist", "r")
    assert run.complete and run.oof().shape == (3000, 10)


def test_a_changed_cache_is_refused_in_one_line(project):
    assert run_cli("fetch", "sign_mnist", "--from", str(project / "competitions" / "sign_mnist" / "sample"))[0] == 0
    images = project / "competitions" / "sign_mnist" / "data" / "full" / "train_images.npy"
    inverted = np.load(images, mmap_mode="r+")
    inverted[:500] = 255 - inverted[:500]  # changed in place: same size, same shape, same fingerprint in the manifest
    inverted.flush()
    del inverted
    result = _kaggletk(project, "cv", "sign_mnist", "--model", "logreg", "--data", "full")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{images}: checksum does not match manifest.json" in result.stderr and "kaggletk fetch sign_mnist" in result.stderr
    assert result.stderr.count("\n") == 1


def test_rerunning_cv_repairs_a_corrupt_final_array_from_its_fold_files(project):
    first = run_cv(CvRequest("fashion_mnist", "logreg", data="sample")).run
    reference = first.oof()
    path = first.folder / first.manifest.files["oof"]["file"]
    path.write_bytes(path.read_bytes()[:-100] + bytes(100))
    with pytest.raises(KaggletkError, match="checksum does not match its manifest"):
        load_run("fashion_mnist", first.name).oof()
    again = run_cv(CvRequest("fashion_mnist", "logreg", data="sample"))
    assert again.ran_folds == [] and again.run.complete  # nothing retrained: reassembled from the valid fold files
    np.testing.assert_array_equal(again.run.oof(), reference)
    (again.run.folder / "fold-2.npz").write_bytes(b"not a fold")
    mended = run_cv(CvRequest("fashion_mnist", "logreg", data="sample"))
    assert mended.ran_folds == [2]  # only the bad fold is trained again
    np.testing.assert_array_equal(mended.run.oof(), reference)


@pytest.mark.parametrize("umask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775), (0o077, 0o600, 0o700)])
def test_written_files_follow_the_umask(project, umask, file_mode, dir_mode):
    result = _kaggletk(project, "cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--folds", "2", umask=umask)
    assert result.returncode == 0, result.stderr
    run = project / "oof" / "fashion_mnist" / "logreg-pca-sample"
    cache = project / "competitions" / "fashion_mnist" / "data" / "sample"
    for path in [*run.iterdir(), *cache.glob("*.npy"), cache / "manifest.json"]:
        if path.name != ".lock":
            assert stat.S_IMODE(path.stat().st_mode) == file_mode, path
    for folder in (run, cache, cache / "holdout"):
        assert stat.S_IMODE(folder.stat().st_mode) == dir_mode, folder


SECRET_URLS = [
    "postgresql://optuna:s3cret-pw@127.0.0.1:1/optuna",
    "postgresql://optuna:s3cret@pw@127.0.0.1:1/optuna",  # a raw '@' in the password
    "postgresql://optuna:s3cret%40pw@127.0.0.1:1/optuna",  # percent-encoded
    "postgresql://127.0.0.1:1/optuna?user=optuna&password=s3cret-pw",
    "postgresql://127.0.0.1:1/optuna?sslmode=disable&PassWord=s3cret-pw",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_storage_passwords_are_never_printed(project, url):
    status, out, err = run_cli("tune", "fashion_mnist", "--model", "logreg", "--data", "sample", "--trials", "1",
                               "--storage", url)
    assert status == 2 and "cannot open" in err and "***" in err
    for secret in ("s3cret-pw", "s3cret@pw", "s3cret%40pw", "s3cret"):
        assert secret not in out + err
