"""``resnet``: a CIFAR-style residual network (ResNet-18 with the defaults), for a GPU.

The published Fashion-MNIST figures beyond 94% come from networks of this class. On a 2-core CPU
the default network is about twenty times slower per image than the ``cnn``
(``bench/results/network-cost.md``); pass ``--device gpu``, or narrow it (``widths``, ``blocks``)
to try it on a CPU. Training-time augmentation and test-time shifts are the ``cnn``'s.
"""

from __future__ import annotations

from kaggletk.models.cnn import CnnModel


class ResNetModel(CnnModel):
    name = "resnet"

    @classmethod
    def default_params(cls):
        return {
            "widths": [64, 128, 256, 512], "blocks": 2, "dropout": 0.0, "learning_rate": 2e-3, "batch_size": 128,
            "epochs": 30, "patience": 8, "schedule": "cosine", "shift": 0.08, "rotation": 0.0, "zoom": 0.0,
            "hflip": False, "tta": True, "deterministic": True,
        }

    @classmethod
    def search_space(cls, trial):
        base = trial.suggest_categorical("base_width", [16, 32, 64])
        return {
            "widths": [base, base * 2, base * 4, base * 8],
            "blocks": trial.suggest_int("blocks", 1, 3),
            "learning_rate": trial.suggest_float("learning_rate", 5e-4, 5e-3, log=True),
            "shift": trial.suggest_float("shift", 0.0, 0.15),
        }

    def build(self, keras, input_shape):
        p = self.resolved_params()
        layers = keras.layers

        def conv_bn(x, filters, kernel, stride):
            x = layers.Conv2D(int(filters), kernel, strides=stride, padding="same", use_bias=False)(x)
            return layers.BatchNormalization(momentum=0.9)(x)

        def basic_block(x, filters, stride):
            shortcut = x
            y = layers.Activation("relu")(conv_bn(x, filters, 3, stride))
            y = conv_bn(y, filters, 3, 1)
            if stride != 1 or shortcut.shape[-1] != filters:  # a projection when the shape changes
                shortcut = conv_bn(shortcut, filters, 1, stride)
            return layers.Activation("relu")(layers.add([y, shortcut]))

        inputs = keras.Input(shape=input_shape)
        x = inputs
        for layer in self.augmentations(keras):
            x = layer(x)
        x = layers.Activation("relu")(conv_bn(x, p["widths"][0], 3, 1))
        for stage, filters in enumerate(p["widths"]):
            for block in range(int(p["blocks"])):
                x = basic_block(x, int(filters), 2 if stage > 0 and block == 0 else 1)
        x = layers.GlobalAveragePooling2D()(x)
        if p["dropout"] > 0:
            x = layers.Dropout(p["dropout"])(x)
        outputs = layers.Dense(self.n_classes_, activation="softmax", dtype="float32")(x)
        return keras.Model(inputs, outputs, name="resnet")
