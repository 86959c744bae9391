"""``compact``: 40 PCA scores of the pixels beside 40 PCA scores of fine-cell HOG, the fast view for tree models.

HOG on 4x4-pixel cells (1,296 values per image) describes edges in more detail than the default
``hog`` view's 7x7 cells; its first 40 principal components beside the pixels' first 40 give trees
80 dense features to split on instead of 784 pixels: as accurate as the raw pixels for
XGBoost and LightGBM, several times faster to train (``bench/results/views-*.md``). Both PCAs learn from the fold's training part only; the HOG values are stateless and
computed once per data set (``View.stateless_parts``).
"""

from __future__ import annotations

import numpy as np

from kaggletk.views._base import Parts, View
from kaggletk.views.hog import HogView
from kaggletk.views.pca import PcaView, fit_pca, pca_from_state, pca_state


class CompactView(View):
    """(n, pixel_components + hog_components) float32: (n, 80) with the defaults."""

    name = "compact"
    stateless = False

    def __init__(self, pixel_components: int = 40, hog_components: int = 40, hog_cell: int = 4, seed: int = 0):
        self.pixel_components = pixel_components
        self.hog_components = hog_components
        self.seed = seed
        self.pixel_pca = PcaView(n_components=pixel_components, seed=seed)
        self.hog = HogView(cell=hog_cell)

    def stateless_parts(self) -> dict[str, HogView]:
        return {"hog": self.hog}

    def fit(self, images: np.ndarray, parts: Parts | None = None) -> CompactView:
        self.pixel_pca.fit(images)
        self.hog_pca_ = fit_pca(self._parts(images, parts)["hog"], self.hog_components, self.seed)
        return self

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        hog = self._parts(images, parts)["hog"]
        return np.hstack([self.pixel_pca.transform(images), self.hog_pca_.transform(hog).astype(np.float32)])

    def state(self) -> dict[str, np.ndarray]:
        return {**pca_state(self.pixel_pca.pca_, "pixel_"), **pca_state(self.hog_pca_, "hog_")}

    def set_state(self, state: dict[str, np.ndarray]) -> CompactView:
        self.pixel_pca.pca_ = pca_from_state(state, "pixel_")
        self.hog_pca_ = pca_from_state(state, "hog_")
        return self

    def get_params(self) -> dict:
        return {"pixel_components": self.pixel_components, "hog_components": self.hog_components, "hog": self.hog.get_params()}
