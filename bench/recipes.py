"""Training recipes for Fashion-MNIST, measured on fold 0 (issue 25, step 1).

    nice -n 10 python bench/recipes.py [--candidates a,b] [--epochs N] [--precision float32|bfloat16]
                                       [--seed S] [--no-determinism]
    nice -n 10 python bench/recipes.py --probe a,b [--probe-steps 60] [--precision ...] [--no-determinism]
    python bench/recipes.py --report

Each candidate is a network plus a training recipe. It is trained on fold 0's training rows
(48,000 images) for a FIXED number of epochs (no early stopping: the learning-rate schedule
completes within the budget) and, after every epoch, the script records the held-out accuracy and
log-loss on fold 0's held-out rows (12,000 images; with the raw weights and, when the recipe keeps
an exponential moving average of the weights, with the EMA weights too), the training loss (under
augmentation, dropout and label smoothing, so not comparable across recipes), wall seconds and
process CPU seconds (``time.process_time()``, all threads) of the epoch's training and of its
evaluation, and training images per CPU-second. At the end it scores the final weights (EMA
weights when the recipe has EMA) with and without test-time augmentation (TTA: the image, four
one-pixel shifts and the horizontal mirror, averaged) on the held-out rows and on the test set.
Held-out accuracy is what candidates are chosen on; test accuracy is reported for information only.

Results go to ``bench/results/recipes-fashion_mnist.json`` after every epoch; a run that finished
is never rerun (the script resumes), one that was interrupted starts again. Each finished run's
held-out and test probabilities are saved as float16 under ``bench/results/recipes/`` so that the
held-out accuracy of the average of every pair of runs is computed (networks that err differently
versus one network trained twice). ``bench/results/recipes-fashion_mnist.md`` is rendered from the
JSON alone.

``--probe`` measures training throughput only (images per CPU-second over ``--probe-steps`` steps
after a warm-up), each setting in a fresh process, e.g. with and without
``tf.config.experimental.enable_op_determinism()``, which is process-wide.

Uses only ``kaggletk.data.load_dataset`` and ``kaggletk.folds.load_folds`` from the project; the
networks and recipes are defined here (the ``cnn`` one reproduces ``kaggletk/models/cnn.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from kaggletk.models.cnn import cnn_body, shift  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
JSON_PATH = RESULTS / "recipes-fashion_mnist.json"
MD_PATH = RESULTS / "recipes-fashion_mnist.md"
PROBA_DIR = RESULTS / "recipes"
COMPETITION, FOLD, BATCH, N_CLASSES = "fashion_mnist", 0, 128, 10

# --- recipes --------------------------------------------------------------------------------------
# "baseline" is kaggletk/models/cnn.py's training: Adam 2e-3, cosine decay to 1% over the run,
# bilinear random translation of 8% and horizontal flips as Keras layers, no label smoothing.
# "plus" adds what the literature uses for short high-accuracy runs: integer shifts of up to 2 pixels
# (pad + crop, no interpolation blur), flips, random erasing, label smoothing 0.1, SGD-Nesterov with
# a one-epoch linear warm-up then cosine to zero, decoupled weight decay on kernels only, and an EMA
# of the weights (decay 0.999, ~2.7 epochs) that is used for evaluation.
RECIPES = {
    "baseline": {"optimizer": "adam", "learning_rate": 2e-3, "warmup_epochs": 0, "final_lr_fraction": 0.01,
                 "weight_decay": 0.0, "label_smoothing": 0.0, "ema": None,
                 "augment": {"kind": "keras-translation", "translation": 0.08, "flip": True}},
    "plus": {"optimizer": "sgd-nesterov", "learning_rate": 0.1, "momentum": 0.9, "warmup_epochs": 1,
             "final_lr_fraction": 0.0, "weight_decay": 5e-3, "label_smoothing": 0.1, "ema": 0.999,
             "augment": {"kind": "shift-flip-erase", "shift_px": 2, "flip": True, "erase_p": 0.5,
                         "erase_area": [0.02, 0.25], "erase_ratio": [0.3, 3.3]}},
    # "adam-plus": the baseline's optimiser and schedule with plus's regularisers but no EMA (whose BatchNorm
    # statistics Keras does not average): a one-epoch warm-up, label smoothing 0.1, integer shifts, flips, erasing.
    "adam-plus": {"optimizer": "adam", "learning_rate": 2e-3, "warmup_epochs": 1, "final_lr_fraction": 0.01,
                  "weight_decay": 0.0, "label_smoothing": 0.1, "ema": None,
                  "augment": {"kind": "shift-flip-erase", "shift_px": 2, "flip": True, "erase_p": 0.5,
                              "erase_area": [0.02, 0.25], "erase_ratio": [0.3, 3.3]}},
}
# weight_decay is Keras's decoupled form (w -= lr * wd * w each step); 5e-3 at lr 0.1 shrinks the
# weights by 5e-4 a step, the same as PyTorch-style coupled L2 of 5e-4 with momentum 0.9.

# network name -> builder keyword arguments; candidate -> (network, recipe)
NETWORKS = {
    "cnn": {"kind": "cnn", "filters": [32, 64, 128], "dense": 256, "dropout": 0.1, "dense_dropout": 0.3},
    "resnet20": {"kind": "resnet", "widths": [16, 32, 64], "blocks": 3},
    "airbench-32": {"kind": "airbench", "stem": 24, "widths": [32, 64, 128]},
    "airbench-48": {"kind": "airbench", "stem": 24, "widths": [48, 96, 192]},
    "airbench-64": {"kind": "airbench", "stem": 32, "widths": [64, 128, 256]},
}
CANDIDATES = {
    "cnn-baseline": ("cnn", "baseline"),
    "cnn-plus": ("cnn", "plus"),
    "cnn-adam-plus": ("cnn", "adam-plus"),
    "airbench-32-adam-plus": ("airbench-32", "adam-plus"),
    "resnet20": ("resnet20", "plus"),
    "airbench-32": ("airbench-32", "plus"),
    "airbench-48": ("airbench-48", "plus"),
    "airbench-64": ("airbench-64", "plus"),
}


# --- data -----------------------------------------------------------------------------------------
def load_data():
    """Fold 0 of Fashion-MNIST as float32 (n, 28, 28, 1) in [0, 1], plus class-index labels."""
    from kaggletk.data import load_dataset
    from kaggletk.folds import load_folds

    d = load_dataset(COMPETITION, "full")
    fit_idx, valid_idx = load_folds(d).split(FOLD)
    X = (d.train_images.astype(np.float32) / 255.0)[..., None]
    X_test = (d.test_images.astype(np.float32) / 255.0)[..., None]
    y = np.asarray(d.y, dtype=np.int64)
    to_index = dict(zip(np.asarray(d.train_labels).tolist(), y.tolist()))
    holdout = d.holdout_labels()
    y_test = None if holdout is None else np.array([to_index[v] for v in np.asarray(holdout).tolist()], dtype=np.int64)
    return {"X_fit": X[fit_idx], "y_fit": y[fit_idx], "X_valid": X[valid_idx], "y_valid": y[valid_idx],
            "valid_idx": np.asarray(valid_idx), "X_test": X_test, "y_test": y_test}


def tta_views(X: np.ndarray) -> list[np.ndarray]:
    """The image, four one-pixel shifts and the horizontal mirror (the cnn adapter's TTA)."""
    return [X, shift(X, 0, 1), shift(X, 0, -1), shift(X, 1, 0), shift(X, -1, 0), X[:, :, ::-1, :]]


# --- networks -------------------------------------------------------------------------------------
def shift_flip_erase_layer(keras):
    """The class of a training-only, per-image augmentation layer (Keras ops, any backend)."""
    ops = keras.ops

    class ShiftFlipErase(keras.layers.Layer):
        """Per image: integer shift of up to ``shift_px`` pixels (zero padding), horizontal flip with
        probability 1/2, and random erasing (Zhong et al. 2017) with probability ``erase_p``: a
        rectangle of ``erase_area`` of the image (uniform) and aspect ``erase_ratio`` (log-uniform)
        filled with uniform noise. Identity at inference."""

        def __init__(self, shift_px=2, flip=True, erase_p=0.5, erase_area=(0.02, 0.25), erase_ratio=(0.3, 3.3),
                     seed=0, **kwargs):
            super().__init__(**kwargs)
            self.shift_px, self.flip, self.erase_p = int(shift_px), bool(flip), float(erase_p)
            self.erase_area, self.erase_ratio = tuple(erase_area), tuple(erase_ratio)
            self.generator = keras.random.SeedGenerator(seed)

        def call(self, x, training=None):
            if not training:
                return x
            b, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
            uniform = lambda shape: keras.random.uniform(shape, seed=self.generator)  # noqa: E731
            if self.shift_px:
                s = self.shift_px
                padded = ops.pad(x, [[0, 0], [s, s], [s, s], [0, 0]])
                oy = ops.cast(ops.floor(uniform((b, 1, 1, 1)) * (2 * s + 1)), "int32")
                ox = ops.cast(ops.floor(uniform((b, 1, 1, 1)) * (2 * s + 1)), "int32")
                rows = oy + ops.reshape(ops.arange(h, dtype="int32"), (1, h, 1, 1))
                rows = ops.broadcast_to(rows, (b, h, w + 2 * s, 1))
                x = ops.take_along_axis(padded, rows, axis=1)
                cols = ox + ops.reshape(ops.arange(w, dtype="int32"), (1, 1, w, 1))
                cols = ops.broadcast_to(cols, (b, h, w, 1))
                x = ops.take_along_axis(x, cols, axis=2)
            if self.flip:
                x = ops.where(uniform((b, 1, 1, 1)) < 0.5, ops.flip(x, axis=2), x)
            if self.erase_p > 0:
                lo, hi = self.erase_area
                area = (lo + (hi - lo) * uniform((b,))) * (h * w)
                rlo, rhi = np.log(self.erase_ratio[0]), np.log(self.erase_ratio[1])
                ratio = ops.exp(rlo + (rhi - rlo) * uniform((b,)))
                eh = ops.clip(ops.round(ops.sqrt(area * ratio)), 1, h)
                ew = ops.clip(ops.round(ops.sqrt(area / ratio)), 1, w)
                y0 = ops.floor(uniform((b,)) * (h - eh + 1))
                x0 = ops.floor(uniform((b,)) * (w - ew + 1))
                yy = ops.reshape(ops.arange(h, dtype="float32"), (1, h, 1, 1))
                xx = ops.reshape(ops.arange(w, dtype="float32"), (1, 1, w, 1))
                col = lambda v: ops.reshape(v, (-1, 1, 1, 1))  # noqa: E731
                inside = (yy >= col(y0)) & (yy < col(y0 + eh)) & (xx >= col(x0)) & (xx < col(x0 + ew))
                erase = inside & (uniform((b, 1, 1, 1)) < self.erase_p)
                x = ops.where(erase, uniform(ops.shape(x)), x)
            return x

    return ShiftFlipErase


def augmentation_layers(keras, augment: dict, seed: int) -> list:
    """Training-only augmentation layers, computed in float32 whatever the precision policy."""
    layers = keras.layers
    if augment["kind"] == "keras-translation":  # kaggletk/models/cnn.py
        t = augment["translation"]
        aug = [layers.RandomTranslation(t, t, fill_mode="constant", seed=seed, dtype="float32")]
        if augment["flip"]:
            aug.append(layers.RandomFlip("horizontal", seed=seed + 3, dtype="float32"))
        return aug
    if augment["kind"] == "shift-flip-erase":
        kwargs = {k: v for k, v in augment.items() if k != "kind"}
        return [shift_flip_erase_layer(keras)(**kwargs, seed=seed, dtype="float32")]
    raise ValueError(f"unknown augmentation {augment['kind']!r}")


def build_network(keras, net: dict, aug: list):
    """A Keras model: augmentation layers, then the network; the softmax layer is float32."""
    layers = keras.layers
    inputs = keras.Input(shape=(28, 28, 1))
    x = inputs
    for layer in aug:
        x = layer(x)
    if net["kind"] == "cnn":  # kaggletk/models/cnn.py with its default parameters
        x = cnn_body(layers, x, net["filters"], net["dense"], net["dropout"], net["dense_dropout"])
    elif net["kind"] == "resnet":  # CIFAR-style ResNet (He et al. 2016), 6n+2 layers, 1x1 projections
        conv = lambda f, k=3, s=1: layers.Conv2D(f, k, strides=s, padding="same", use_bias=False,  # noqa: E731
                                                 kernel_initializer="he_normal")
        bn = lambda: layers.BatchNormalization(momentum=0.9)  # noqa: E731
        x = layers.Activation("relu")(bn()(conv(net["widths"][0])(x)))
        for stage, filters in enumerate(net["widths"]):
            for block in range(net["blocks"]):
                stride = 2 if stage > 0 and block == 0 else 1
                y = layers.Activation("relu")(bn()(conv(filters, 3, stride)(x)))
                y = bn()(conv(filters)(y))
                if stride != 1 or x.shape[-1] != filters:
                    x = bn()(conv(filters, 1, stride)(x))
                x = layers.Activation("relu")(layers.Add()([x, y]))
        x = layers.GlobalAveragePooling2D()(x)
    elif net["kind"] == "airbench":  # after Keller Jordan's airbench (CIFAR-10): conv groups, GELU, max-pooling
        x = layers.Conv2D(net["stem"], 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("gelu")(x)
        for filters in net["widths"]:
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.MaxPooling2D(2)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("gelu")(x)
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("gelu")(x)
        x = layers.GlobalMaxPooling2D()(x)
    else:
        raise ValueError(f"unknown network kind {net['kind']!r}")
    outputs = layers.Dense(N_CLASSES, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs)


def make_optimizer(keras, recipe: dict, epochs: int, steps_per_epoch: int):
    """The recipe's optimiser with its learning-rate schedule (per step), weight decay and EMA."""
    lr, total = recipe["learning_rate"], max(1, epochs * steps_per_epoch)
    warmup = int(recipe["warmup_epochs"] * steps_per_epoch)
    if warmup:
        schedule = keras.optimizers.schedules.CosineDecay(
            0.1 * lr, decay_steps=total - warmup, alpha=recipe["final_lr_fraction"], warmup_target=lr, warmup_steps=warmup)
    else:
        schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=total, alpha=recipe["final_lr_fraction"])
    common = {"learning_rate": schedule}
    if recipe["weight_decay"]:
        common["weight_decay"] = recipe["weight_decay"]
    if recipe["ema"]:
        common.update(use_ema=True, ema_momentum=recipe["ema"])
    if recipe["optimizer"] == "adam":
        opt = keras.optimizers.Adam(**common)
    elif recipe["optimizer"] == "sgd-nesterov":
        opt = keras.optimizers.SGD(momentum=recipe["momentum"], nesterov=True, **common)
    else:
        raise ValueError(f"unknown optimizer {recipe['optimizer']!r}")
    if recipe["weight_decay"]:
        opt.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])  # decay kernels only
    return opt


