"""The OOF store: ``oof/<comp>/<run>/``, one folder per run or blend.

Layout of a run folder::

    manifest.json        what made the run and how it scored (see ``Run``); written atomically
    fold-<i>.npz         per fold, as it finishes: valid_idx (n_valid,) int64, oof (n_valid, C) float32,
                         test (n_test, C) float32
    history-<i>.json     per-epoch/round training record (Keras History, boosting eval log)
    oof.npy              (n_train, C) float32, out-of-fold probabilities, when every fold is done
    test.npy             (n_test, C) float32, test probabilities averaged over the fold models
    .lock                present while a process writes the run (holds its PID)

Every file's sha256 is in the manifest and is checked before the file is used.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk._faults import crash_point
from kaggletk._lock import folder_lock
from kaggletk._io import load_npy, load_npz, read_json, save_npy, save_npz, write_json
from kaggletk.errors import KaggletkError
from kaggletk.workspace import Workspace, check_name, workspace

RUN_FORMAT = 1


@dataclass
class Run:
    """A run or blend in the OOF store, read from its manifest."""

    name: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == "complete"

    @property
    def fold_hash(self) -> str:
        return self.manifest["fold_hash"]

    @property
    def n_folds(self) -> int:
        return int(self.manifest["n_folds"])

    def done_folds(self) -> list[int]:
        return sorted(int(k) for k in self.manifest.get("folds", {}))

    def missing_folds(self) -> list[int]:
        done = set(self.done_folds())
        return [f for f in range(self.n_folds) if f not in done]

    def oof(self) -> np.ndarray:
        """Out-of-fold probabilities, (n_train, n_classes) float32."""
        self._require_complete()
        return load_npy(self.folder / "oof.npy", self.manifest["files"]["oof.npy"])

    def test(self) -> np.ndarray:
        """Test probabilities, (n_test, n_classes) float32."""
        self._require_complete()
        return load_npy(self.folder / "test.npy", self.manifest["files"]["test.npy"])

    def fold(self, fold: int) -> dict[str, np.ndarray]:
        entry = self.manifest["folds"][str(fold)]
        return load_npz(self.folder / entry["file"], entry["sha256"])

    def history(self, fold: int) -> dict[str, list[float]] | None:
        path = self.folder / f"history-{fold}.json"
        return read_json(path) if path.exists() else None

    def _require_complete(self) -> None:
        if not self.complete:
            missing = ", ".join(f"fold-{f}" for f in self.missing_folds()) or "final assembly"
            raise KaggletkError(f"run {self.name} is partial (missing {missing}); finish it with `kaggletk cv` (same command) first")


def run_folder(comp: str, run: str, ws: Workspace | None = None) -> Path:
    return (ws or workspace()).run_dir(comp, run)


def load_run(comp: str, run: str, ws: Workspace | None = None) -> Run:
    folder = run_folder(comp, check_name(run, "run name"), ws)
    if not (folder / "manifest.json").exists():
        known = ", ".join(r.name for r in list_runs(comp, ws)) or "(none)"
        raise KaggletkError(f"no run {run!r} in {folder.parent}; known runs: {known}")
    return Run(run, folder, read_json(folder / "manifest.json"))


def list_runs(comp: str, ws: Workspace | None = None) -> list[Run]:
    """Every run and blend of a competition (complete or not), sorted by name."""
    root = (ws or workspace()).comp_oof_dir(comp)
    runs = []
    for manifest in sorted(root.glob("*/manifest.json")):
        try:
            runs.append(Run(manifest.parent.name, manifest.parent, read_json(manifest)))
        except KaggletkError:
            continue  # an unreadable manifest is reported when that run is used, not while listing
    return runs


def save_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(folder / "manifest.json", manifest)


def save_fold(folder: Path, fold: int, valid_idx: np.ndarray, oof: np.ndarray, test: np.ndarray) -> tuple[str, str]:
    """Write one fold's predictions atomically; returns (file name, sha256)."""
    name = f"fold-{fold}.npz"
    digest = save_npz(folder / name, valid_idx=valid_idx.astype(np.int64), oof=oof.astype(np.float32), test=test.astype(np.float32))
    return name, digest


def save_final(folder: Path, oof: np.ndarray, test: np.ndarray) -> dict[str, str]:
    files = {"oof.npy": save_npy(folder / "oof.npy", oof.astype(np.float32))}
    crash_point("between-final-arrays")
    files["test.npy"] = save_npy(folder / "test.npy", test.astype(np.float32))
    return files


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder/.lock`` while writing a run: a second writer fails at once, naming the holder."""
    with folder_lock(folder, f"{folder.name}: run is being written", wait_seconds=0):
        for leftover in folder.glob(".*.tmp"):  # temp files of a writer that was killed before its rename
            leftover.unlink(missing_ok=True)
        yield
