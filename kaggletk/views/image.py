"""``image``: (n, 28, 28, 1) float32 in [0, 1], for convolutional nets."""

from __future__ import annotations

import numpy as np

from kaggletk.views._base import Parts, View


class ImageView(View):
    name = "image"
    kind = "image"

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        return (images.astype(np.float32) / 255.0)[..., None]
