"""The view interface: a function of the images, fitted on a fold's training part when it learns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np


class View(ABC):
    """Turns images into the features a model trains on.

    ``fit`` sees only the training part of a fold, so a learned view (PCA) cannot leak the
    held-out rows. Stateless views ignore ``fit`` and may be cached once per data set.
    """

    name: ClassVar[str]
    stateless: ClassVar[bool] = True

    def fit(self, images: np.ndarray) -> View:
        """Learn from training images of shape (n, 28, 28), uint8. Returns self."""
        return self

    @abstractmethod
    def transform(self, images: np.ndarray) -> np.ndarray:
        """Features for images of shape (n, 28, 28), uint8; float32, first axis n."""

    def get_params(self) -> dict:
        return {}
