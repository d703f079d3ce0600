"""The transformer block both tfssl stacks are made of: self-attention and a feed-forward
network, each a residual branch with its LayerNorm before the branch (`norm_first`, pre-LN) or
after the sum (post-LN, BERT's layout).

`TransformerEncoderBlock` (bidirectional, BERT defaults) and `TransformerDecoderBlock` (causal,
pre-LN, GPT-2 defaults) are this block with their defaults fixed; use those. The attention is one
`CachedSelfAttention`, so padding masks, causal masks, rotary positions and the key/value cache
work the same in both.

Sublayer names (and so `.keras` weight paths): `attention` (its `qkv_dense`, `output_dense`),
`attention_layer_norm`, `intermediate_dense`, `ffn_output_dense`, `ffn_layer_norm`.
"""

import keras

from tfssl.layers.cached_self_attention import CachedSelfAttention
from tfssl.layers.hash_dropout import HashDropout
from tfssl.layers.layer_config import arguments_config, store_arguments


def feedforward_activation(name):
    """A Keras activation by name; "gelu_approximate" is GELU's tanh approximation (GPT-2's)."""
    if name == "gelu_approximate":
        return lambda x: keras.activations.gelu(x, approximate=True)
    return keras.activations.get(name)


def legacy_path(path):
    """A read-only attribute reaching a sublayer by the name it had before issue 18. Keras loads a
    layer from whichever of its attribute paths a file has, so `.keras` files and weight backups
    written before the attention layer and the `ffn_*` names still load; new files use the new
    paths (the first in Keras' sorted walk)."""
    def get(self):
        for name in path.split("."):
            self = getattr(self, name)
        return self

    return property(get, doc=f"Old name of `{path}` (for loading only).")


class TransformerBlock(keras.layers.Layer):
    """Args (the subclasses document their defaults):
    num_heads, hidden_dim, intermediate_dim: sizes; `hidden_dim` must divide by `num_heads`.
    dropout: on attention probabilities and on both residual branches (training only).
    activation: feed-forward activation, see `feedforward_activation`.
    layer_norm_epsilon: LayerNorm epsilon.
    norm_first: pre-LayerNorm when True, post-LayerNorm when False.
    causal: attend to earlier positions only.
    initializer_range: stddev of the kernel initializers.
    rotary: rotary positions in the attention (see `CachedSelfAttention`).
    kernel_initializer: of the QKV and intermediate kernels.
    residual_initializer: of the two projections into the residual stream.

    Call: `(x, padding_mask=None, cache=None, cache_index=0, training=None)` with `x`
    (batch, length, hidden_dim) -> same shape; with a `(keys, values)` cache, `(x, updated_cache)`.
    """

    qkv_dense = legacy_path("attention.qkv_dense")
    output_dense = legacy_path("attention.output_dense")

    def __init__(
        self,
        num_heads,
        hidden_dim,
        intermediate_dim,
        *,
        dropout,
        activation,
        layer_norm_epsilon,
        norm_first,
        causal,
        initializer_range,
        rotary,
        kernel_initializer,
        residual_initializer,
        **kwargs,
    ):
        super().__init__(**kwargs)
        store_arguments(self, locals())
        self.attention = CachedSelfAttention(
            self.num_heads, self.hidden_dim, dropout=self.dropout, causal=self.causal, rotary=self.rotary,
            kernel_initializer=kernel_initializer, output_kernel_initializer=residual_initializer, name="attention",
        )
        self.intermediate_dense = keras.layers.Dense(self.intermediate_dim, activation=feedforward_activation(activation),
                                                     kernel_initializer=kernel_initializer, name="intermediate")
        self.ffn_output_dense = keras.layers.Dense(self.hidden_dim, kernel_initializer=residual_initializer,
                                                   name="ffn_output")
        self.attention_layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon,
                                                                    name="attention_layer_norm")
        self.ffn_layer_norm = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="ffn_layer_norm")
        self.residual_dropout = HashDropout(self.dropout)

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads

    def build(self, x_shape, padding_mask_shape=None, cache_shape=None):
        shape = (None, None, self.hidden_dim)
        self.attention.build(shape)
        self.intermediate_dense.build(shape)
        self.ffn_output_dense.build((None, None, self.intermediate_dim))
        self.attention_layer_norm.build(shape)
        self.ffn_layer_norm.build(shape)
        self.built = True

    def _add_branch(self, residual, branch, layer_norm, training):
        """residual + dropout(branch), then the post-LN LayerNorm (pre-LN normed the branch input)."""
        x = residual + self.residual_dropout(branch, training=training)
        return x if self.norm_first else layer_norm(x)

    def call(self, x, padding_mask=None, cache=None, cache_index=0, training=None):
        branch = self.attention_layer_norm(x) if self.norm_first else x
        attention = self.attention(branch, padding_mask=padding_mask, cache=cache, cache_index=cache_index,
                                   training=training)
        if cache is not None:
            attention, cache = attention
        x = self._add_branch(x, attention, self.attention_layer_norm, training)  # (batch, length, hidden_dim)
        branch = self.ffn_layer_norm(x) if self.norm_first else x
        x = self._add_branch(x, self.ffn_output_dense(self.intermediate_dense(branch)), self.ffn_layer_norm, training)
        return x if cache is None else (x, cache)

    def compute_output_shape(self, x_shape, padding_mask_shape=None, cache_shape=None):
        return x_shape if cache_shape is None else (x_shape, cache_shape)

    def get_config(self):
        return {**super().get_config(), **arguments_config(self)}
