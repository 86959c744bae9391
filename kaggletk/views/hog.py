"""``hog``: histograms of oriented gradients (scikit-image), a compact shape descriptor."""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed

from kaggletk.views._base import Parts, View


def _hog_block(images: np.ndarray, orientations: int, cell: int, block: int) -> np.ndarray:
    from skimage.feature import hog

    channel_axis = -1 if images.ndim == 4 else None  # RGB: the strongest gradient over the channels, per pixel
    return np.stack([
        hog(img, orientations=orientations, pixels_per_cell=(cell, cell), cells_per_block=(block, block),
            block_norm="L2-Hys", feature_vector=True, channel_axis=channel_axis)
        for img in images
    ]).astype(np.float32)


class HogView(View):
    """(n, 324) float32 for 28x28 images with the defaults: 9 orientations, 7x7-pixel cells, 2x2-cell blocks.

    Colour images are described by the strongest gradient over their channels (scikit-image's ``channel_axis``).
    """

    name = "hog"

    def __init__(self, orientations: int = 9, cell: int = 7, block: int = 2, n_jobs: int = -1):
        self.orientations = orientations
        self.cell = cell
        self.block = block
        self.n_jobs = n_jobs

    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        if min(images.shape[1:3]) < self.cell * self.block:
            from kaggletk.errors import KaggletkError

            raise KaggletkError(f"--view hog: {images.shape[1]}x{images.shape[2]} images are smaller than a block of "
                                f"{self.block}x{self.block} cells of {self.cell} pixels; pass --view-params "
                                f"'{{\"cell\": {max(1, min(images.shape[1:3]) // self.block)}}}'")
        chunks = np.array_split(images, max(1, len(images) // 2000))
        blocks = Parallel(n_jobs=self.n_jobs)(
            delayed(_hog_block)(chunk, self.orientations, self.cell, self.block) for chunk in chunks
        )
        return np.concatenate(blocks)

    def get_params(self) -> dict:
        return {"orientations": self.orientations, "cell": self.cell, "block": self.block}
