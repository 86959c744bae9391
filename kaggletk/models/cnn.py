"""``cnn``: a strong small CNN for small images (28x28 and up, grayscale or RGB).

Three conv blocks (BatchNorm, ReLU, max-pooling, Dropout), a dense head, on-the-fly augmentation
(shifts; rotations, zoom and random erasing when asked; horizontal flips only where the competition allows them), cosine
learning-rate decay (with warm-up when asked), label smoothing when asked, early stopping, and test-time augmentation applied
identically to OOF and test predictions.
"""

from __future__ import annotations

import numpy as np

from kaggletk.models._base import Range
from kaggletk.models._keras import KerasModel


def shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images (n, h, w, c) shifted by (dy, dx) pixels, zero-filled."""
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, yd, xd] = images[:, ys, xs]
    return out


def cnn_body(layers, x, filters, dense: int, dropout: float, dense_dropout: float, flatten: bool = True):
    """The ``cnn``'s layers on ``x``: conv blocks (two 3x3 convs in the first two, one after), each max-pooled and
    dropped out, then a dense layer; ``layers`` is ``keras.layers``. Returns the features before the softmax."""
    for i, width in enumerate(filters):
        for _ in range(2 if i < 2 else 1):
            x = layers.Conv2D(int(width), 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x) if flatten else layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(int(dense), use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.Activation("relu")(x)
    return layers.Dropout(dense_dropout)(x)


class CnnModel(KerasModel):
    name = "cnn"
    accepts = "image"
    default_view = "image"

    @classmethod
    def default_params(cls):
        return {
            "filters": [32, 64, 128], "dense": 256, "dropout": 0.1, "dense_dropout": 0.3,
            "learning_rate": 2e-3, "batch_size": 128, "epochs": 20, "patience": 6, "schedule": "cosine",
            "shift": 0.08, "rotation": 0.0, "zoom": 0.0, "erase": 0.0, "label_smoothing": 0.0, "warmup_epochs": 0,
            "head": "flatten", "hflip": False, "tta": True, "deterministic": True,
        }

    @classmethod
    def param_ranges(cls):
        return {**super().param_ranges(), "shift": Range(0, 0.5), "rotation": Range(0, 180), "zoom": Range(0, 1, high_open=True),
                "erase": Range(0, 1), "head": ("flatten", "gap")}

    @classmethod
    def search_space(cls, trial):
        base = trial.suggest_categorical("base_filters", [16, 32, 48])
        return {
            "filters": [base, base * 2, base * 4],
            "dense": trial.suggest_categorical("dense", [128, 256, 512]),
            "dropout": trial.suggest_float("dropout", 0.1, 0.5),
            "dense_dropout": trial.suggest_float("dense_dropout", 0.2, 0.6),
            "learning_rate": trial.suggest_float("learning_rate", 5e-4, 5e-3, log=True),
            "shift": trial.suggest_float("shift", 0.0, 0.15),
            "rotation": trial.suggest_float("rotation", 0.0, 15.0),
        }

    def augmentations(self, keras):
        p = self.resolved_params()
        layers = keras.layers
        aug = []
        if p["shift"] > 0:
            aug.append(layers.RandomTranslation(p["shift"], p["shift"], fill_mode="constant", seed=self.seed))
        if p["rotation"] > 0:
            aug.append(layers.RandomRotation(p["rotation"] / 360.0, fill_mode="constant", seed=self.seed + 1))
        if p["zoom"] > 0:
            aug.append(layers.RandomZoom(p["zoom"], fill_mode="constant", seed=self.seed + 2))
        if p["hflip"]:
            aug.append(layers.RandomFlip("horizontal", seed=self.seed + 3))
        if p.get("erase"):  # random erasing (Zhong et al. 2017): with probability `erase`, a patch of noise
            aug.append(layers.RandomErasing(factor=(p["erase"], p["erase"]), value_range=(0, 1), seed=self.seed + 4))
        return aug

    def build(self, keras, input_shape):
        p = self.resolved_params()
        layers = keras.layers
        inputs = keras.Input(shape=input_shape)
        x = inputs
        for layer in self.augmentations(keras):
            x = layer(x)
        # a flattened head grows with the image: beyond 64x64 the pooled features are averaged instead
        flatten = p["head"] == "flatten" and input_shape[0] * input_shape[1] <= 64 * 64
        x = cnn_body(layers, x, p["filters"], p["dense"], p["dropout"], p["dense_dropout"], flatten)
        outputs = layers.Dense(self.n_classes_, activation="softmax", dtype="float32")(x)
        return keras.Model(inputs, outputs, name="cnn")

    def tta_views(self, X):
        views = [X, shift(X, 0, 1), shift(X, 0, -1), shift(X, 1, 0), shift(X, -1, 0)]
        if self.resolved_params()["hflip"]:
            views.append(X[:, :, ::-1, :])
        return views
