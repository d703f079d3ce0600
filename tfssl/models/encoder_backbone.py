"""Bidirectional transformer encoder (BERT family): dict of features in, dict of outputs out.

No heads here: pretrainers and task models wrap a backbone. Inputs:
`token_ids` (batch, length) int, `padding_mask` (batch, length) 1/0 (optional: all ones),
`segment_ids` (batch, length) (optional: zeros), with `length` up to `max_sequence_length`.
Outputs: `sequence_output` (batch, length, hidden_dim), `pooled_output` (batch, hidden_dim), BERT's tanh pooler over
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

from tfssl.layers.layer_config import arguments_config, store_arguments
from tfssl.layers.token_and_position_embedding import TokenAndPositionEmbedding
from tfssl.layers.transformer_encoder_block import TransformerEncoderBlock
from tfssl.models.backbone import Backbone
from tfssl.models.presets import ENCODER_PRESETS


@keras.saving.register_keras_serializable(package="tfssl")
class EncoderBackbone(Backbone):
    """Args:
    vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: the usual sizes.
    max_sequence_length: size of the position table, the longest input accepted.
    num_segments: segment (token type) vocabulary; 0 disables it.
    dropout: embedding, attention and residual dropout.
    activation, layer_norm_epsilon, norm_first, initializer_range: see `TransformerEncoderBlock`.
    position_initializer: start of the learned position table, see `TokenAndPositionEmbedding`.
    rotary: rotary position encoding in every attention layer (see `CachedSelfAttention`).
    embedding_dim: width of the embedding tables (ELECTRA's `embedding_size`); None: `hidden_dim`. A different
        width adds a projection to `hidden_dim` after the embeddings' LayerNorm.
    shared_embeddings: a `TokenAndPositionEmbedding` to use instead of building one (ELECTRA's generator shares
        its discriminator's). Not serialized: the owning model passes it again.
    """

    presets = ENCODER_PRESETS

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=512,
        num_segments=2,
        dropout=0.1,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        norm_first=False,
        initializer_range=0.02,
        position_initializer="sinusoidal",
        rotary=False,
        embedding_dim=None,
        shared_embeddings=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        store_arguments(self, {k: v for k, v in locals().items() if k != "shared_embeddings"})  # a layer, not a setting
        self.embedding_dim = None if embedding_dim is None else int(embedding_dim)
        if shared_embeddings is not None and (shared_embeddings.hidden_dim != self.token_embedding_dim
                                              or shared_embeddings.vocabulary_size != self.vocabulary_size):
            raise ValueError(
                f"The shared embeddings are {shared_embeddings.vocabulary_size} x {shared_embeddings.hidden_dim}, but "
                f"this encoder needs {self.vocabulary_size} x {self.token_embedding_dim} (vocabulary_size x "
                "embedding_dim). Give both models the same vocabulary and embedding width.")
        self.embeddings = shared_embeddings or TokenAndPositionEmbedding(
            self.vocabulary_size, self.max_sequence_length, self.token_embedding_dim, num_segments=self.num_segments,
            dropout=self.dropout, layer_norm_epsilon=self.layer_norm_epsilon, initializer_range=self.initializer_range,
            position_initializer=self.position_initializer, name="embeddings",
        )
        self.embeddings_projection = keras.layers.Dense(
            self.hidden_dim, kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
            name="embeddings_projection",
        ) if self.token_embedding_dim != self.hidden_dim else None
        self.blocks = [
            TransformerEncoderBlock(
                self.num_heads, self.hidden_dim, self.intermediate_dim, dropout=self.dropout, activation=self.activation,
                layer_norm_epsilon=self.layer_norm_epsilon, norm_first=self.norm_first,
                initializer_range=self.initializer_range, rotary=self.rotary, name=f"transformer_block_{i}",
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
    def token_embedding_dim(self):
        """Width of the token embedding table: `embedding_dim`, or `hidden_dim` when that is None."""
        return self.embedding_dim or self.hidden_dim

    @property
    def token_embedding(self):
        """The token `Embedding` layer, shared with tied output heads."""
        return self.embeddings.token_embedding

    def build(self, input_shape=None):
        shape = (None, None)
        if not self.embeddings.built:
            self.embeddings.build(shape, shape)
        if self.embeddings_projection is not None:
            self.embeddings_projection.build((None, None, self.token_embedding_dim))
        for block in self.blocks:
            block.build((None, None, self.hidden_dim))
        if self.final_layer_norm is not None:
            self.final_layer_norm.build((None, None, self.hidden_dim))
        self.pooler.build((None, self.hidden_dim))
        self.built = True

    def call(self, inputs, training=None):
        token_ids = inputs["token_ids"]
        padding_mask = inputs.get("padding_mask")  # (batch, length) or None: no padding
        x = self.embeddings(token_ids, inputs.get("segment_ids"), training=training)  # (batch, length, embedding_dim)
        if self.embeddings_projection is not None:
            x = self.embeddings_projection(x)  # (batch, length, hidden_dim)
        first_layer_output = None
        layer_sum = x  # (batch, length, hidden_dim), embedding output + every block's output
        for block in self.blocks:
            x = block(x, padding_mask, training=training)
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
        return {"name": self.name, "trainable": self.trainable, **arguments_config(self, skip=("shared_embeddings",))}
