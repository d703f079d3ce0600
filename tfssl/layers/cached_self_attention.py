"""Multi-head self-attention: one fused QKV projection, optional rotary positions, padding and
causal masks, and a key/value cache for incremental decoding. Both transformer blocks use it.

Q, K and V come from one (hidden_dim, 3 * hidden_dim) kernel laid out [q | k | v]: one matmul
instead of three (measurably faster on CPU) and the layout `tfssl.convert` maps to Hugging Face's
separate query/key/value (BERT) or fused `c_attn` (GPT-2) weights.

With a cache, a call processes `length` new positions starting at `cache_index`: their keys and
values are written into the cache and the queries attend to everything cached so far, so
generating one token costs one position's work instead of a re-run over the prefix.
Cache: a `(keys, values)` pair, each (batch, num_heads, max_length, head_dim), of fixed shape
(so a jit-compiled decode step compiles once).

Scores are masked and soft-maxed in float32 whatever the dtype policy (-1e9 is out of float16's
range), and cast back for the weighted sum.

Example:

>>> attention = CachedSelfAttention(num_heads=4, hidden_dim=32, causal=True)
>>> y = attention(x)                                               # (batch, length, 32)
>>> cache = (tf.zeros((batch, 4, 64, 8)), tf.zeros((batch, 4, 64, 8)))
>>> y, cache = attention(x[:, :5], cache=cache, cache_index=0)     # prompt
>>> y, cache = attention(x[:, 5:6], cache=cache, cache_index=5)    # one new position
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfssl.layers.hash_dropout import HashDropout
from tfssl.layers.layer_config import arguments_config, store_arguments

MASKED_SCORE = -1e9  # the score of a hidden key, in float32: its softmax weight is exactly 0


def apply_rotary(x, max_wavelength=10_000.0, start_position=0):
    """RoPE on (batch, heads, length, head_dim): pairs (i, i + head_dim/2) rotate by
    position * max_wavelength**(-2i/head_dim) (the GPT-NeoX / Hugging Face layout). Positions
    count from `start_position` (a decoder step with a key/value cache starts mid-sequence)."""
    length, head_dim = ops.shape(x)[2], x.shape[-1]
    inverse_frequency = 1.0 / (max_wavelength ** (np.arange(0, head_dim, 2, dtype="float32") / head_dim))
    positions = ops.cast(ops.arange(length) + start_position, "float32")
    angles = positions[:, None] * inverse_frequency[None, :]  # (length, head_dim / 2)
    angles = ops.concatenate([angles, angles], axis=-1)  # (length, head_dim)
    cos, sin = ops.cast(ops.cos(angles), x.dtype), ops.cast(ops.sin(angles), x.dtype)
    half = head_dim // 2
    rotated = ops.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def write_cache(cache, new, index):
    """Writes `new` (batch, heads, length, head_dim) into `cache` (batch, heads, max_length, head_dim)
    at positions `index ...`. A scatter, which TensorFlow may do in place (the step then costs the
    new positions, not a copy of the cache) and XLA lowers to an in-place update; not
    `keras.ops.slice_update`, which lowers to an XLA-only op TF Serving's runtime cannot run."""
    shape = tf.shape(new)
    b, h, p = tf.meshgrid(tf.range(shape[0]), tf.range(shape[1]), tf.range(shape[2]) + index, indexing="ij")
    return tf.tensor_scatter_nd_update(cache, tf.stack([b, h, p], axis=-1), new)  # indices (batch, heads, length, 3)


