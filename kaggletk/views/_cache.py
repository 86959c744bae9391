"""Disk cache of stateless view features: ``data/<variant>/views/<name>-<params hash>.npz`` beside the data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from kaggletk._io import load_npz, save_npz
from kaggletk.callbacks import Callback, CallbackList
from kaggletk.views._base import View

# Views cheap enough to recompute rather than store on disk.
_NOT_CACHED = ("image", "pixels")


def stateless_features(view: View, dataset, callbacks: Sequence[Callback] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Train and test features of a stateless view, cached on disk beside the data (the callbacks hear when it computes them)."""
    if view.name in _NOT_CACHED:
        return view.transform(dataset.train_images), view.transform(dataset.test_images)
    key = hashlib.sha256(json.dumps(view.get_params(), sort_keys=True).encode()).hexdigest()[:8]
    path = dataset.folder / "views" / f"{view.name}-{key}.npz"
    if path.exists():
        cached = load_npz(path)
        if cached["train"].shape[0] == dataset.n_train and cached["test"].shape[0] == dataset.n_test:
            return cached["train"], cached["test"]
    CallbackList(callbacks).on_note(f"computing {view.name} features of {dataset.n_train + dataset.n_test} images (once for this data set; "
                                    f"then read from {path.parent})")
    train, test = view.transform(dataset.train_images), view.transform(dataset.test_images)
    save_npz(path, train=train, test=test)
    return train, test
