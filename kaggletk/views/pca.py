"""``pca``: principal components of the pixels, fitted on the fold's training part only."""

from __future__ import annotations

import numpy as np

from kaggletk.views._base import Parts, View
from kaggletk.views.pixels import PixelsView


def pca_state(pca, prefix: str = "") -> dict[str, np.ndarray]:
    """The arrays a fitted scikit-learn PCA transforms with (its mean and components)."""
    return {f"{prefix}mean": pca.mean_, f"{prefix}components": pca.components_}


def pca_from_state(state: dict[str, np.ndarray], prefix: str = ""):
    """A scikit-learn PCA that transforms exactly as the one ``pca_state`` read (same arrays, same code)."""
    from sklearn.decomposition import PCA

    components = np.asarray(state[f"{prefix}components"])
    pca = PCA(n_components=components.shape[0])
    pca.components_, pca.mean_ = components, np.asarray(state[f"{prefix}mean"])
    pca.n_components_, pca.n_features_in_ = components.shape
    pca.explained_variance_ = np.ones(components.shape[0], dtype=components.dtype)  # unused: whiten is False
    return pca


def fit_pca(features: np.ndarray, n_components: int, seed: int):
    """A randomized PCA of (n, d) float features, with at most min(n - 1, d) components."""
    # Imported here: scikit-learn takes about a second to import, which every run would pay (see kaggletk/metrics.py).
    from sklearn.decomposition import PCA

    n_components = min(n_components, len(features) - 1, features.shape[1])
    return PCA(n_components=n_components, svd_solver="randomized", random_state=seed).fit(features)


class PcaView(View):
    """(n, n_components) float32 principal-component scores of the [0, 1] pixels."""

    name = "pca"
    stateless = False

    def __init__(self, n_components: int = 80, seed: int = 0):
        self.n_components = n_components
        self.seed = seed

    def fit(self, images: np.ndarray, parts: Parts | None = None) -> PcaView:
        self.pca_ = fit_pca(PixelsView().transform(images), self.n_components, self.seed)
        return self

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        return self.pca_.transform(PixelsView().transform(images)).astype(np.float32)

    def get_params(self) -> dict:
        return {"n_components": self.n_components}

    def state(self) -> dict[str, np.ndarray]:
        return pca_state(self.pca_)

    def set_state(self, state: dict[str, np.ndarray]) -> PcaView:
        self.pca_ = pca_from_state(state)
        return self
