"""One causal transformer block (GPT-2 layout): pre-LayerNorm self-attention and GELU feed-forward.

Each position attends to itself and earlier positions only. With a key/value cache, a call
processes `length` new positions starting at `cache_index` (see `CachedSelfAttention`).
Cache, per block: a `(keys, values)` pair, each (batch, num_heads, max_length, head_dim).
The layer itself is `TransformerBlock`, causal and pre-LN, with GPT-2's defaults and normal
initializers.
"""

import keras

from tfssl.layers.transformer_block import TransformerBlock, legacy_path


@keras.saving.register_keras_serializable(package="tfssl")
class TransformerDecoderBlock(TransformerBlock):
    """Args:
    num_heads, hidden_dim, intermediate_dim: sizes; `hidden_dim` must divide by `num_heads`.
    dropout: on attention probabilities and both residual branches (training only).
    activation: feed-forward activation (GPT-2: tanh-approximated GELU, "gelu_approximate").
    layer_norm_epsilon: LayerNorm epsilon (GPT-2: 1e-5).
    initializer_range: stddev of the normal kernel initializer (GPT-2: 0.02).
    residual_scale: stddev factor for the two projections into the residual stream (GPT-2
        uses 1/sqrt(2 * num_layers) so the residual's variance does not grow with depth).
    rotary: rotary position encoding of queries and keys (RoPE).

    Call: `block(x, cache=None, cache_index=0, training=None)`, `x` (batch, length, hidden_dim)
    -> same shape; with a `(keys, values)` cache, `(x, updated_cache)`.
    """

    # Before issue 18 the feed-forward sublayers were named `mlp_*`.
    mlp_layer_norm = legacy_path("ffn_layer_norm")
    mlp_output_dense = legacy_path("ffn_output_dense")

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
        super().__init__(
            num_heads, hidden_dim, intermediate_dim, dropout=dropout, activation=activation,
            layer_norm_epsilon=layer_norm_epsilon, norm_first=True, causal=True, initializer_range=initializer_range,
            rotary=rotary, kernel_initializer=keras.initializers.RandomNormal(stddev=float(initializer_range)),
            residual_initializer=keras.initializers.RandomNormal(stddev=float(initializer_range) * float(residual_scale)),
            **kwargs,
        )
        self.residual_scale = float(residual_scale)  # the others are stored by `TransformerBlock`

