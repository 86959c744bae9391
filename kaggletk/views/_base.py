"""The view interface: a function of the images, fitted on a fold's training part when it learns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

# Features of a view's stateless parts (``View.stateless_parts``) for the same rows as the images, by part name.
Parts = dict[str, np.ndarray]


class View(ABC):
    """Turns images into the features a model trains on.

    ``fit`` sees only the training part of a fold, so a learned view (PCA) cannot leak the
    held-out rows. Stateless views ignore ``fit`` and may be cached once per data set.

    A learned view built on a costly stateless descriptor (HOG) names it in ``stateless_parts``; the CV
    runner then computes that descriptor once per data set, caches it on disk, and hands each
    fold's rows of it to ``fit`` and ``transform``. Called without ``parts``, the view computes
    them from the images itself, so the result is the same either way.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "flat"  # "flat": (n, d) feature vectors; "image": (n, h, w, c) for convolutional nets
    stateless: ClassVar[bool] = True

    def stateless_parts(self) -> dict[str, View]:
        """The stateless views whose features ``fit`` and ``transform`` read, by name."""
        return {}

    def fit(self, images: np.ndarray, parts: Parts | None = None) -> View:
        """Learn from training images of shape (n, h, w) or (n, h, w, c), uint8. Returns self."""
        return self

    @abstractmethod
    def transform(self, images: np.ndarray, parts: Parts | None = None) -> np.ndarray:
        """Features for images of shape (n, h, w) or (n, h, w, c), uint8; float32, first axis n."""

    def get_params(self) -> dict:
        return {}

    def state(self) -> dict[str, np.ndarray]:
        """What ``fit`` learnt, as arrays (saved beside a fold's model, so inference needs no refit); {} when stateless."""
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> View:
        """Restore what ``state`` returned (on a view built with the same parameters). Returns self."""
        return self

    def _parts(self, images: np.ndarray, parts: Parts | None) -> Parts:
        if parts is not None:
            return parts
        return {key: part.transform(images) for key, part in self.stateless_parts().items()}
