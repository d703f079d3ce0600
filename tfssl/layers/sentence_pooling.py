"""Pooling token states into one sentence vector: `mean` over real tokens or the `cls` state."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfssl")
class SentencePooling(keras.layers.Layer):
    """(batch, length, dim) states + (batch, length) padding mask -> (batch, dim)."""

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("mean", "cls"):
            raise ValueError(f"Pooling mode must be 'mean' or 'cls', got {mode!r}.")
        self.mode = mode

    def call(self, sequence_output, padding_mask):
        if self.mode == "cls":
            return sequence_output[:, 0, :]
        weights = ops.cast(padding_mask, sequence_output.dtype)[:, :, None]  # (batch, length, 1)
        total = ops.sum(sequence_output * weights, axis=1)  # (batch, dim)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, sequence_output_shape, padding_mask_shape):
        return (sequence_output_shape[0], sequence_output_shape[-1])

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config
