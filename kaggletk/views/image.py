"""``image``: (n, h, w, c) float32 in [0, 1] (c = 1 for grayscale, 3 for RGB), for convolutional nets."""

from __future__ import annotations

import numpy as np

from kaggletk.views._base import Parts, View


class ImageView(View):
    name = "image"
    kind = "image"

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        scaled = images.astype(np.float32) / 255.0
        return scaled[..., None] if scaled.ndim == 3 else scaled