def setup_keras(precision: str, deterministic: bool, seed: int):
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    return keras


def compile_candidate(keras, candidate: str, epochs: int, seed: int):
    net_name, recipe_name = CANDIDATES[candidate]
    recipe = RECIPES[recipe_name]
    model = build_network(keras, NETWORKS[net_name], augmentation_layers(keras, recipe["augment"], seed))
    steps = int(np.ceil(48_000 / BATCH))
    model.compile(optimizer=make_optimizer(keras, recipe, epochs, steps),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
                  metrics=["accuracy"], jit_compile=False)
    return model, recipe


# --- evaluation -----------------------------------------------------------------------------------
def predict(model, X: np.ndarray) -> np.ndarray:
    return model.predict(X, batch_size=1000, verbose=0).astype(np.float64)


def scores(proba: np.ndarray, y: np.ndarray) -> dict:
    p = np.clip(proba / proba.sum(axis=1, keepdims=True), 1e-7, 1.0)
    return {"acc": float(np.mean(p.argmax(axis=1) == y)), "logloss": float(-np.mean(np.log(p[np.arange(len(y)), y])))}


def ema_swapped(model):
    """Context manager: the model's trainable weights replaced by the optimiser's EMA for the block."""
    import contextlib

    @contextlib.contextmanager
    def swap():
        opt = model.optimizer
        variables = list(opt._trainable_variables)
        saved = [v.numpy() for v in variables]
        for v, average in zip(variables, opt._model_variables_moving_average):
            if average is not None:
                v.assign(average)
        try:
            yield
        finally:
            for v, value in zip(variables, saved):
                v.assign(value)

    return swap()


