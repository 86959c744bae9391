"""Shared Keras machinery: compile, train with callbacks, predict with test-time augmentation.

TensorFlow is imported here and only when a Keras model is fitted, so ``kaggletk --help`` stays
fast. Subclasses build the network (``build``) and may add training-time augmentation layers and
test-time views; this class owns the optimiser, the schedule, early stopping on stopping rows, the
device and precision, and the bridge from Keras' epoch logs to the base class's history.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk.models._base import Model, Range
from kaggletk.models._checkpoint import EpochCheckpoint, epoch_batches


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
    if "keras" not in sys.modules or "tensorflow" not in sys.modules:
        with _quiet_native_stderr():  # TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    return keras


_KERAS_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16", "mixed_float16": "mixed_float16"}


@contextlib.contextmanager
def dtype_policy(keras, precision: str):
    """Layers built in the block compute in ``precision`` (weights stay float32); the global policy is restored."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(_KERAS_POLICY[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _bridge(keras, model: Model):
    class StepBridge(keras.callbacks.Callback):
        """Epoch logs -> ``Model._step`` (history under standard keys, kaggletk callbacks, stop requests)."""

        def on_epoch_end(self, epoch, logs=None):
            if model._step(epoch, logs or {}):
                self.model.stop_training = True

    return StepBridge()


def _build_state(model, x, y) -> None:
    """Create the optimizer's and the compiled loss's and metrics' variables before ``fit``.

    Without a distribution strategy Keras creates them inside the first trace of its train step,
    and TensorFlow then traces that step a second time, which costs a second or more a fit for the
    small networks here (every fold pays it). Building them first from one batch (Keras's own
    ``_symbolic_build``, as ``fit`` does under a strategy) leaves one trace and the same numbers.
    Variables a checkpoint restored are kept.
    """
    build = getattr(model, "_symbolic_build", None)
    if build is not None:
        build(data_batch=(x, y))


def _learning_rate_logger(keras):
    class LearningRateLogger(keras.callbacks.Callback):
        """Puts the optimiser's current learning rate into the epoch logs (and so the history)."""

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    return LearningRateLogger()


