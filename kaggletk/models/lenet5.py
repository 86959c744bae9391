"""``lenet5``: LeNet-5 as in the course seed.

conv 5x5x6 'same' -> pool 2x2 -> conv 5x5x16 'valid' -> pool 2x2 -> dense 120 -> dense 84 -> softmax.
"""

from __future__ import annotations

from kaggletk.models._keras import KerasModel


class LeNet5Model(KerasModel):
    name = "lenet5"
    accepts = "image"
    default_view = "image"

    @classmethod
    def default_params(cls):
        return {"activation": "relu", "pooling": "max", "learning_rate": 1e-3, "batch_size": 128, "epochs": 30,
                "patience": 5, "schedule": "plateau", "deterministic": True}

    @classmethod
    def param_ranges(cls):
        return {**super().param_ranges(), "activation": ("relu", "tanh", "sigmoid", "elu"), "pooling": ("max", "average")}

    @classmethod
    def search_space(cls, trial):
        return {
            "activation": trial.suggest_categorical("activation", ["relu", "tanh"]),
            "pooling": trial.suggest_categorical("pooling", ["max", "average"]),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        }

    def build(self, keras, input_shape):
        if min(input_shape[:2]) < 12:
            from kaggletk.errors import KaggletkError

            raise KaggletkError(f"lenet5: its fixed design (5x5 'same', pool, 5x5 'valid', pool) needs images of at least "
                                f"12x12 pixels; these are {input_shape[0]}x{input_shape[1]}; use --model cnn")
        p = self.resolved_params()
        layers = keras.layers
        pool = layers.MaxPooling2D if p["pooling"] == "max" else layers.AveragePooling2D
        act = p["activation"]
        return keras.Sequential([
            keras.Input(shape=input_shape),
            layers.Conv2D(6, 5, padding="same", activation=act),
            pool(2),
            layers.Conv2D(16, 5, padding="valid", activation=act),
            pool(2),
            layers.Flatten(),
            layers.Dense(120, activation=act),
            layers.Dense(84, activation=act),
            layers.Dense(self.n_classes_, activation="softmax", dtype="float32"),
        ], name="lenet5")
