"""Resume inside a fold: a Keras fit checkpointed after every epoch, and an epoch order that does not depend on where it started.

A strong network can take over an hour a fold on a CPU. ``EpochCheckpoint`` saves, after every
epoch, the model's weights with the optimizer's state (moments, the step that drives the learning
rate schedule, EMA weights) and the augmentation layers' random-generator states, then the epoch
number and the history so far; each file is written whole and renamed into place, the metadata
last, so a process killed at any moment resumes at the last finished epoch. It also keeps the
seconds the finished epochs took (``seconds``), so a fold resumed across processes reports the
time all of them spent, not only the last one's. ``epoch_batches``
orders each epoch's rows by a permutation of (seed, epoch) alone, so a resumed fit sees the same
batches as an uninterrupted one and ends with the same model.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk._faults import crash_point
from kaggletk._io import read_json, save_npz, write_json

_META = "checkpoint.json"


class EpochCheckpoint:
    """The checkpoint of one fit in ``folder`` (created on first save)."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.seconds = 0.0  # fit seconds of the epochs restored (those earlier processes trained)
        self._since = time.perf_counter()

    def restore(self, model) -> tuple[int, dict[str, list[float]]]:
        """Load the last finished epoch into ``model`` (compiled); (the next epoch, the history so far), or (0, {})."""
        self.seconds, self._since = 0.0, time.perf_counter()
        meta_path = self.folder / _META
        if not meta_path.exists():
            return 0, {}
        meta = read_json(meta_path)
        weights = self.folder / meta["weights"]
        if not weights.exists():
            return 0, {}
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(weights)
        states = self.folder / meta["random_states"]
        with np.load(states, allow_pickle=False) as saved:
            for i, variable in enumerate(_random_states(model)):  # by position: layer names differ between builds
                variable.assign(saved[f"state{i}"])
        self.seconds = float(meta.get("seconds", 0.0))
        return int(meta["epoch"]) + 1, {k: list(v) for k, v in meta["history"].items()}

    def save(self, model, epoch: int, history: dict[str, list[float]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch}.weights.h5"
        tmp = self.folder / f".{name}.tmp.weights.h5"
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, self.folder / name)
        states = f"epoch-{epoch}.random.npz"  # Keras leaves the layers' random-generator states out of the weights
        save_npz(self.folder / states, **{f"state{i}": np.asarray(v) for i, v in enumerate(_random_states(model))})
        seconds = self.seconds + time.perf_counter() - self._since
        write_json(self.folder / _META, {"epoch": epoch, "weights": name, "random_states": states, "history": history,
                                         "seconds": round(seconds, 3)})
        crash_point("epoch-saved")
        for old in [*self.folder.glob("epoch-*.weights.h5"), *self.folder.glob("epoch-*.random.npz")]:
            if old.name not in (name, states):
                old.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the checkpoint once the fit is done (its result is in the fold file)."""
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                path.unlink(missing_ok=True)
            self.folder.rmdir()

    def callback(self, keras, owner) -> Any:
        checkpoint = self

        class SaveEachEpoch(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if not self.model.stop_training:
                    checkpoint.save(self.model, epoch, owner.history_)

        return SaveEachEpoch()


def _random_states(model) -> list:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def epoch_batches(X: np.ndarray, y: np.ndarray, batch_size: int, seed: int, start_epoch: int, epochs: int):
    """A ``tf.data.Dataset`` of the batches of epochs ``start_epoch..epochs-1``, each epoch in its own (seed, epoch) order."""
    import tensorflow as tf

    n = len(X)
    images = tf.constant(X)
    labels = tf.constant(y.astype(np.int32) if np.issubdtype(y.dtype, np.integer) else y.astype(np.float32))

    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64),
                                                          seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    batches = tf.data.Dataset.range(start_epoch, epochs).flat_map(one_epoch)
    return batches.map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)
