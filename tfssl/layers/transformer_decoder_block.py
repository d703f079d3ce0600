"""One causal transformer block (GPT-2 layout): pre-LayerNorm self-attention and GELU MLP.

Each position attends to itself and earlier positions only. With a key/value cache, a call
processes `length` new positions starting at `cache_index`: their keys and values are written
into the cache and the queries attend to everything cached so far, so generating one token
costs one position's work instead of a re-run over the prefix.

Cache, per block: a `(keys, values)` pair, each (batch, num_heads, max_length, head_dim).
"""

import math

import keras
import tensorflow as tf
from keras import ops

from tfssl.layers.hash_dropout import HashDropout
from tfssl.layers.transformer_encoder_block import apply_rotary


def _write_cache(cache, new, index):
    """Writes `new` (batch, heads, length, head_dim) into `cache` (batch, heads, max_length, head_dim)
    at positions `index ...`. A scatter, which TensorFlow may do in place (the step then costs the
    new positions, not a copy of the cache) and XLA lowers to an in-place update; not
    `keras.ops.slice_update`, which lowers to an XLA-only op TF Serving's runtime cannot run."""
    shape = tf.shape(new)
    b, h, p = tf.meshgrid(tf.range(shape[0]), tf.range(shape[1]), tf.range(shape[2]) + index, indexing="ij")
    return tf.tensor_scatter_nd_update(cache, tf.stack([b, h, p], axis=-1), new)  # indices (batch, heads, length, 3)


@keras.saving.register_keras_serializable(package="tfssl")
class TransformerDecoderBlock(keras.layers.Layer):
    """Args:
    num_heads, hidden_dim, intermediate_dim: sizes; `hidden_dim` must divide by `num_heads`.
    dropout: on attention probabilities and both residual branches (training only).
    activation: MLP activation (GPT-2: tanh-approximated GELU, "gelu_approximate").
    layer_norm_epsilon: LayerNorm epsilon (GPT-2: 1e-5).
    initializer_range: stddev of the normal kernel initializer (GPT-2: 0.02).
    residual_scale: stddev factor for the two projections into the residual stream (GPT-2
        uses 1/sqrt(2 * num_layers) so the residual's variance does not grow with depth).
    rotary: rotary position encoding of queries and keys (RoPE).
    """

    def __init__(
        self,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.0,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-5,
        initializer_range=0.02,
        residual_scale=1.0,
        rotary=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by num_heads={num_heads}.")
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.head_dim = self.hidden_dim // self.num_heads
        self.dropout = float(dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.initializer_range = float(initializer_range)
        self.residual_scale = float(residual_scale)
        self.rotary = bool(rotary)
        if self.rotary and self.head_dim % 2:
            raise ValueError(f"Rotary positions need an even head size, got {self.head_dim}.")
        init = keras.initializers.RandomNormal(stddev=self.initializer_range)
        residual_init = keras.initializers.RandomNormal(stddev=self.initializer_range * self.residual_scale)
        gelu = (lambda x: keras.activations.gelu(x, approximate=True)) if activation == "gelu_approximate" else keras.activations.get(activation)
        self.attention_layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="attention_layer_norm")
        self.qkv_dense = keras.layers.Dense(3 * self.hidden_dim, kernel_initializer=init, name="qkv")
        self.output_dense = keras.layers.Dense(self.hidden_dim, kernel_initializer=residual_init, name="attention_output")
        self.mlp_layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="mlp_layer_norm")
        self.intermediate_dense = keras.layers.Dense(self.intermediate_dim, activation=gelu, kernel_initializer=init, name="intermediate")
        self.mlp_output_dense = keras.layers.Dense(self.hidden_dim, kernel_initializer=residual_init, name="mlp_output")
        self.attention_dropout = HashDropout(self.dropout)
        self.residual_dropout = HashDropout(self.dropout)

    def build(self, x_shape, cache_shape=None):
        shape = (None, None, self.hidden_dim)
        self.attention_layer_norm.build(shape)
        self.qkv_dense.build(shape)
        self.output_dense.build(shape)
        self.mlp_layer_norm.build(shape)
        self.intermediate_dense.build(shape)
        self.mlp_output_dense.build((None, None, self.intermediate_dim))
        self.built = True

    def _attention(self, x, cache, cache_index, training):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.qkv_dense(x), (batch, length, 3, self.num_heads, self.head_dim))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # (3, batch, heads, length, head_dim)
        q, k, v = qkv[0], qkv[1], qkv[2]
        start = 0 if cache is None else cache_index
        if self.rotary:
            q, k = apply_rotary(q, start_position=start), apply_rotary(k, start_position=start)
        if cache is not None:
            k, v = _write_cache(cache[0], k, cache_index), _write_cache(cache[1], v, cache_index)
            cache = (k, v)  # each (batch, heads, max_length, head_dim)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.head_dim)  # (batch, heads, length, keys)
        query_positions = ops.arange(length) + start  # (length,)
        key_positions = ops.arange(ops.shape(k)[2])  # (keys,)
        visible = key_positions[None, :] <= query_positions[:, None]  # (length, keys): causal, and nothing not yet cached
        scores = ops.where(visible[None, None], scores, ops.cast(-1e9, scores.dtype))
        probs = self.attention_dropout(ops.softmax(scores, axis=-1), training=training)
        context = ops.matmul(probs, v)  # (batch, heads, length, head_dim)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, length, self.hidden_dim))
        return self.output_dense(context), cache

    def call(self, x, cache=None, cache_index=0, training=None):
        """(batch, length, hidden_dim) -> same shape; with a `(keys, values)` cache, returns
        `(x, updated_cache)`."""
        attention, new_cache = self._attention(self.attention_layer_norm(x), cache, cache_index, training)
        x = x + self.residual_dropout(attention, training=training)
        mlp = self.mlp_output_dense(self.intermediate_dense(self.mlp_layer_norm(x)))
        x = x + self.residual_dropout(mlp, training=training)
        return x if cache is None else (x, new_cache)

    def compute_output_shape(self, x_shape, cache_shape=None):
        return x_shape if cache_shape is None else (x_shape, cache_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
                "residual_scale": self.residual_scale,
                "rotary": self.rotary,
            }
        )
        return config
