"""Bidirectional transformer encoder (BERT family): dict of features in, dict of outputs out.

No heads here: pretrainers and task models wrap a backbone. Inputs:
`token_ids` (batch, length) int, `padding_mask` (batch, length) 1/0 (optional: all ones),
`segment_ids` (batch, length) (optional: zeros). Outputs: `sequence_output`
(batch, length, hidden_dim), `pooled_output` (batch, hidden_dim), BERT's tanh pooler over
the first token, `first_layer_output` (batch, length, hidden_dim), the first block's states, and
`layer_average_output` (batch, length, hidden_dim), the average of the embedding output and every
block's output (for first-last and all-layer average pooling; unused outputs cost nothing in a
compiled graph).

Example:

>>> backbone = EncoderBackbone.from_preset("tiny", vocabulary_size=8192)
>>> outputs = backbone({"token_ids": ids, "padding_mask": mask})
>>> outputs["sequence_output"].shape   # (batch, length, 128)
"""

import keras
from keras import ops

from tfssl.layers.token_and_position_embedding import TokenAndPositionEmbedding
from tfssl.layers.transformer_encoder_block import TransformerEncoderBlock
from tfssl.models.presets import ENCODER_PRESETS


@keras.saving.register_keras_serializable(package="tfssl")
class EncoderBackbone(keras.Model):
    """Args:
    vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: the usual sizes.
    sequence_length: size of the position table, the longest input accepted.
    num_segments: segment (token type) vocabulary; 0 disables it.
    dropout: embedding, attention and residual dropout.
    activation, layer_norm_epsilon, norm_first, initializer_range: see `TransformerEncoderBlock`.
    position_initializer: start of the learned position table, see `TokenAndPositionEmbedding`.
    rotary: rotary position encoding in every attention layer (see `TransformerEncoderBlock`).
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        sequence_length=512,
        num_segments=2,
        dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        norm_first=False,
        initializer_range=0.02,
        position_initializer="sinusoidal",
        rotary=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.sequence_length = int(sequence_length)
        self.num_segments = int(num_segments)
        self.dropout = float(dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.norm_first = bool(norm_first)
        self.initializer_range = float(initializer_range)
        self.position_initializer = position_initializer
        self.rotary = bool(rotary)
        self.embeddings = TokenAndPositionEmbedding(
            self.vocabulary_size,
            self.sequence_length,
            self.hidden_dim,
            num_segments=self.num_segments,
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
            position_initializer=self.position_initializer,
            name="embeddings",
        )
        self.blocks = [
            TransformerEncoderBlock(
                self.num_heads,
                self.hidden_dim,
                self.intermediate_dim,
                dropout=self.dropout,
                activation=self.activation,
                layer_norm_epsilon=self.layer_norm_epsilon,
                norm_first=self.norm_first,
                initializer_range=self.initializer_range,
                rotary=self.rotary,
                name=f"transformer_block_{i}",
            )
            for i in range(self.num_layers)
        ]
        self.final_layer_norm = (
            keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, name="final_layer_norm")
            if self.norm_first
            else None
        )
        self.pooler = keras.layers.Dense(
            self.hidden_dim,
            activation="tanh",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
            name="pooler",
        )

    @property
    def token_embedding(self):
        """The token `Embedding` layer, shared with tied output heads."""
        return self.embeddings.token_embedding

    @classmethod
    def from_preset(cls, preset, vocabulary_size, **overrides):
        """Builds a preset size (`tiny`, `mini`, `small`, `base`); keyword arguments override."""
        if preset not in ENCODER_PRESETS:
            raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(ENCODER_PRESETS)}.")
        kwargs = dict(ENCODER_PRESETS[preset])
        kwargs.update(overrides)
        return cls(vocabulary_size=vocabulary_size, **kwargs)

    def build(self, input_shape=None):
        shape = (None, None)
        self.embeddings.build(shape, shape)
        for block in self.blocks:
            block.build((None, None, self.hidden_dim))
        if self.final_layer_norm is not None:
            self.final_layer_norm.build((None, None, self.hidden_dim))
        self.pooler.build((None, self.hidden_dim))
        self.built = True

    def build_from_config(self, config):
        """Variables do not depend on input shapes: build them all (needed to load `.keras`)."""
        self.build()

    def call(self, inputs, training=None):
        token_ids = inputs["token_ids"]
        x = self.embeddings(token_ids, inputs.get("segment_ids"), training=training)  # (batch, length, hidden_dim)
        attention_bias = None
        if inputs.get("padding_mask") is not None:
            keep = ops.cast(inputs["padding_mask"], x.dtype)
            attention_bias = ((1.0 - keep) * -1e9)[:, None, None, :]  # (batch, 1, 1, length)
        first_layer_output = None
        layer_sum = x  # (batch, length, hidden_dim), embedding output + every block's output
        for block in self.blocks:
            x = block(x, attention_bias, training=training)
            layer_sum = layer_sum + x
            if first_layer_output is None:
                first_layer_output = x
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        return {
            "sequence_output": x,
            "pooled_output": self.pooler(x[:, 0, :]),
            "first_layer_output": first_layer_output,
            "layer_average_output": layer_sum / float(self.num_layers + 1),
        }

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "sequence_length": self.sequence_length,
            "num_segments": self.num_segments,
            "dropout": self.dropout,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "norm_first": self.norm_first,
            "initializer_range": self.initializer_range,
            "position_initializer": self.position_initializer,
            "rotary": self.rotary,
        }