@keras.saving.register_keras_serializable(package="tfssl")
class CachedSelfAttention(keras.layers.Layer):
    """Args:
    num_heads: attention heads; `hidden_dim` must divide by it.
    hidden_dim: model width (input, output, and queries/keys/values over all heads).
    dropout: on the attention probabilities (training only).
    causal: each position attends to itself and earlier positions only.
    rotary: rotate queries and keys by position (RoPE, Su et al. 2021), so scores depend on
        relative offsets; needs an even head size.
    kernel_initializer: of the fused QKV kernel.
    output_kernel_initializer: of the output projection (default: `kernel_initializer`); GPT-2
        scales it down with depth.

    Call: `(x, padding_mask=None, cache=None, cache_index=0, training=None)`; `x` is
    (batch, length, hidden_dim), `padding_mask` (batch, keys) 1 for tokens and 0 for padding
    (keys = length, or the cache's max_length). Returns (batch, length, hidden_dim), or
    `(output, updated_cache)` when a cache is given.
    """

    def __init__(
        self,
        num_heads,
        hidden_dim,
        dropout=0.0,
        causal=False,
        rotary=False,
        kernel_initializer="glorot_uniform",
        output_kernel_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by num_heads={num_heads}.")
        store_arguments(self, locals())
        self.head_dim = self.hidden_dim // self.num_heads
        if self.rotary and self.head_dim % 2:
            raise ValueError(f"Rotary positions need an even head size, got {self.head_dim}; change num_heads.")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(output_kernel_initializer or kernel_initializer)
        self.qkv_dense = keras.layers.Dense(3 * self.hidden_dim, kernel_initializer=self.kernel_initializer, name="qkv")
        self.output_dense = keras.layers.Dense(self.hidden_dim, kernel_initializer=self.output_kernel_initializer,
                                               name="attention_output")
        self.attention_dropout = HashDropout(self.dropout)

    def build(self, x_shape, padding_mask_shape=None, cache_shape=None):
        shape = (None, None, self.hidden_dim)
        self.qkv_dense.build(shape)
        self.output_dense.build(shape)
        self.built = True

    def _visible(self, padding_mask, query_start, num_queries, num_keys):
        """Which keys each query may attend to: (batch or 1, 1, queries or 1, keys) bool, or None."""
        visible = None
        if self.causal:
            query_positions = ops.arange(num_queries) + query_start  # (queries,)
            key_positions = ops.arange(num_keys)  # (keys,)
            visible = (key_positions[None, :] <= query_positions[:, None])[None, None]  # (1, 1, queries, keys)
        if padding_mask is not None:
            keys = ops.cast(padding_mask, "bool")[:, None, None, :]  # (batch, 1, 1, keys)
            visible = keys if visible is None else visible & keys
        return visible

    def call(self, x, padding_mask=None, cache=None, cache_index=0, training=None):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.qkv_dense(x), (batch, length, 3, self.num_heads, self.head_dim))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # (3, batch, heads, length, head_dim)
        q, k, v = qkv[0], qkv[1], qkv[2]
        start = 0 if cache is None else cache_index
        if self.rotary:
            q, k = apply_rotary(q, start_position=start), apply_rotary(k, start_position=start)
        if cache is not None:
            k, v = write_cache(cache[0], k, cache_index), write_cache(cache[1], v, cache_index)
            cache = (k, v)  # each (batch, heads, max_length, head_dim)
            if not self.causal:
                # Slots past the new positions are not written yet: hide them as a causal mask does.
                written = ops.arange(ops.shape(k)[2]) < start + length  # (max_length,)
                written = ops.broadcast_to(written[None, :], (batch, ops.shape(k)[2]))
                padding_mask = written if padding_mask is None else ops.cast(padding_mask, "bool") & written
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.head_dim)  # (batch, heads, length, keys)
        scores = ops.cast(scores, "float32")
        visible = self._visible(padding_mask, start, length, ops.shape(k)[2])
        if visible is not None:
            scores = ops.where(visible, scores, MASKED_SCORE)
        probs = ops.cast(ops.softmax(scores, axis=-1), v.dtype)
        probs = self.attention_dropout(probs, training=training)
        context = ops.matmul(probs, v)  # (batch, heads, length, head_dim)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, length, self.hidden_dim))
        output = self.output_dense(context)  # (batch, length, hidden_dim)
        return output if cache is None else (output, cache)

    def compute_output_shape(self, x_shape, padding_mask_shape=None, cache_shape=None):
        return x_shape if cache_shape is None else (x_shape, cache_shape)

    def get_config(self):
        initializers = ("kernel_initializer", "output_kernel_initializer")
        config = {**super().get_config(), **arguments_config(self, skip=initializers)}
        config.update({name: keras.initializers.serialize(getattr(self, name)) for name in initializers})
        return config
