"""``pixels``: (n, h*w*c) float32 in [0, 1] (784 for 28x28 grayscale), for dense nets and trees."""

from __future__ import annotations

import numpy as np

from kaggletk.views._base import Parts, View


class PixelsView(View):
    name = "pixels"

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float32) / 255.0
