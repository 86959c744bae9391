"""``pcahog``: the ``pca`` scores beside the ``hog`` histograms, for tree models.

PCA keeps the overall intensity layout and HOG the local edge directions; trees use both
(``bench/results/views-*.md`` compares it with either half alone).
"""

from __future__ import annotations

import numpy as np

from kaggletk.views._base import Parts, View
from kaggletk.views.hog import HogView
from kaggletk.views.pca import PcaView


class PcaHogView(View):
    """(n, n_components + 324) float32 with the defaults: 80 PCA scores, then the default HOG features."""

    name = "pcahog"
    stateless = False

    def __init__(self, n_components: int = 80, seed: int = 0):
        self.pca = PcaView(n_components=n_components, seed=seed)
        self.hog = HogView()

    def stateless_parts(self) -> dict[str, HogView]:
        return {"hog": self.hog}

    def fit(self, images: np.ndarray, parts: Parts | None = None) -> PcaHogView:
        self.pca.fit(images)
        return self

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        return np.hstack([self.pca.transform(images), self._parts(images, parts)["hog"]])

    def state(self) -> dict[str, np.ndarray]:
        return self.pca.state()

    def set_state(self, state: dict[str, np.ndarray]) -> PcaHogView:
        self.pca.set_state(state)
        return self

    def get_params(self) -> dict:
        return {"pca": self.pca.get_params(), "hog": self.hog.get_params()}
