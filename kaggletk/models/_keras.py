"""Shared Keras machinery: compile, train with callbacks, record History, predict with TTA.

TensorFlow is imported here and only when a Keras model is built, so ``kaggletk --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from kaggletk.models._base import Model, StepCallback, normalise_proba


@contextlib.contextmanager
def _quiet_native_stderr():
    """Send file descriptor 2 to /dev/null for the block (Python exceptions still propagate)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Import Keras (TensorFlow backend) with TensorFlow's C++ and Python logging kept quiet."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with _quiet_native_stderr():  # TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL
        import keras
        import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    return keras


def _step_callback_adapter(keras, callback: StepCallback, epochs: int):
    class _Adapter(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            callback.on_train_begin(epochs)

        def on_epoch_end(self, epoch, logs=None):
            callback.on_step_end(epoch, {k: float(v) for k, v in (logs or {}).items()})
            if callback.stop_training:
                self.model.stop_training = True

    return _Adapter()


def _learning_rate_logger(keras):
    class LearningRateLogger(keras.callbacks.Callback):
        """Puts the optimiser's current learning rate into the epoch logs (and so the History)."""

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    return LearningRateLogger()


class KerasModel(Model):
    """Base of the Keras adapters. Subclasses build the network; this class trains it.

    Common parameters: ``epochs``, ``batch_size``, ``learning_rate``, ``patience`` (early stopping
    on validation loss, best weights restored), ``schedule`` (``plateau``: ReduceLROnPlateau;
    ``cosine``: cosine decay over ``epochs``), ``tta`` (test-time augmentation in predict_proba).
    """

    supports_gpu = True

    @classmethod
    def stops_early(cls, params):
        return True  # early stopping and ReduceLROnPlateau both watch the validation loss

    @classmethod
    def pruning_callback(cls, trial):
        import_keras()
        from optuna_integration import KerasPruningCallback

        return KerasPruningCallback(trial, "val_loss")

    def build(self, keras, input_shape: tuple[int, ...]):
        raise NotImplementedError

    def augmentations(self, keras) -> list:
        """Keras preprocessing layers active in training only (none by default)."""
        return []

    def _prepare(self, keras):
        import tensorflow as tf

        from kaggletk.errors import KaggletkError
        from kaggletk.models._device import resolve_device

        if resolve_device(self.device, self.name, self.supports_gpu) == "gpu" and not tf.config.list_physical_devices("GPU"):
            raise KaggletkError("--device gpu: TensorFlow sees no GPU (CUDA libraries missing?); install the gpu extra "
                                "(pip install -e '.[gpu]') or use --device cpu")
        keras.utils.set_random_seed(self.seed)
        if self.resolved_params().get("deterministic", True):
            tf.config.experimental.enable_op_determinism()

    def fit(self, X, y, X_valid=None, y_valid=None, callbacks: Sequence[Any] = ()):
        keras = import_keras()
        self._prepare(keras)
        p = self.resolved_params()
        epochs = int(p["epochs"])
        steps_per_epoch = int(np.ceil(len(X) / p["batch_size"]))
        if p.get("schedule") == "cosine":
            learning_rate = keras.optimizers.schedules.CosineDecay(
                p["learning_rate"], decay_steps=max(1, epochs * steps_per_epoch), alpha=0.01)
        else:
            learning_rate = p["learning_rate"]
        model = self.build(keras, X.shape[1:])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        has_valid = X_valid is not None and y_valid is not None
        native: list = [_learning_rate_logger(keras)]
        if has_valid:
            native.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=p["patience"], restore_best_weights=True))
            if p.get("schedule") == "plateau":
                native.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, p["patience"] // 2),
                                                                min_lr=1e-5))
        for cb in callbacks:
            native.append(_step_callback_adapter(keras, cb, epochs) if isinstance(cb, StepCallback) else cb)
        history = model.fit(
            X, y.astype(np.int32), validation_data=(X_valid, y_valid.astype(np.int32)) if has_valid else None,
            epochs=epochs, batch_size=p["batch_size"], callbacks=native, verbose=0, shuffle=True,
        )
        self.model_ = model
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        losses = self.history_.get("val_loss") or self.history_.get("loss") or [0.0]
        self.best_iteration_ = int(np.argmin(losses))
        return self

    def tta_views(self, X: np.ndarray) -> list[np.ndarray]:
        """The inputs averaged at prediction time: the image itself unless the subclass adds more."""
        return [X]

    def predict_proba(self, X):
        p = self.resolved_params()
        views = self.tta_views(X) if p.get("tta", False) else [X]
        total = np.zeros((len(X), self.n_classes), dtype=np.float64)
        for view in views:
            total += self.model_.predict(view, batch_size=1024, verbose=0)
        return normalise_proba(total / len(views))
