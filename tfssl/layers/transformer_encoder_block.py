"""One bidirectional transformer block: self-attention + feed-forward, post- or pre-LayerNorm.

Q, K and V come from one fused projection (one matmul instead of three, measurably faster on
CPU). `norm_first=False` is BERT's post-LayerNorm layout (needed to load BERT checkpoints);
`norm_first=True` is the pre-LayerNorm layout (more stable at high learning rates).
"""

import math

import keras
import numpy as np
from keras import ops

from tfssl.layers.hash_dropout import HashDropout


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


@keras.saving.register_keras_serializable(package="tfssl")
class TransformerEncoderBlock(keras.layers.Layer):
    """Args:
    num_heads: attention heads; `hidden_dim` must divide by it.
    hidden_dim: model width.
    intermediate_dim: feed-forward width.
    dropout: dropout on attention probabilities and on both residual branches.
    activation: feed-forward activation (BERT: exact "gelu").
    layer_norm_epsilon: LayerNorm epsilon.
    norm_first: pre-LayerNorm when True.
    initializer_range: stddev of the truncated-normal kernel initializer.
    rotary: rotate queries and keys by position (RoPE, Su et al. 2021), so attention scores
        depend on relative offsets from the first step.
    """

    def __init__(
        self,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        norm_first=False,
        initializer_range=0.02,
        rotary=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by num_heads={num_heads}.")
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.norm_first = bool(norm_first)
        self.initializer_range = float(initializer_range)
        self.rotary = bool(rotary)
        if self.rotary and (hidden_dim // num_heads) % 2:
            raise ValueError(f"Rotary positions need an even head size, got {hidden_dim // num_heads}.")
        init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        dense = lambda units, name, act=None: keras.layers.Dense(units, activation=act, kernel_initializer=init, name=name)
        self.qkv_dense = dense(3 * self.hidden_dim, "qkv")
        self.output_dense = dense(self.hidden_dim, "attention_output")
        self.intermediate_dense = dense(self.intermediate_dim, "intermediate", keras.activations.get(activation))
        self.ffn_output_dense = dense(self.hidden_dim, "ffn_output")
        self.attention_layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="attention_layer_norm")
        self.ffn_layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="ffn_layer_norm")
        self.attention_dropout = HashDropout(self.dropout)
        self.residual_dropout = HashDropout(self.dropout)

    def build(self, x_shape, attention_bias_shape=None):
        shape = tuple(x_shape)
        self.qkv_dense.build(shape)
        self.output_dense.build(shape)
        self.intermediate_dense.build(shape)
        self.ffn_output_dense.build(shape[:-1] + (self.intermediate_dim,))
        self.attention_layer_norm.build(shape)
        self.ffn_layer_norm.build(shape)
        self.built = True

    def _attention(self, x, attention_bias, training):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        head_dim = self.hidden_dim // self.num_heads
        qkv = ops.reshape(self.qkv_dense(x), (batch, length, 3, self.num_heads, head_dim))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))  # (3, batch, heads, length, head_dim)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.rotary:
            q, k = apply_rotary(q), apply_rotary(k)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(head_dim)  # (batch, heads, length, length)
        if attention_bias is not None:
            scores = scores + attention_bias  # (batch, 1, 1, length): 0 for tokens, -1e9 for padding
        probs = self.attention_dropout(ops.softmax(scores, axis=-1), training=training)
        context = ops.matmul(probs, v)  # (batch, heads, length, head_dim)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, length, self.hidden_dim))
        return self.output_dense(context)

    def call(self, x, attention_bias=None, training=None):
        """(batch, length, hidden_dim) -> same shape. `attention_bias` is added to the scores."""
        residual = x
        if self.norm_first:
            x = self.attention_layer_norm(x)
        x = residual + self.residual_dropout(self._attention(x, attention_bias, training), training=training)
        if not self.norm_first:
            x = self.attention_layer_norm(x)
        residual = x
        if self.norm_first:
            x = self.ffn_layer_norm(x)
        x = self.ffn_output_dense(self.intermediate_dense(x))
        x = residual + self.residual_dropout(x, training=training)
        if not self.norm_first:
            x = self.ffn_layer_norm(x)
        return x

    def compute_output_shape(self, x_shape, attention_bias_shape=None):
        return x_shape

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
                "norm_first": self.norm_first,
                "initializer_range": self.initializer_range,
                "rotary": self.rotary,
            }
        )
        return config
