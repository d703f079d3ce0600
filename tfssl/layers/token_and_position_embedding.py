"""BERT input embeddings: token + learned position (+ segment), then LayerNorm and dropout."""

import keras
from keras import ops

from tfssl.layers.hash_dropout import HashDropout
from tfssl.layers.layer_config import arguments_config, store_arguments, upgrade_config
from tfssl.layers.sinusoidal_initializer import SinusoidalInitializer


@keras.saving.register_keras_serializable(package="tfssl")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Sums token, position and segment embeddings.

    Args:
        vocabulary_size: number of token ids.
        max_sequence_length: size of the position table (the longest input accepted).
        hidden_dim: embedding width.
        num_segments: size of the segment table; 0 disables segments.
        dropout: dropout after the LayerNorm.
        layer_norm_epsilon: LayerNorm epsilon (BERT: 1e-12).
        initializer_range: stddev of the truncated-normal initializer (BERT: 0.02).
        position_initializer: "sinusoidal" (default; learned table started from sinusoids,
            see `SinusoidalInitializer`), "truncated_normal" (BERT's random start), or "none"
            (no absolute positions: for encoders with rotary attention).

    `token_embedding` is exposed so heads can tie their output projection to it.
    """

    def __init__(
        self,
        vocabulary_size,
        max_sequence_length,
        hidden_dim,
        num_segments=2,
        dropout=0.1,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        position_initializer="sinusoidal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if position_initializer not in ("sinusoidal", "truncated_normal", "none"):
            raise ValueError(
                f"position_initializer must be 'sinusoidal', 'truncated_normal' or 'none', got {position_initializer!r}."
            )
        store_arguments(self, locals())
        init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size, self.hidden_dim, embeddings_initializer=init, name="token_embedding"
        )
        self.position_embedding = None if position_initializer == "none" else keras.layers.Embedding(
            self.max_sequence_length,
            self.hidden_dim,
            embeddings_initializer=SinusoidalInitializer(self.initializer_range)
            if position_initializer == "sinusoidal"
            else init,
            name="position_embedding",
        )
        self.segment_embedding = (
            keras.layers.Embedding(self.num_segments, self.hidden_dim, embeddings_initializer=init, name="segment_embedding")
            if self.num_segments
            else None
        )
        self.layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="embeddings_layer_norm")
        self.dropout_layer = HashDropout(self.dropout)

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding.build(token_ids_shape)
        if self.position_embedding is not None:
            self.position_embedding.build((None,))
        if self.segment_embedding is not None:
            self.segment_embedding.build(token_ids_shape)
        self.layer_norm.build(tuple(token_ids_shape) + (self.hidden_dim,))
        self.built = True

    def call(self, token_ids, segment_ids=None, training=None):
        length = ops.shape(token_ids)[1]
        x = self.token_embedding(token_ids)  # (batch, length, hidden_dim)
        if self.position_embedding is not None:
            x = x + self.position_embedding(ops.arange(length))[None]  # (1, length, hidden_dim) broadcast
        if self.segment_embedding is not None:
            # No segment ids means one segment, 0 (BERT's convention): a converted checkpoint then
            # gives Hugging Face's outputs, and masked-LM pretraining trains the row fine-tuning uses.
            x = x + (self.segment_embedding(segment_ids) if segment_ids is not None
                     else self.segment_embedding.embeddings[0])
        return self.dropout_layer(self.layer_norm(x), training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    @classmethod
    def from_config(cls, config):
        """Also takes configs saved under old argument names (`sequence_length`)."""
        return cls(**upgrade_config(config))

    def get_config(self):
        return {**super().get_config(), **arguments_config(self)}
