"""The OOF store: ``oof/<comp>/<run>/``, one folder per run or blend.

Layout of a run folder::

    manifest.json          what made the run and how it scored (``RunManifest``); written atomically
    fold-<i>.npz           per fold, as it finishes: valid_idx (n_valid,) int64, oof (n_valid, C) float32,
                           test (n_test, C) float32
    history-<i>.json       per-epoch/round training record under standard keys (loss, val_loss, val_accuracy...)
    oof-<sha>.npy          (n_train, C) float32, out-of-fold probabilities, when every fold is done
    test-<sha>.npy         (n_test, C) float32, test probabilities (the fold models' mean, or the blend)
    .lock                  held while a process writes the run

The final arrays are named by their content, and the manifest that names them is the commit point:
a run or blend goes from one whole state to the next (old arrays stay until a new manifest names
the new ones), so a process killed at any moment leaves the old run or the new one. Every file's
sha256 is in the manifest and is checked before the file is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaggletk._faults import crash_point
from kaggletk._io import load_npy, load_npz, read_json, save_npz, write_bytes, write_json
from kaggletk._lock import folder_lock
from kaggletk.errors import KaggletkError
from kaggletk.store._manifest import RunManifest
from kaggletk.workspace import Workspace, check_name, workspace

FINAL_ARRAYS = ("oof", "test")


@dataclass
class Run:
    """A run or blend in the OOF store, read from its manifest."""

    name: str
    folder: Path
    manifest: RunManifest

    @property
    def complete(self) -> bool:
        return self.manifest.complete

    @property
    def fold_hash(self) -> str:
        return self.manifest.fold_hash

    @property
    def n_folds(self) -> int:
        return self.manifest.n_folds

    def done_folds(self) -> list[int]:
        return sorted(self.manifest.folds)

    def missing_folds(self) -> list[int]:
        done = set(self.done_folds())
        return [f for f in range(self.n_folds) if f not in done]

    def oof(self) -> np.ndarray:
        """Out-of-fold probabilities, (n_train, n_classes) float32."""
        return self._final("oof")

    def test(self) -> np.ndarray:
        """Test probabilities, (n_test, n_classes) float32."""
        return self._final("test")

    def fold(self, fold: int) -> dict[str, np.ndarray]:
        """One fold's arrays: ``valid_idx`` (n_valid,), ``oof`` (n_valid, C), ``test`` (n_test, C)."""
        entry = self.manifest.folds[fold]
        return load_npz(self.folder / entry.file, entry.sha256)

    def history(self, fold: int) -> dict[str, list[float]] | None:
        """Fold ``fold``'s per-step record under standard keys (``loss``, ``val_loss``, ``val_accuracy``...)."""
        path = self.folder / f"history-{fold}.json"
        return _standard_history(read_json(path)) if path.exists() else None

    def _final(self, role: str) -> np.ndarray:
        if not self.complete:
            missing = ", ".join(f"fold-{f}" for f in self.missing_folds()) or "final assembly"
            raise KaggletkError(f"run {self.name} is partial (missing {missing}); finish it with `kaggletk cv` (same command) first")
        entry = self.manifest.files[role]
        try:
            return load_npy(self.folder / entry["file"], entry["sha256"])
        except KaggletkError as exc:
            again = ("rerun the blend that made it" if self.manifest.kind == "blend"
                     else "rerun the `kaggletk cv` command that made it: it rebuilds the run from its fold files")
            problem = str(exc).split("; ")[0]
            raise KaggletkError(f"run {self.name}: {problem}; {again}") from exc


# Keys of histories written before they were standard (XGBoost's and LightGBM's own names).
_LEGACY_KEYS = {"val_mlogloss": ("val_loss", False), "val_multi_logloss": ("val_loss", False),
                "val_merror": ("val_accuracy", True), "val_multi_error": ("val_accuracy", True)}


def _standard_history(history: dict[str, list[float]]) -> dict[str, list[float]]:
    out = {}
    for key, values in history.items():
        name, is_error = _LEGACY_KEYS.get(key, (key, False))
        out[name] = [1.0 - v for v in values] if is_error else values
    return out


def run_folder(comp: str, run: str, ws: Workspace | None = None) -> Path:
    return (ws or workspace()).run_dir(comp, run)


def read_manifest(folder: Path) -> RunManifest:
    path = folder / "manifest.json"
    return RunManifest.from_json(read_json(path), str(path))


def load_run(comp: str, run: str, ws: Workspace | None = None) -> Run:
    folder = run_folder(comp, check_name(run, "run name"), ws)
    if not (folder / "manifest.json").exists():
        names = [r.name for r in list_runs(comp, ws)]
        from difflib import get_close_matches

        close = get_close_matches(run, names, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        known = ", ".join(names) or "(none)"
        raise KaggletkError(f"no run {run!r} in {folder.parent}; {hint}known runs: {known} (`kaggletk leaderboard {comp}` "
                            "shows them with their scores)")
    return Run(run, folder, read_manifest(folder))


def list_runs(comp: str, ws: Workspace | None = None, skipped: list[str] | None = None) -> list[Run]:
    """Every run and blend of a competition (complete or not), sorted by name.

    A run whose manifest cannot be read is left out; its error (one line) goes to ``skipped`` when given.
    """
    root = (ws or workspace()).comp_oof_dir(comp)
    runs = []
    for manifest in sorted(root.glob("*/manifest.json")):
        try:
            runs.append(Run(manifest.parent.name, manifest.parent, read_manifest(manifest.parent)))
        except KaggletkError as exc:
            if skipped is not None:
                skipped.append(f"run {manifest.parent.name} left out: {exc}")
    return runs


def save_manifest(folder: Path, manifest: RunManifest) -> None:
    manifest.updated = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(folder / "manifest.json", manifest.to_json())


def save_fold(folder: Path, fold: int, valid_idx: np.ndarray, oof: np.ndarray, test: np.ndarray) -> tuple[str, str]:
    """Write one fold's predictions atomically; returns (file name, sha256)."""
    name = f"fold-{fold}.npz"
    digest = save_npz(folder / name, valid_idx=valid_idx.astype(np.int64), oof=oof.astype(np.float32), test=test.astype(np.float32))
    return name, digest


def save_final(folder: Path, manifest: RunManifest, arrays: dict[str, np.ndarray]) -> None:
    """Write the final arrays under content names, then the manifest naming them, then drop the old arrays."""
    files = {}
    for role in FINAL_ARRAYS:
        buffer = io.BytesIO()
        np.save(buffer, arrays[role].astype(np.float32), allow_pickle=False)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        name = f"{role}-{digest[:12]}.npy"
        write_bytes(folder / name, data)
        files[role] = {"file": name, "sha256": digest}
        crash_point("between-final-arrays")
    manifest.files = files
    crash_point("final-arrays-written")
    save_manifest(folder, manifest)
    drop_unreferenced(folder, manifest)


def drop_unreferenced(folder: Path, manifest: RunManifest) -> None:
    """Delete final arrays no manifest names (a replaced blend's, or a writer's killed before its manifest)."""
    keep = {entry["file"] for entry in manifest.files.values()}
    for path in folder.glob("*.npy"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder/.lock`` while writing a run: a second writer fails at once, naming the holder."""
    with folder_lock(folder, f"{folder.name}: run is being written", wait_seconds=0):
        for leftover in folder.glob(".*.tmp"):  # temp files (or folders) of a writer killed before its rename
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        yield
