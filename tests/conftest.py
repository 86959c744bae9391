"""Shared fixtures: an isolated project folder holding the real competitions and their samples."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Output goes to a pipe here; a COLUMNS of the caller (pytest-xdist sets 80) must not change what kaggletk prints.
os.environ.pop("COLUMNS", None)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("KAGGLETK_SHARED_DATA", REPO.parent / "shared" / "data"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One BLAS thread: with LightGBM/XGBoost's OpenMP threads on 2 cores, more thrash (seen: 0.2 s -> 35 s).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def make_project(base: Path, monkeypatch) -> Path:
    """Create a project under ``base`` and point KAGGLETK_HOME at it."""
    root = base / "project"
    for comp_dir in (REPO / "competitions").iterdir():
        if (comp_dir / "competition.py").exists():
            shutil.copytree(comp_dir, root / "competitions" / comp_dir.name,
                            ignore=shutil.ignore_patterns("data", "__pycache__", "tuned"))
    (root / "oof").mkdir()
    (root / "submissions").mkdir()
    monkeypatch.setenv("KAGGLETK_HOME", str(root))
    monkeypatch.delenv("KAGGLETK_DATA_DIR", raising=False)
    monkeypatch.delenv("KAGGLETK_COMPETITION", raising=False)
    # Never reach a real Kaggle account from a test, whatever this machine has configured.
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    home = base / "isolated-home"
    (home / ".kaggle").mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / ".kaggle"))
    monkeypatch.setenv("HOME", str(home))
    return root


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A fresh kaggletk project: competitions/ (definitions and samples, no caches), oof/, submissions/."""
    return make_project(tmp_path, monkeypatch)


@pytest.fixture
def shared_data() -> Path:
    """The full real data sets beside the project (skips when this machine lacks them)."""
    if not (SHARED_DATA / "fashion_mnist").is_dir():
        pytest.skip(f"full data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def sample_dir() -> Path:
    return REPO / "competitions"


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run the kaggletk CLI in-process; returns (status, stdout, stderr)."""
    import contextlib
    import io

    from kaggletk.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        from kaggletk.cli import _common

        _common.out.file = stdout
        _common.err.file = stderr
        try:
            status = main(list(argv))
        finally:
            _common.out.file = None
            _common.err.file = None
    return status, stdout.getvalue(), stderr.getvalue()
