"""Causal transformer decoder (GPT-2 layout): token ids in, hidden states out, no head.

    token + learned position embeddings -> dropout -> N x TransformerDecoderBlock (pre-LN)
    -> final LayerNorm -> sequence_output (batch, length, hidden_dim)

`token_logits` projects hidden states with the token embedding matrix transposed (weights tied,
as GPT-2), so the output layer adds no parameters. `call_with_cache` runs new positions against
a key/value cache for generation; `empty_cache` makes one.

Example:

>>> backbone = DecoderBackbone.from_preset("tiny", vocabulary_size=4096, max_sequence_length=256)
>>> hidden = backbone({"token_ids": ids})["sequence_output"]     # (batch, length, 128)
>>> logits = backbone.token_logits(hidden)                       # (batch, length, 4096)
"""

import math

import keras
import tensorflow as tf
from keras import ops

from tfssl.layers.hash_dropout import HashDropout
from tfssl.layers.layer_config import store_arguments
from tfssl.layers.transformer_decoder_block import TransformerDecoderBlock
from tfssl.models.backbone import Backbone
from tfssl.models.presets import DECODER_PRESETS


@keras.saving.register_keras_serializable(package="tfssl")
class DecoderBackbone(Backbone):
    """Args:
    vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: the usual sizes.
    max_sequence_length: the context: size of the position table, the longest sequence accepted.
    dropout: embedding, attention and residual dropout (training only).
    activation, layer_norm_epsilon, initializer_range: see `TransformerDecoderBlock`.
    rotary: rotary attention (RoPE) instead of the learned position table.
    """

    presets = DECODER_PRESETS

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=1024,
        dropout=0.0,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-5,
        initializer_range=0.02,
        rotary=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        store_arguments(self, locals())
        init = keras.initializers.RandomNormal(stddev=self.initializer_range)
        self.token_embedding = keras.layers.Embedding(self.vocabulary_size, self.hidden_dim, embeddings_initializer=init,
                                                      name="token_embedding")
        self.position_embedding = None if self.rotary else keras.layers.Embedding(
            self.max_sequence_length, self.hidden_dim, embeddings_initializer=init, name="position_embedding")
        self.embedding_dropout = HashDropout(self.dropout)
        self.blocks = [
            TransformerDecoderBlock(
                self.num_heads, self.hidden_dim, self.intermediate_dim, dropout=self.dropout, activation=self.activation,
                layer_norm_epsilon=self.layer_norm_epsilon, initializer_range=self.initializer_range,
                residual_scale=1.0 / math.sqrt(2 * self.num_layers), rotary=self.rotary, name=f"decoder_block_{i}",
            )
            for i in range(self.num_layers)
        ]
        self.final_layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="final_layer_norm")

    def build(self, input_shape=None):
        self.token_embedding.build((None, None))
        if self.position_embedding is not None:
            self.position_embedding.build((None,))
        for block in self.blocks:
            block.build((None, None, self.hidden_dim))
        self.final_layer_norm.build((None, None, self.hidden_dim))
        self.built = True

    def _embed(self, token_ids, start, training):
        x = self.token_embedding(token_ids)  # (batch, length, hidden_dim)
        if self.position_embedding is not None:
            positions = ops.arange(ops.shape(token_ids)[1]) + start
            x = x + self.position_embedding(positions)[None]  # (1, length, hidden_dim) broadcast
        return self.embedding_dropout(x, training=training)

    def call(self, inputs, training=None):
        token_ids = inputs["token_ids"] if isinstance(inputs, dict) else inputs
        x = self._embed(token_ids, 0, training)
        for block in self.blocks:
            x = block(x, training=training)
        return {"sequence_output": self.final_layer_norm(x)}

    def token_logits(self, hidden):
        """(..., hidden_dim) -> (..., vocabulary_size), through the tied token embedding, in the
        hidden states' dtype. One 2-D matmul against the table as stored (no transposed copy of
        the (vocabulary_size, hidden_dim) table, forward or backward)."""
        table = ops.cast(self.token_embedding.embeddings, hidden.dtype)  # (vocabulary_size, hidden_dim)
        flat = tf.reshape(hidden, (-1, self.hidden_dim))  # (tokens, hidden_dim)
        logits = tf.matmul(flat, table, transpose_b=True)  # (tokens, vocabulary_size)
        return tf.reshape(logits, tf.concat([tf.shape(hidden)[:-1], [self.vocabulary_size]], axis=0))

    def empty_cache(self, batch_size, max_length, dtype="float32"):
        """One `(keys, values)` pair of zeros per block, each (batch, num_heads, max_length, head_dim).
        Separate tensors, not one stacked array: a step then updates each in place instead of
        slicing and re-stacking the whole cache."""
        shape = (batch_size, self.num_heads, max_length, self.head_dim)
        return tuple((ops.zeros(shape, dtype=dtype), ops.zeros(shape, dtype=dtype)) for _ in range(self.num_layers))

    def call_with_cache(self, token_ids, cache, cache_index):
        """Runs `token_ids` (batch, length) as positions `cache_index ...` against `cache`;
        returns `(sequence_output, updated_cache)`. Inference only (no dropout)."""
        x = self._embed(token_ids, cache_index, training=False)
        layer_caches = []
        for block, layer_cache in zip(self.blocks, cache):
            x, layer_cache = block(x, cache=layer_cache, cache_index=cache_index, training=False)
            layer_caches.append(tuple(layer_cache))
        return self.final_layer_norm(x), tuple(layer_caches)