# --- results file ---------------------------------------------------------------------------------
def machine() -> dict:
    import keras
    import tensorflow as tf

    cpu, flags = "unknown", set()
    try:
        lines = open("/proc/cpuinfo").read().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
        flags = set(next(line.split(":", 1)[1] for line in lines if line.startswith("flags")).split())
    except (OSError, StopIteration):
        pass
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return {"cpu": cpu, "cores": os.cpu_count(), "simd": simd, "gpu": bool(tf.config.list_physical_devices("GPU")),
            "platform": platform.platform(), "python": platform.python_version(),
            "libraries": {"numpy": np.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}}


def load_results() -> dict:
    if JSON_PATH.exists():
        return json.loads(JSON_PATH.read_text())
    return {"runs": {}, "probes": [], "ensembles": []}


def save_results(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = JSON_PATH.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(JSON_PATH)


def run_key(candidate: str, epochs: int, precision: str, seed: int, deterministic: bool) -> str:
    key = f"{candidate}-e{epochs}-{'bf16' if precision == 'bfloat16' else 'fp32'}"
    if seed != 0:
        key += f"-s{seed}"
    if not deterministic:
        key += "-nondet"
    return key


def command_line() -> str:
    return f"nice -n {os.nice(0)} python " + " ".join(["bench/recipes.py", *sys.argv[1:]])


# --- a run ----------------------------------------------------------------------------------------
def train_run(doc: dict, key: str, candidate: str, epochs: int, precision: str, seed: int, deterministic: bool,
              data: dict) -> None:
    keras = setup_keras(precision, deterministic, seed)
    model, recipe = compile_candidate(keras, candidate, epochs, seed)
    y_fit = keras.utils.to_categorical(data["y_fit"], N_CLASSES).astype(np.float32)
    rec = {"candidate": candidate, "network": CANDIDATES[candidate][0], "network_spec": NETWORKS[CANDIDATES[candidate][0]],
           "recipe": CANDIDATES[candidate][1], "recipe_spec": recipe, "epochs": epochs, "precision": precision,
           "seed": seed, "deterministic": deterministic, "machine": machine(), "batch_size": BATCH, "params": int(model.count_params()),
           "n_fit": len(y_fit), "n_valid": len(data["y_valid"]), "command": command_line(),
           "started": dt.datetime.now().isoformat(timespec="seconds"), "status": "running", "curve": []}
    doc["runs"][key] = rec
    save_results(doc)

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            train_wall, train_cpu = time.perf_counter() - self.t0, time.process_time() - self.c0
            t1, c1 = time.perf_counter(), time.process_time()
            row = {"epoch": epoch + 1, "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                   "train_loss": float(logs["loss"]), "train_acc": float(logs["accuracy"])}
            s = scores(predict(self.model, data["X_valid"]), data["y_valid"])
            row.update(heldout_acc=s["acc"], heldout_logloss=s["logloss"])
            if recipe["ema"]:
                with ema_swapped(self.model):
                    s = scores(predict(self.model, data["X_valid"]), data["y_valid"])
                row.update(heldout_acc_ema=s["acc"], heldout_logloss_ema=s["logloss"])
            row.update(train_wall_s=train_wall, train_cpu_s=train_cpu, eval_wall_s=time.perf_counter() - t1,
                       eval_cpu_s=time.process_time() - c1, images_per_cpu_s=len(y_fit) / train_cpu,
                       images_per_wall_s=len(y_fit) / train_wall)
            rec["curve"].append(row)
            save_results(doc)
            print(f"{key} epoch {epoch + 1}/{epochs}: " + ", ".join(
                f"{k} {v:.4f}" for k, v in row.items() if k not in ("epoch",)), flush=True)

    raw = {}

    class KeepRawWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == epochs:
                raw["weights"] = [v.numpy() for v in self.model.trainable_variables]

    model.fit(data["X_fit"], y_fit, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[Recorder(), KeepRawWeights()])
    # fit() ends by writing the EMA into the weights when the optimiser keeps one: these are the recipe's final
    # weights. The raw (last-step) weights are scored too, since Keras's EMA leaves BatchNorm statistics un-averaged.
    t1, c1 = time.perf_counter(), time.process_time()
    final = {}
    for prefix in ("", "raw_") if recipe["ema"] else ("",):
        if prefix == "raw_":
            for v, value in zip(model.trainable_variables, raw["weights"]):
                v.assign(value)
        for part, X, y in (("heldout", data["X_valid"], data["y_valid"]), ("test", data["X_test"], data["y_test"])):
            views = [predict(model, v) for v in tta_views(X)]
            plain, tta = views[0], np.mean(views, axis=0)
            final[f"{prefix}{part}"] = {"plain": plain, "tta": tta}
            if y is not None:
                rec[f"{prefix}{part}_plain"], rec[f"{prefix}{part}_tta"] = scores(plain, y), scores(tta, y)
    rec.update(final_eval_wall_s=time.perf_counter() - t1, final_eval_cpu_s=time.process_time() - c1)
    PROBA_DIR.mkdir(parents=True, exist_ok=True)
    gitignore = PROBA_DIR / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*.npz\n.lock\n")
    np.savez_compressed(PROBA_DIR / f"{key}.npz", valid_idx=data["valid_idx"],
                        **{f"{part}_{kind}": p.astype(np.float16) for part, d in final.items() for kind, p in d.items()})
    curve = rec["curve"]
    train_cpu = sum(r["train_cpu_s"] for r in curve)
    total_cpu = train_cpu + sum(r["eval_cpu_s"] for r in curve) + rec["final_eval_cpu_s"]
    rec.update(train_cpu_hours=train_cpu / 3600, cpu_hours=total_cpu / 3600,
               train_wall_hours=sum(r["train_wall_s"] for r in curve) / 3600,
               images_per_cpu_s=len(y_fit) * len(curve) / train_cpu,
               finished=dt.datetime.now().isoformat(timespec="seconds"), status="done")
    save_results(doc)


def chosen_weights(run: dict) -> str:
    """``raw_`` when a run's raw (last-step) weights beat its EMA weights on held-out TTA accuracy, else ``""``."""
    if "raw_heldout_tta" in run and run["raw_heldout_tta"]["acc"] > run["heldout_tta"]["acc"]:
        return "raw_"
    return ""


def update_ensembles(doc: dict, data_y_valid: np.ndarray, y_test: np.ndarray | None) -> None:
    """Held-out (and, for information, test) accuracy of the TTA probabilities averaged over each pair of runs.

    Each run contributes its better weights on held-out TTA accuracy (EMA or raw), chosen on held-out rows only.
    """
    done = [k for k, r in doc["runs"].items() if r.get("status") == "done" and (PROBA_DIR / f"{k}.npz").exists()]
    proba = {k: np.load(PROBA_DIR / f"{k}.npz") for k in done}
    pick = {k: chosen_weights(doc["runs"][k]) for k in done}
    rows = []
    for a, b in itertools.combinations(done, 2):
        pa, pb = (proba[k][f"{pick[k]}heldout_tta"].astype(np.float64) for k in (a, b))
        row = {"a": a, "b": b, "weights_a": pick[a] or "final", "weights_b": pick[b] or "final",
               "acc_a": scores(pa, data_y_valid)["acc"], "acc_b": scores(pb, data_y_valid)["acc"],
               "heldout_acc": scores((pa + pb) / 2, data_y_valid)["acc"],
               "disagreement": float(np.mean(pa.argmax(1) != pb.argmax(1))),
               "both_wrong": float(np.mean((pa.argmax(1) != data_y_valid) & (pb.argmax(1) != data_y_valid)))}
        if y_test is not None:
            ta, tb = (proba[k][f"{pick[k]}test_tta"].astype(np.float64) for k in (a, b))
            row["test_acc"] = scores((ta + tb) / 2, y_test)["acc"]
        rows.append(row)
    # pairs scored earlier whose probability files are gone (they are not tracked) keep their rows
    computed = {(r["a"], r["b"]) for r in rows}
    kept = [r for r in doc.get("ensembles", []) if (r["a"], r["b"]) not in computed]
    doc["ensembles"] = kept + rows


# --- throughput probe -----------------------------------------------------------------------------
def probe_worker(candidate: str, precision: str, deterministic: bool, steps: int, seed: int) -> dict:
    keras = setup_keras(precision, deterministic, seed)
    data = load_data()
    n = steps * BATCH
    X, y = data["X_fit"][:n], keras.utils.to_categorical(data["y_fit"][:n], N_CLASSES).astype(np.float32)
    model, _ = compile_candidate(keras, candidate, 30, seed)
    model.fit(X[:10 * BATCH], y[:10 * BATCH], batch_size=BATCH, epochs=1, verbose=0, shuffle=True)  # trace + warm up
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(X, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"candidate": candidate, "params": int(model.count_params()), "precision": precision,
            "deterministic": deterministic, "steps": steps, "images_per_cpu_s": n / cpu, "images_per_wall_s": n / wall,
            "s_per_epoch_48k_wall": 48_000 / (n / wall), "command": command_line(),
            "date": dt.datetime.now().isoformat(timespec="seconds")}


# --- Markdown -------------------------------------------------------------------------------------
def fmt(v, digits=4):
    return "—" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def pct(v):
    return "—" if v is None else f"{100 * v:.2f}"


def raw_cell(r: dict) -> str:
    if "raw_heldout_tta" not in r:
        return "—"
    return f"{pct(r['raw_heldout_plain']['acc'])} / {pct(r['raw_heldout_tta']['acc'])}"


# The first runs (2026-12-01, before each run kept its machine) ran on this CPU; CPU-seconds differ across CPUs.
EARLIER_CPU = "AMD EPYC"


def run_cpu(r: dict) -> str:
    return (r.get("machine") or {}).get("cpu") or EARLIER_CPU


def render_markdown(doc: dict) -> str:
    m = doc.get("machine", {})
    libs = ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items())
    out = ["# recipes — Fashion-MNIST, fold 0", "",
           f"Machine: {m.get('cpu')}, {m.get('cores')} cores, SIMD flags {', '.join(m.get('simd', [])) or 'unknown'}, "
           f"GPU: {'yes' if m.get('gpu') else 'no'}, {m.get('platform')}, "
           f"Python {m.get('python')}; {libs}. Last updated {doc.get('updated')}.", "",
           "Each run trains on fold 0's 48,000 training rows for a fixed number of epochs (no early stopping) and is "
           "scored on fold 0's 12,000 held-out rows; candidates are chosen on held-out accuracy. Final weights are the "
           "EMA weights when the recipe keeps an EMA. TTA = the image, four one-pixel shifts and the mirror, averaged. "
           "For recipes with an EMA the raw (last-step) weights are scored too (Keras's EMA does not average the "
           "BatchNorm statistics; runs scored before this column existed show —). "
           "CPU-hours are process CPU time (both cores count) of training plus all evaluation. The machine was shared "
           "with another engineer's tests, so wall times are noisy; CPU time is the fairer cost, but only between runs "
           "on the same CPU (the CPU column: sessions ran on different machines).", "",
           "## Runs", "",
           "| run | CPU | params | epochs | precision | held-out acc % | held-out acc % TTA | held-out log-loss TTA "
           "| raw weights: held-out acc % / TTA | test acc % TTA (for information; not used to choose) "
           "| CPU-hours | train images/CPU-s | held-out TTA acc % per CPU-hour |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    runs = doc["runs"]
    for key, r in runs.items():
        if r.get("status") != "done":
            out.append(f"| {key} | {run_cpu(r)} | {r['params']:,} | {len(r['curve'])}/{r['epochs']} (unfinished) "
                       f"| {r['precision']} | — | — | — | — | — | — | — | — |")
            out[-1] = out[-1].replace("(unfinished)", "(unfinished: stopped or running)")
            continue
        out.append(f"| {key} | {run_cpu(r)} | {r['params']:,} | {r['epochs']} | {r['precision']} | {pct(r['heldout_plain']['acc'])} "
                   f"| {pct(r['heldout_tta']['acc'])} | {fmt(r['heldout_tta']['logloss'])} "
                   f"| {raw_cell(r)} | {pct(r.get('test_tta', {}).get('acc'))} | {r['cpu_hours']:.3f} | {r['images_per_cpu_s']:.0f} "
                   f"| {100 * r['heldout_tta']['acc'] / r['cpu_hours']:.1f} |")
    out += ["", "Commands:", ""] + [f"- `{r['command']}` ({k}, started {r['started']})" for k, r in runs.items()]
    out += ["", "Recipes:", ""] + [f"- `{name}`: `{json.dumps(spec)}`" for name, spec in RECIPES.items()]
    out += ["", "Networks:", ""] + [f"- `{name}`: `{json.dumps(spec)}`" for name, spec in NETWORKS.items()]

    pairs = doc.get("ensembles", [])
    if pairs:
        out += ["", "## Pairs of runs: held-out accuracy of the averaged TTA probabilities", "",
                "Each run contributes its weights (final = the recipe's, EMA if any; raw_ = last-step) that scored "
                "better on held-out TTA.", "",
                "| run a | run b | acc a % | acc b % | pair % | gain over better % | disagreement % | both wrong % "
                "| pair test % (for information) |", "|---|---|---|---|---|---|---|---|---|"]
        for p in sorted(pairs, key=lambda p: -p["heldout_acc"]):
            out.append(f"| {p['a']} ({p['weights_a']}) | {p['b']} ({p['weights_b']}) | {pct(p['acc_a'])} | {pct(p['acc_b'])} | {pct(p['heldout_acc'])} "
                       f"| {100 * (p['heldout_acc'] - max(p['acc_a'], p['acc_b'])):+.2f} | {pct(p['disagreement'])} "
                       f"| {pct(p['both_wrong'])} | {pct(p.get('test_acc'))} |")

    bf = [(k, k.replace("-bf16", "-fp32")) for k, r in runs.items() if r.get("precision") == "bfloat16"
          and r.get("status") == "done" and runs.get(k.replace("-bf16", "-fp32"), {}).get("status") == "done"]
    if bf:
        out += ["", "## bfloat16 against float32 (same candidate, recipe, epochs and seed)", "",
                "| run | CPU | held-out acc % (raw weights, last epoch) | held-out acc % (EMA, last epoch) "
                "| final held-out acc % | final held-out acc % TTA | final held-out log-loss TTA | test acc % TTA "
                "| train images/CPU-s | speed-up |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for b16, f32 in bf:
            for k in (f32, b16):
                r = runs[k]
                last = r["curve"][-1]
                same_cpu = run_cpu(r) == run_cpu(runs[f32])
                speed = f"{r['images_per_cpu_s'] / runs[f32]['images_per_cpu_s']:.2f}x" if same_cpu else "— (other CPU)"
                out.append(f"| {k} | {run_cpu(r)} | {pct(last['heldout_acc'])} | {pct(last.get('heldout_acc_ema'))} "
                           f"| {pct(r['heldout_plain']['acc'])} | {pct(r['heldout_tta']['acc'])} "
                           f"| {fmt(r['heldout_tta']['logloss'])} | {pct(r.get('test_tta', {}).get('acc'))} "
                           f"| {r['images_per_cpu_s']:.0f} | {speed} |")

    if doc.get("probes"):
        out += ["", "## Throughput probes (training only, fresh process each)", "",
                "| candidate | params | precision | op determinism | steps | images/CPU-s | images/wall-s | s per 48k epoch (wall) | date |",
                "|---|---|---|---|---|---|---|---|---|"]
        for p in doc["probes"]:
            out.append(f"| {p['candidate']} | {p['params']:,} | {p['precision']} | {'on' if p['deterministic'] else 'off'} "
                       f"| {p['steps']} | {p['images_per_cpu_s']:.0f} | {p['images_per_wall_s']:.0f} "
                       f"| {p['s_per_epoch_48k_wall']:.0f} | {p['date']} |")
        out += ["", "Probe commands: " + "; ".join(sorted({f"`{p['command']}`" for p in doc["probes"]}))]

    out += ["", "## Per-epoch curves", ""]
    for key, r in runs.items():
        ema = any("heldout_acc_ema" in row for row in r["curve"])
        out += [f"### {key}", "",
                "| epoch | learning rate | train loss | held-out acc % | held-out log-loss"
                + (" | held-out acc % (EMA) | held-out log-loss (EMA)" if ema else "")
                + " | train s (wall) | train CPU-s | images/CPU-s |",
                "|---|---|---|---|---" + ("|---|---" if ema else "") + "|---|---|---|"]
        for row in r["curve"]:
            out.append(f"| {row['epoch']} | {row['learning_rate']:.5f} | {row['train_loss']:.4f} | {pct(row['heldout_acc'])} "
                       f"| {row['heldout_logloss']:.4f}"
                       + (f" | {pct(row.get('heldout_acc_ema'))} | {fmt(row.get('heldout_logloss_ema'))}" if ema else "")
                       + f" | {row['train_wall_s']:.0f} | {row['train_cpu_s']:.0f} | {row['images_per_cpu_s']:.0f} |")
        out.append("")
    return "\n".join(out) + "\n"


def write_report(doc: dict, data: dict | None = None) -> None:
    if data is not None:
        update_ensembles(doc, data["y_valid"], data["y_test"])
    doc["updated"] = dt.datetime.now().isoformat(timespec="seconds")
    save_results(doc)
    MD_PATH.write_text(render_markdown(doc))


# --- main -----------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", default="cnn-baseline,cnn-plus,resnet20,airbench-48",
                        help=f"comma-separated, from: {', '.join(CANDIDATES)}")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-determinism", action="store_true", help="do not enable TensorFlow op determinism")
    parser.add_argument("--probe", help="comma-separated candidates: measure training throughput only")
    parser.add_argument("--probe-steps", type=int, default=60)
    parser.add_argument("--probe-worker", help=argparse.SUPPRESS)
    parser.add_argument("--report", action="store_true", help="only re-render the Markdown (and pair table)")
    args = parser.parse_args(argv)
    deterministic = not args.no_determinism

    if args.probe_worker:  # one probe, in its own process; prints one JSON line
        print("PROBE " + json.dumps(probe_worker(args.probe_worker, args.precision, deterministic, args.probe_steps, args.seed)))
        return 0

    from kaggletk._lock import folder_lock
    from kaggletk.errors import KaggletkError

    # one writer of the results at a time: each run rewrites the whole JSON after every epoch
    try:
        with folder_lock(PROBA_DIR, "bench/recipes.py: another run is writing bench/results/recipes-fashion_mnist.json",
                         fix="wait for it to finish (one training at a time on this machine)"):
            return _locked_main(parser, args, deterministic)
    except KaggletkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _locked_main(parser, args, deterministic: bool) -> int:
    doc = load_results()
    doc["machine"] = machine()  # this session's machine; each run also records its own
    if args.report:
        write_report(doc, load_data())
        return 0
    if args.probe:
        for candidate in args.probe.split(","):
            cmd = [sys.executable, __file__, "--probe-worker", candidate, "--precision", args.precision,
                   "--probe-steps", str(args.probe_steps), "--seed", str(args.seed)] + (["--no-determinism"] if not deterministic else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            result = json.loads(next(line for line in out.splitlines() if line.startswith("PROBE "))[6:])
            result["command"] = command_line()
            print(result, flush=True)
            doc["probes"].append(result)
            write_report(doc)
        return 0

    data = load_data()
    for candidate in args.candidates.split(","):
        if candidate not in CANDIDATES:
            parser.error(f"unknown candidate {candidate!r}; choose from {', '.join(CANDIDATES)}")
        key = run_key(candidate, args.epochs, args.precision, args.seed, deterministic)
        if doc["runs"].get(key, {}).get("status") == "done":
            print(f"{key}: done already, skipped", flush=True)
            continue
        train_run(doc, key, candidate, args.epochs, args.precision, args.seed, deterministic, data)
        write_report(doc, data)
        print(f"{key}: done", flush=True)
    write_report(doc, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
