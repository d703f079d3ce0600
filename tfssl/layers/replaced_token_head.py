"""ELECTRA's discriminator head: one logit per token, "was this token replaced?"."""

import keras

from tfssl.layers.layer_config import arguments_config, store_arguments


@keras.saving.register_keras_serializable(package="tfssl")
class ReplacedTokenHead(keras.layers.Layer):
    """Dense + activation, then a projection to one logit per position (Hugging Face's
    `ElectraDiscriminatorPredictions`).

    Args:
        hidden_dim: width of the encoder output (and of the dense layer).
        activation: the dense layer's activation (ELECTRA: the encoder's, "gelu").
        initializer_range: stddev of the truncated-normal kernel initializer.
    """

    def __init__(self, hidden_dim, activation="gelu", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        store_arguments(self, locals())
        init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        self.dense = keras.layers.Dense(self.hidden_dim, activation=keras.activations.get(activation),
                                        kernel_initializer=init, name="dense")
        self.prediction = keras.layers.Dense(1, kernel_initializer=init, name="prediction")

    def build(self, sequence_output_shape=None):
        self.dense.build((None, None, self.hidden_dim))
        self.prediction.build((None, None, self.hidden_dim))
        self.built = True

    def call(self, sequence_output):
        """(batch, length, hidden_dim) -> (batch, length) logits."""
        return self.prediction(self.dense(sequence_output))[..., 0]

    def compute_output_shape(self, sequence_output_shape):
        return tuple(sequence_output_shape[:-1])

    def get_config(self):
        return {**super().get_config(), **arguments_config(self)}
