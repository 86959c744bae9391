"""``mlp``: a dense Keras net on pixels (BatchNorm, Dropout, L2, Adam; early stopping and plateau LR)."""

from __future__ import annotations

from kaggletk.models._keras import KerasModel


class MlpModel(KerasModel):
    name = "mlp"
    accepts = "flat"
    default_view = "pixels"

    @classmethod
    def default_params(cls):
        return {"units": [512, 256], "dropout": 0.3, "l2": 1e-4, "learning_rate": 1e-3, "batch_size": 128,
                "epochs": 40, "patience": 6, "schedule": "plateau", "deterministic": True}

    @classmethod
    def search_space(cls, trial):
        width = trial.suggest_categorical("width", [256, 512, 1024])
        depth = trial.suggest_int("depth", 1, 3)
        return {
            "units": [width // (2**i) for i in range(depth)],
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "l2": trial.suggest_float("l2", 1e-6, 1e-2, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
        }

    def build(self, keras, input_shape):
        p = self.resolved_params()
        layers, regularizer = keras.layers, keras.regularizers.l2(p["l2"])
        inputs = keras.Input(shape=input_shape)
        x = inputs
        for units in p["units"]:
            x = layers.Dense(int(units), use_bias=False, kernel_regularizer=regularizer)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("relu")(x)
            x = layers.Dropout(p["dropout"])(x)
        outputs = layers.Dense(self.n_classes_, activation="softmax", dtype="float32")(x)
        return keras.Model(inputs, outputs, name="mlp")
