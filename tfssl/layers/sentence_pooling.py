"""Pooling token states into one sentence vector.

Modes: `mean` over real tokens; `cls`, the first token's state; `first_last_mean`, the mean over
real tokens of the average of the first and last layers' states (SimCSE's "first-last avg");
`all_layers_mean`, the mean over real tokens of the average of the embedding output and every
layer's output (keeps the lexical signal of the embeddings, which small encoders' upper layers
blur: measured in the README).
"""

import keras
from keras import ops

POOLING_MODES = ("mean", "cls", "first_last_mean", "all_layers_mean")
# Contrastive pretraining also takes `cls_mlp` and `mean_mlp`: `cls` or `mean` plus a tanh MLP
# used only in training (SimCSE); see `ContrastivePretrainer`. `cls_mlp`, SimCSE's choice, first.
CONTRASTIVE_POOLING_MODES = ("cls_mlp", "cls", "mean", "mean_mlp", "first_last_mean", "all_layers_mean")


@keras.saving.register_keras_serializable(package="tfssl")
class SentencePooling(keras.layers.Layer):
    """(batch, length, dim) states + (batch, length) padding mask -> (batch, dim).

    `first_last_mean` also needs `first_layer_output` (batch, length, dim); `all_layers_mean`
    needs `layer_average_output` (batch, length, dim), passed in place of `sequence_output`.
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"Pooling mode must be one of {POOLING_MODES}, got {mode!r}.")
        self.mode = mode

    def call(self, sequence_output, padding_mask, first_layer_output=None):
        if self.mode == "cls":
            return sequence_output[:, 0, :]
        if self.mode == "first_last_mean":
            if first_layer_output is None:
                raise ValueError("Pooling 'first_last_mean' needs the backbone's `first_layer_output`.")
            sequence_output = 0.5 * (sequence_output + first_layer_output)
        # Summed in float32 under any precision (a bfloat16 sum of 128 rows keeps 8 bits), then back.
        weights = ops.cast(padding_mask, "float32")[:, :, None]  # (batch, length, 1)
        total = ops.sum(ops.cast(sequence_output, "float32") * weights, axis=1)  # (batch, dim)
        return ops.cast(total / ops.maximum(ops.sum(weights, axis=1), 1.0), sequence_output.dtype)

    def pool(self, backbone_outputs, padding_mask):
        """Pools a backbone's output dict (any mode)."""
        if self.mode == "all_layers_mean":
            return self(backbone_outputs["layer_average_output"], padding_mask)
        return self(backbone_outputs["sequence_output"], padding_mask, backbone_outputs.get("first_layer_output"))

    def compute_output_shape(self, sequence_output_shape, padding_mask_shape, first_layer_output_shape=None):
        return (sequence_output_shape[0], sequence_output_shape[-1])

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config
