"""The same fold trained by hand with the libraries directly: the baseline of bench/overhead.py.

    python bench/_by_hand.py MODEL DATA_DIR FOLDS_FILE FOLD PARAMS_JSON STOP_ROWS_NPY

Reads kaggletk's cached arrays and saved folds (so the data and rows are identical), builds the
model with Keras or XGBoost as a notebook would, trains on the fold's training part less the
stopping rows kaggletk sets aside (``STOP_ROWS_NPY``, the same rows), stops early on those,
predicts the held-out part and the test set, and prints one JSON line: accuracy, seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def load(data_dir: str, folds_file: str, fold: int, stop_file: str):
    train = np.load(os.path.join(data_dir, "train_images.npy"))
    labels = np.load(os.path.join(data_dir, "train_labels.npy"))
    test = np.load(os.path.join(data_dir, "test_images.npy"))
    assignment = np.load(folds_file)["assignment"]
    classes = np.unique(labels)
    y = np.searchsorted(classes, labels)
    stop = np.load(stop_file)
    fit = np.setdiff1d(np.flatnonzero(assignment != fold), stop)
    return train, y, test, fit, stop, np.flatnonzero(assignment == fold), len(classes)


def xgb(train, y, test, fit, stop, held, n_classes, p, seed):
    import xgboost
    from sklearn.decomposition import PCA

    pixels = train.reshape(len(train), -1).astype(np.float32) / 255.0
    pca = PCA(n_components=80, svd_solver="randomized", random_state=0).fit(pixels[fit])
    X_fit, X_stop, X_held = pca.transform(pixels[fit]), pca.transform(pixels[stop]), pca.transform(pixels[held])
    X_test = pca.transform(test.reshape(len(test), -1).astype(np.float32) / 255.0)
    model = xgboost.XGBClassifier(objective="multi:softprob", eval_metric=["mlogloss", "merror"], random_state=seed,
                                  device="cpu", **p)
    model.fit(X_fit, y[fit], eval_set=[(X_stop, y[stop])], verbose=False)
    model.predict_proba(X_test)
    return model.predict_proba(X_held)


def _keras_fit(build, X_fit, y_fit, X_stop, y_stop, X_held, X_test, p, seed, cosine):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    lr = p["learning_rate"]
    if cosine:
        steps = p["epochs"] * int(np.ceil(len(X_fit) / p["batch_size"]))
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps, alpha=0.01)
    model = build(keras)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=p["patience"], restore_best_weights=True)]
    if not cosine:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, p["patience"] // 2), min_lr=1e-5))
    model.fit(X_fit, y_fit, validation_data=(X_stop, y_stop), epochs=p["epochs"], batch_size=p["batch_size"],
              callbacks=callbacks, verbose=0, shuffle=True)
    model.predict(X_test, batch_size=1024, verbose=0)
    return model.predict(X_held, batch_size=1024, verbose=0)


def mlp(train, y, test, fit, stop, held, n_classes, p, seed):
    X = train.reshape(len(train), -1).astype(np.float32) / 255.0
    X_test = test.reshape(len(test), -1).astype(np.float32) / 255.0

    def build(keras):
        L = keras.layers
        x = inputs = keras.Input(shape=(784,))
        for units in p["units"]:
            x = L.Dense(units, use_bias=False, kernel_regularizer=keras.regularizers.l2(p["l2"]))(x)
            x = L.BatchNormalization(momentum=0.9)(x)
            x = L.Activation("relu")(x)
            x = L.Dropout(p["dropout"])(x)
        return keras.Model(inputs, L.Dense(n_classes, activation="softmax")(x))

    return _keras_fit(build, X[fit], y[fit], X[stop], y[stop], X[held], X_test, p, seed, cosine=False)


def cnn(train, y, test, fit, stop, held, n_classes, p, seed):
    X = (train.astype(np.float32) / 255.0)[..., None]
    X_test = (test.astype(np.float32) / 255.0)[..., None]

    def build(keras):
        L = keras.layers
        x = inputs = keras.Input(shape=(28, 28, 1))
        x = L.RandomTranslation(p["shift"], p["shift"], fill_mode="constant", seed=seed)(x)
        if p["hflip"]:
            x = L.RandomFlip("horizontal", seed=seed + 3)(x)
        for i, filters in enumerate(p["filters"]):
            for _ in range(2 if i < 2 else 1):
                x = L.Conv2D(filters, 3, padding="same", use_bias=False)(x)
                x = L.BatchNormalization(momentum=0.9)(x)
                x = L.Activation("relu")(x)
            x = L.MaxPooling2D(2)(x)
            x = L.Dropout(p["dropout"])(x)
        x = L.Flatten()(x)
        x = L.Dense(p["dense"], use_bias=False)(x)
        x = L.BatchNormalization(momentum=0.9)(x)
        x = L.Activation("relu")(x)
        x = L.Dropout(p["dense_dropout"])(x)
        return keras.Model(inputs, L.Dense(n_classes, activation="softmax")(x))

    return _keras_fit(build, X[fit], y[fit], X[stop], y[stop], X[held], X_test, p, seed, cosine=True)


def main() -> None:
    model, data_dir, folds_file, fold, params, stop_file = (sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
                                                            json.loads(sys.argv[5]), sys.argv[6])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.perf_counter()
    train, y, test, fit, stop, held, n_classes = load(data_dir, folds_file, fold, stop_file)
    proba = {"xgb": xgb, "mlp": mlp, "cnn": cnn}[model](train, y, test, fit, stop, held, n_classes, params, seed=fold)
    print(json.dumps({"accuracy": float((proba.argmax(1) == y[held]).mean()), "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
