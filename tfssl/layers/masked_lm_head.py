"""Masked-LM head: vocabulary logits at the masked positions only, tied to the token embeddings.

Gathering the `max_predictions` slots before the vocabulary projection costs
`batch * max_predictions * hidden_dim * vocabulary_size` multiply-adds instead of
`batch * sequence_length * ...`: about 6x fewer at the default 15% rate.
"""

import keras
from keras import ops

from tfssl.layers.layer_config import arguments_config, store_arguments


@keras.saving.register_keras_serializable(package="tfssl")
class MaskedLMHead(keras.layers.Layer):
    """Dense + activation + LayerNorm transform, then a tied projection to the vocabulary.

    Args:
        vocabulary_size: number of output classes.
        hidden_dim: width of the transform's output, the token embedding width.
        input_dim: width of the encoder output; None: `hidden_dim` (they differ in ELECTRA's generator).
        activation: transform activation (BERT: "gelu").
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: stddev of the truncated-normal kernel initializer.
        token_embedding: the backbone's `keras.layers.Embedding`, whose matrix (transposed)
            is the output projection. Not serialized: the owning model passes it again.
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        token_embedding=None,
        input_dim=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        store_arguments(self, locals())
        self.transform = keras.layers.Dense(
            self.hidden_dim,
            activation=keras.activations.get(activation),
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
            name="transform",
        )
        self.layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="transform_layer_norm")

    def build(self, sequence_output_shape, mask_positions_shape=None):
        if self.token_embedding is None:
            raise ValueError("MaskedLMHead needs token_embedding (the backbone's) to tie its output projection.")
        self.transform.build((None, None, self.input_dim or self.hidden_dim))
        self.layer_norm.build((None, None, self.hidden_dim))
        self.output_bias = self.add_weight(name="output_bias", shape=(self.vocabulary_size,), initializer="zeros")
        self.built = True

    def call(self, sequence_output, mask_positions):
        """(batch, length, input_dim), (batch, slots) -> (batch, slots, vocabulary_size) logits."""
        positions = ops.cast(mask_positions, "int32")
        x = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)  # (batch, slots, input_dim)
        x = self.layer_norm(self.transform(x))
        logits = ops.matmul(x, ops.transpose(self.token_embedding.embeddings))  # (batch, slots, vocabulary_size)
        return logits + self.output_bias

    def compute_output_shape(self, sequence_output_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.vocabulary_size,)

    def get_config(self):
        return {**super().get_config(), **arguments_config(self, skip=("token_embedding",))}
