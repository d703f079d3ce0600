"""One bidirectional transformer block (BERT family): self-attention + feed-forward.

`norm_first=False` is BERT's post-LayerNorm layout (needed to load BERT checkpoints);
`norm_first=True` is the pre-LayerNorm layout (more stable at high learning rates). The layer
itself is `TransformerBlock` with BERT's defaults and truncated-normal initializers.
"""

import keras

from tfssl.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="tfssl")
class TransformerEncoderBlock(TransformerBlock):
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
        depend on relative offsets.

    Call: `block(x, padding_mask=None, training=None)`, `x` (batch, length, hidden_dim) and
    `padding_mask` (batch, length) 1 for tokens, 0 for padding -> (batch, length, hidden_dim).
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
        init = keras.initializers.TruncatedNormal(stddev=float(initializer_range))
        super().__init__(
            num_heads, hidden_dim, intermediate_dim, dropout=dropout, activation=activation,
            layer_norm_epsilon=layer_norm_epsilon, norm_first=norm_first, causal=False,
            initializer_range=initializer_range, rotary=rotary, kernel_initializer=init, residual_initializer=init,
            **kwargs,
        )