class KerasModel(Model):
    """Base of the Keras adapters. Subclasses build the network; this class trains it.

    Common parameters: ``epochs``, ``batch_size``, ``learning_rate``, ``patience`` (early stopping
    on the stopping rows' loss, best weights restored), ``schedule`` (``plateau``: ReduceLROnPlateau;
    ``cosine``: cosine decay over ``epochs``), ``tta`` (test-time augmentation in predict_proba),
    ``deterministic`` (TensorFlow's deterministic ops, for reproducible CPU runs),
    ``label_smoothing`` (targets ``(1 - s) * one_hot + s / n_classes``; 0 = none) and
    ``warmup_epochs`` (the cosine schedule starts at a tenth of ``learning_rate`` and rises linearly
    to it over this many epochs, then decays).

    Each epoch sees the rows in an order fixed by (seed, epoch) (``epoch_batches``); with a
    ``checkpoint_dir`` the fit is saved after every epoch and a fit started again resumes after the
    last finished one, ending with the model an uninterrupted fit would have (early stopping's
    patience restarts on resume).
    """

    supports_gpu = True
    library = "TensorFlow"
    gpu_hint = "install the gpu extra (pip install -e '.[gpu]')"
    step_unit = "epoch"

    @classmethod
    def _stops_early(cls, params):
        # Early stopping (``patience``) and ReduceLROnPlateau (``schedule="plateau"``) both watch the stopping rows'
        # loss; a fixed-length schedule (``patience: null`` with ``cosine``) needs no stopping rows.
        return bool(params.get("patience")) or params.get("schedule") == "plateau"

    @classmethod
    def param_ranges(cls):
        return {"epochs": Range(1, None), "batch_size": Range(1, None), "learning_rate": Range(0, None, low_open=True),
                "patience": Range(1, None), "dropout": Range(0, 1, high_open=True), "dense_dropout": Range(0, 1, high_open=True),
                "l2": Range(0, None), "schedule": ("plateau", "cosine", "constant"),
                "label_smoothing": Range(0, 1, high_open=True), "warmup_epochs": Range(0, None),
                "optimizer": ("adam", "sgd"), "momentum": Range(0, 1, high_open=True), "weight_decay": Range(0, None)}

    def build(self, keras, input_shape: tuple[int, ...]):
        raise NotImplementedError

    def augmentations(self, keras) -> list:
        """Keras preprocessing layers active in training only (none by default)."""
        return []

    def tta_views(self, X: np.ndarray) -> list[np.ndarray]:
        """The inputs averaged at prediction time: the image itself unless the subclass adds more."""
        return [X]

    def _device_scope(self):
        import_keras()  # a loaded model predicts without a fit: TensorFlow is imported quietly here too
        import tensorflow as tf

        from kaggletk.errors import KaggletkError

        if self.device_ == "gpu":
            if not tf.config.list_physical_devices("GPU"):
                raise KaggletkError("--device gpu: TensorFlow sees no GPU (CUDA libraries missing?); install the gpu extra "
                                    "(pip install -e '.[gpu]') or use --device cpu")
            return tf.device("/GPU:0")
        return tf.device("/CPU:0")

    def _fit(self, X, y, X_stop, y_stop, native_callbacks, checkpoint_dir):
        from kaggletk.models._device import resolve_precision

        keras = import_keras()  # first: it imports TensorFlow with its start-up lines silenced
        import tensorflow as tf
        p = self.resolved_params()
        self.precision_ = resolve_precision(self.precision, self.device_)
        keras.utils.set_random_seed(self.seed)
        if p.get("deterministic", True):
            tf.config.experimental.enable_op_determinism()
        epochs = int(p["epochs"])
        steps_per_epoch = int(np.ceil(len(X) / p["batch_size"]))
        learning_rate = self._learning_rate(keras, p, epochs, steps_per_epoch)
        smoothing = float(p.get("label_smoothing") or 0.0)
        if smoothing:  # Keras smooths one-hot targets only
            loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
            y = np.eye(self.n_classes_, dtype=np.float32)[y]
            y_stop = None if y_stop is None else np.eye(self.n_classes_, dtype=np.float32)[y_stop]
        else:
            loss = "sparse_categorical_crossentropy"
            y_stop = None if y_stop is None else y_stop.astype(np.int32)
        with self._device_scope():
            with dtype_policy(keras, self.precision_):
                model = self.build(keras, X.shape[1:])
            model.compile(optimizer=self._optimizer(keras, p, learning_rate), loss=loss, metrics=["accuracy"])
            callbacks: list[Any] = [_learning_rate_logger(keras), _bridge(keras, self)]
            if X_stop is not None:
                if p.get("patience"):
                    callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=p["patience"],
                                                                   restore_best_weights=True))
                if p.get("schedule") == "plateau":
                    callbacks.append(keras.callbacks.ReduceLROnPlateau(
                        monitor="val_loss", factor=0.5, patience=max(1, (p.get("patience") or 2) // 2), min_lr=1e-5))
            callbacks += list(native_callbacks)
            start = 0
            checkpoint = EpochCheckpoint(checkpoint_dir) if checkpoint_dir is not None else None
            if checkpoint is not None:
                start, self.history_ = checkpoint.restore(model)
                self.resumed_seconds_ = checkpoint.seconds
                callbacks.append(checkpoint.callback(keras, self))
            self._begin(epochs)
            if start < epochs:
                _build_state(model, X[: p["batch_size"]], y[: p["batch_size"]])
                model.fit(epoch_batches(X, y, int(p["batch_size"]), self.seed, start, epochs), epochs=epochs,
                          initial_epoch=start, steps_per_epoch=steps_per_epoch,
                          validation_data=(X_stop, y_stop) if X_stop is not None else None,
                          callbacks=callbacks, verbose=0, shuffle=False)
            if checkpoint is not None:
                checkpoint.clear()
        self.model_ = model
        losses = self.history_.get("val_loss") or self.history_.get("loss") or [0.0]
        self.best_iteration_ = int(np.argmin(losses))

    @staticmethod
    def _optimizer(keras, p: dict, learning_rate):
        """Adam, or SGD with Nesterov momentum (``optimizer: "sgd"``, ``momentum``); ``weight_decay`` is
        Keras's decoupled decay (each step ``w -= lr * weight_decay * w``), of the kernels only (not the
        BatchNorm scales and offsets or the biases). Adapters without these parameters train with Adam."""
        decay = float(p.get("weight_decay") or 0.0)
        kwargs = {"learning_rate": learning_rate, **({"weight_decay": decay} if decay else {})}
        if p.get("optimizer", "adam") == "sgd":
            optimizer = keras.optimizers.SGD(momentum=float(p.get("momentum", 0.9)), nesterov=True, **kwargs)
        else:
            optimizer = keras.optimizers.Adam(**kwargs)
        if decay:
            optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
        return optimizer

    @staticmethod
    def _learning_rate(keras, p: dict, epochs: int, steps_per_epoch: int):
        """The learning rate or its per-step schedule: ``cosine`` decays to 1% over the run, after
        ``warmup_epochs`` of linear warm-up from a tenth of the rate."""
        if p.get("schedule") != "cosine":
            return p["learning_rate"]
        total = max(1, epochs * steps_per_epoch)
        warmup = min(total - 1, int(round(float(p.get("warmup_epochs") or 0) * steps_per_epoch)))
        if warmup <= 0:
            return keras.optimizers.schedules.CosineDecay(p["learning_rate"], decay_steps=total, alpha=0.01)
        return keras.optimizers.schedules.CosineDecay(0.1 * p["learning_rate"], decay_steps=total - warmup, alpha=0.01,
                                                      warmup_target=p["learning_rate"], warmup_steps=warmup)

    def _save_model(self, stem):
        path = Path(f"{stem}.keras")
        tmp = path.with_name(f".{path.stem}.tmp.keras")
        self.model_.save(tmp)
        os.replace(tmp, path)
        return path

    def _load_model(self, path):
        keras = import_keras()
        with self._device_scope():  # safe_mode: a saved model cannot run code of its own (no Lambda layers)
            self.model_ = keras.models.load_model(path, compile=False, safe_mode=True)

    def _predict_proba(self, X):
        p = self.resolved_params()
        views = self.tta_views(X) if p.get("tta", False) else [X]
        total = np.zeros((len(X), self.n_classes_), dtype=np.float64)
        with self._device_scope():
            for view in views:
                total += self.model_.predict(view, batch_size=1024, verbose=0)
        return total / len(views)
