"""Training-only augmentation as a Keras layer: integer shifts, horizontal flips, random erasing.

``shift_flip_erase(keras)`` returns the layer class (defined once, on first use, so that importing
kaggletk does not import Keras). It is registered as ``kaggletk>ShiftFlipErase``, so a saved model
that holds it loads with ``safe_mode=True``. Its random generator is a Keras ``SeedGenerator``,
whose state the epoch checkpoint saves and restores like the Keras preprocessing layers'.
"""

from __future__ import annotations

import numpy as np

_CLASS = None


def shift_flip_erase(keras):
    """The ``ShiftFlipErase`` layer class for this Keras."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="kaggletk")
    class ShiftFlipErase(keras.layers.Layer):
        """Per image, in training only: an integer shift of up to ``shift_px`` pixels each way (zero
        padding, no interpolation), a horizontal flip with probability 1/2 when ``flip``, and random
        erasing (Zhong et al. 2017) with probability ``erase_p``: a rectangle of ``erase_area`` of the
        image (uniform) and aspect ``erase_ratio`` (log-uniform) filled with uniform noise in [0, 1).
        Inputs ``(n, h, w, c)`` in [0, 1]; identity at inference.

        >>> import keras, numpy as np
        >>> layer = shift_flip_erase(keras)(shift_px=2, flip=False, erase_p=0.0, seed=0)
        >>> x = np.ones((4, 28, 28, 1), "float32")
        >>> bool(np.array_equal(np.asarray(layer(x, training=False)), x))
        True
        >>> out = np.asarray(layer(x, training=True)); out.shape, float(out.max())
        ((4, 28, 28, 1), 1.0)
        """

        def __init__(self, shift_px=2, flip=True, erase_p=0.5, erase_area=(0.02, 0.25), erase_ratio=(0.3, 3.3),
                     seed=0, **kwargs):
            super().__init__(**kwargs)
            self.shift_px, self.flip, self.erase_p = int(shift_px), bool(flip), float(erase_p)
            self.erase_area, self.erase_ratio = tuple(erase_area), tuple(erase_ratio)
            self.seed = int(seed)
            self.generator = keras.random.SeedGenerator(self.seed)

        def get_config(self):
            return {**super().get_config(), "shift_px": self.shift_px, "flip": self.flip, "erase_p": self.erase_p,
                    "erase_area": list(self.erase_area), "erase_ratio": list(self.erase_ratio), "seed": self.seed}

        def compute_output_shape(self, input_shape):
            return input_shape

        def call(self, x, training=None):
            if not training:
                return x
            b, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]

            def uniform(shape):
                return keras.random.uniform(shape, seed=self.generator, dtype=x.dtype)

            if self.shift_px:
                s = self.shift_px
                padded = ops.pad(x, [[0, 0], [s, s], [s, s], [0, 0]])
                oy = ops.cast(ops.floor(uniform((b, 1, 1, 1)) * (2 * s + 1)), "int32")
                ox = ops.cast(ops.floor(uniform((b, 1, 1, 1)) * (2 * s + 1)), "int32")
                rows = ops.broadcast_to(oy + ops.reshape(ops.arange(h, dtype="int32"), (1, h, 1, 1)),
                                        (b, h, w + 2 * s, 1))
                x = ops.take_along_axis(padded, rows, axis=1)
                cols = ops.broadcast_to(ox + ops.reshape(ops.arange(w, dtype="int32"), (1, 1, w, 1)), (b, h, w, 1))
                x = ops.take_along_axis(x, cols, axis=2)
            if self.flip:
                x = ops.where(uniform((b, 1, 1, 1)) < 0.5, ops.flip(x, axis=2), x)
            if self.erase_p > 0:
                lo, hi = self.erase_area
                area = (lo + (hi - lo) * uniform((b,))) * (h * w)
                rlo, rhi = float(np.log(self.erase_ratio[0])), float(np.log(self.erase_ratio[1]))
                ratio = ops.exp(rlo + (rhi - rlo) * uniform((b,)))
                eh = ops.clip(ops.round(ops.sqrt(area * ratio)), 1, h)
                ew = ops.clip(ops.round(ops.sqrt(area / ratio)), 1, w)
                y0 = ops.floor(uniform((b,)) * (h - eh + 1))
                x0 = ops.floor(uniform((b,)) * (w - ew + 1))
                yy = ops.reshape(ops.arange(h, dtype=x.dtype), (1, h, 1, 1))
                xx = ops.reshape(ops.arange(w, dtype=x.dtype), (1, 1, w, 1))

                def col(v):
                    return ops.reshape(v, (-1, 1, 1, 1))

                inside = (yy >= col(y0)) & (yy < col(y0 + eh)) & (xx >= col(x0)) & (xx < col(x0 + ew))
                x = ops.where(inside & (uniform((b, 1, 1, 1)) < self.erase_p), uniform(ops.shape(x)), x)
            return x

    _CLASS = ShiftFlipErase
    return _CLASS
