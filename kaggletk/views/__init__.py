"""Feature views, registered by name. A model declares which views it accepts.

``image`` (n, 28, 28, 1), ``pixels`` (n, 784), ``pca`` (fitted per fold), ``hog``, ``pcahog`` (both), ``compact`` (PCA of
the pixels and of fine HOG). Stateless views, and the stateless parts of learned ones, are computed once per data set and
cached beside it (``data/<variant>/views/<name>-<params hash>.npz``).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from kaggletk._io import load_npz, save_npz
from kaggletk.errors import KaggletkError
from kaggletk.views._base import Parts, View
from kaggletk.views.compact import CompactView
from kaggletk.views.hog import HogView
from kaggletk.views.image import ImageView
from kaggletk.views.pca import PcaView
from kaggletk.views.pcahog import PcaHogView
from kaggletk.views.pixels import PixelsView

VIEWS: dict[str, type[View]] = {
    "image": ImageView,
    "pixels": PixelsView,
    "pca": PcaView,
    "hog": HogView,
    "pcahog": PcaHogView,
    "compact": CompactView,
}

# The views of flat feature vectors (all but the image), which every non-convolutional model accepts.
FLAT_VIEWS = tuple(name for name in VIEWS if name != "image")

# Views cheap enough to recompute rather than store on disk.
_NOT_CACHED = ("image", "pixels")


def get_view(name: str) -> View:
    """A new instance of the view registered as ``name``."""
    if name not in VIEWS:
        raise KaggletkError(f"unknown view {name!r}; known views: {', '.join(VIEWS)}")
    return VIEWS[name]()


def stateless_features(view: View, dataset) -> tuple[np.ndarray, np.ndarray]:
    """Train and test features of a stateless view, cached on disk beside the data."""
    if view.name in _NOT_CACHED:
        return view.transform(dataset.train_images), view.transform(dataset.test_images)
    key = hashlib.sha256(json.dumps(view.get_params(), sort_keys=True).encode()).hexdigest()[:8]
    path = dataset.folder / "views" / f"{view.name}-{key}.npz"
    if path.exists():
        cached = load_npz(path)
        if cached["train"].shape[0] == dataset.n_train and cached["test"].shape[0] == dataset.n_test:
            return cached["train"], cached["test"]
    train, test = view.transform(dataset.train_images), view.transform(dataset.test_images)
    save_npz(path, train=train, test=test)
    return train, test


__all__ = ["FLAT_VIEWS", "VIEWS", "Parts", "View", "get_view", "stateless_features"]
