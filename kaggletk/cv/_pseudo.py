"""Pseudo-labels: confident test predictions of an earlier run, added to each fold's training part.

Honest by construction: fold ``k`` of the new run learns from the test images that fold ``k`` of
the source run predicted confidently, labelled by that fold model alone. That model never saw fold
``k``'s held-out rows, so neither their images nor their labels reach the new fold model through
its pseudo-labels, and its CV score stays out-of-fold. (The source run's averaged test
probabilities would not do: every other fold model learned from fold ``k``'s held-out labels.)
A blend's test probabilities are such an average, so only model runs can be sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaggletk._io import read_json, write_json
from kaggletk.data import Dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import Folds
from kaggletk.store import load_run
from kaggletk.workspace import Workspace

#: the default confidence a test prediction needs to become a pseudo-label
DEFAULT_THRESHOLD = 0.95
_MARKER = "pseudo.json"


def pseudo_marker(checkpoint_dir: Path) -> str | None:
    """The source fold digest a fold's epoch checkpoint was trained with (None: not noted)."""
    marker = checkpoint_dir / _MARKER
    return read_json(marker).get("source_sha256") if marker.exists() else None


@dataclass(frozen=True)
class PseudoLabels:
    """Per fold: the test rows a source run's fold model predicted with at least ``threshold``, and its labels.

    ``rows[k]`` (m,) int64 test row indices, ``labels[k]`` (m,) class indices, ``sha256[k]`` the source
    fold file they were read from; only the source's finished folds are present.
    """

    source: str
    threshold: float
    rows: dict[int, np.ndarray]
    labels: dict[int, np.ndarray]
    sha256: dict[int, str]

    def for_fold(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """(test row indices, class indices) that fold ``fold`` adds to its training part."""
        if fold not in self.rows:
            raise KaggletkError(self.missing_message([fold]))
        return self.rows[fold], self.labels[fold]

    def missing_message(self, folds: list[int]) -> str:
        listed = ", ".join(str(f) for f in folds)
        word = "fold" if len(folds) == 1 else "folds"
        return (f"--pseudo-labels {self.source}: that run has no {word} {listed} yet, whose test predictions label this "
                f"run's {word} {listed}; train them first (kaggletk cv with --name {self.source}), or pass --fold")

    def stale_message(self, run_name: str, folds: list[int]) -> str:
        listed = ", ".join(str(f) for f in folds)
        word = "fold" if len(folds) == 1 else "folds"
        return (f"run {run_name}: {word} {listed} learned from pseudo-labels of run {self.source}'s {word} {listed} as "
                f"{'they were' if len(folds) > 1 else 'it was'} before {self.source} was trained again; rerun with "
                f"--overwrite to train {run_name} on {self.source}'s new labels, or give another --name")

    def mark(self, checkpoint_dir: Path, fold: int) -> None:
        """Note in a fold's checkpoint folder which source fold file labels it (a resume checks it)."""
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        write_json(checkpoint_dir / _MARKER, {"source": self.source, "source_sha256": self.sha256[fold]})

    @property
    def setting(self) -> dict:
        """The run's setting (``RunManifest.pseudo_labels``): a rerun with another source or threshold is another run."""
        return {"run": self.source, "threshold": self.threshold}

    def record(self, fold: int) -> dict:
        """What the fold's manifest entry keeps of its pseudo-labels."""
        return {**self.setting, "rows": int(len(self.rows[fold])), "source_sha256": self.sha256[fold]}


def load_pseudo_labels(source: str, threshold: float, dataset: Dataset, folds: Folds, run_name: str,
                       ws: Workspace) -> PseudoLabels:
    """Read the per-fold pseudo-labels of run ``source``, checked against this run's data and folds.

    Examples
    --------
    >>> import kaggletk
    >>> _ = kaggletk.cv("fashion_mnist", "logreg", data="sample", folds=2, name="first", progress=False)
    >>> second = kaggletk.cv("fashion_mnist", "logreg", data="sample", folds=2, pseudo_labels="first", progress=False)
    >>> second.run.manifest.pseudo_labels
    {'run': 'first', 'threshold': 0.95}
    >>> second.run.manifest.folds[0].extra["pseudo"]["rows"] > 0  # the confident test rows fold 0 learned from
    True
    """
    if not 0.0 < threshold <= 1.0:
        raise KaggletkError(f"--pseudo-threshold {threshold}: give a probability in (0, 1], e.g. {DEFAULT_THRESHOLD}")
    if source == run_name:
        raise KaggletkError(f"--pseudo-labels {source}: a run cannot label itself; give this run another --name")
    run = load_run(dataset.competition.name, source, ws)
    m = run.manifest
    if m.kind != "model":
        raise KaggletkError(f"--pseudo-labels {source}: a {m.kind}'s test predictions mix every fold's model, and those "
                            "learned each held-out fold's labels; give one of its model runs")
    if m.data_fingerprint != dataset.fingerprint or m.fold_hash != folds.hash:
        raise KaggletkError(f"--pseudo-labels {source}: that run was made on folds {m.fold_hash} of data "
                            f"{m.data_fingerprint}, this one uses folds {folds.hash} of data {dataset.fingerprint}; "
                            "give a run on the same --data, --scheme and --folds")
    rows, labels, digests = {}, {}, {}
    for fold in run.done_folds():
        proba = run.fold(fold)["test"]
        confident = np.flatnonzero(proba.max(axis=1) >= threshold)
        rows[fold], labels[fold] = confident.astype(np.int64), proba[confident].argmax(axis=1).astype(np.int64)
        digests[fold] = m.folds[fold].sha256
    return PseudoLabels(source, float(threshold), rows, labels, digests)
