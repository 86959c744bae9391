"""Saved folds: ``oof/<comp>/folds/<scheme>-k<K>-s<seed>-<data fingerprint>.npz``.

Folds are computed once per competition, scheme and data, then always read back, so every run
and blend of a competition uses the same rows in the same folds. Each file holds ``assignment``
(n_train,) int8 and ``meta`` (a JSON string: scheme, n_splits, seed, fingerprint, hash).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kaggletk._io import load_npz, save_npz
from kaggletk.callbacks import Callback
from kaggletk.data import Dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds._base import Folds, fold_hash
from kaggletk.folds.schemes import assign_folds
from kaggletk.workspace import Workspace, workspace


def folds_path(dataset: Dataset, scheme: str, n_splits: int, seed: int, ws: Workspace | None = None) -> Path:
    ws = ws or workspace()
    return ws.comp_oof_dir(dataset.competition.name) / "folds" / f"{scheme}-k{n_splits}-s{seed}-{dataset.fingerprint}.npz"


def load_folds(
    dataset: Dataset,
    scheme: str | None = None,
    n_splits: int | None = None,
    seed: int | None = None,
    ws: Workspace | None = None,
    callbacks: Sequence[Callback] = (),
) -> Folds:
    """The saved folds of ``dataset`` for a scheme, computed and saved on first use.

    Defaults come from the competition (``fold_scheme``, ``n_folds``, ``fold_seed``).
    """
    comp = dataset.competition
    scheme = scheme or comp.fold_scheme
    n_splits = comp.n_folds if n_splits is None else n_splits
    seed = comp.fold_seed if seed is None else seed
    if not 2 <= n_splits <= 50:
        raise KaggletkError(f"--folds {n_splits}: use between 2 and 50 folds")
    path = folds_path(dataset, scheme, n_splits, seed, ws)
    if path.exists():
        stored = load_npz(path)
        meta = json.loads(str(stored["meta"]))
        assignment = stored["assignment"]
        if len(assignment) != dataset.n_train or meta.get("hash") != fold_hash(assignment):
            raise KaggletkError(f"{path}: saved folds do not match the data or their hash; delete the file to recompute them")
        groups = stored.get("groups")
        return Folds(assignment, scheme, n_splits, seed, dataset.fingerprint, path, groups)
    groups = None
    if scheme == "group":
        from kaggletk.folds.groups import dataset_groups

        groups = dataset_groups(dataset, ws, callbacks)
    assignment = assign_folds(dataset.y, scheme, n_splits, seed, groups)
    meta = {"scheme": scheme, "n_splits": n_splits, "seed": seed, "fingerprint": dataset.fingerprint,
            "n_train": dataset.n_train, "hash": fold_hash(assignment)}
    arrays = {"assignment": assignment, "meta": np.array(json.dumps(meta))}
    if groups is not None:
        arrays["groups"] = groups.astype(np.int32)
    save_npz(path, **arrays)
    return Folds(assignment, scheme, n_splits, seed, dataset.fingerprint, path, groups)
