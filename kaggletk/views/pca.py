"""``pca``: principal components of the pixels, fitted on the fold's training part only."""

from __future__ import annotations

import numpy as np

from kaggletk.views._base import Parts, View


class PcaView(View):
    """(n, n_components) float32 principal-component scores of the [0, 1] pixels."""

    name = "pca"
    stateless = False

    def __init__(self, n_components: int = 80, seed: int = 0):
        self.n_components = n_components
        self.seed = seed

    def fit(self, images: np.ndarray, parts: Parts | None = None) -> PcaView:
        # Imported here: scikit-learn takes about a second to import, which every run would pay (see kaggletk/metrics.py).
        from sklearn.decomposition import PCA

        pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
        n_components = min(self.n_components, len(images) - 1, pixels.shape[1])
        self.pca_ = PCA(n_components=n_components, svd_solver="randomized", random_state=self.seed).fit(pixels)
        return self

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
        return self.pca_.transform(pixels).astype(np.float32)

    def get_params(self) -> dict:
        return {"n_components": self.n_components}
