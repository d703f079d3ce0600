"""Token classification (tagging) on any tfssl encoder: one label per WordPiece position,
trained and scored at each word's first piece (see `tfssl.data.token_tagging_pipeline`).

Example:

>>> tagger = TokenClassifier(backbone, num_tags=9)
>>> tagger.compile(learning_rate=1e-4, warmup_steps=50, total_steps=1000)
>>> tagger.fit(tagging_batches(tokens, tag_ids, tokenizer, 128, 32), epochs=3)
"""

import keras

from tfssl.models.task import Task, encoder_features


@keras.saving.register_keras_serializable(package="tfssl")
class TokenClassifier(Task):
    """Args:
    backbone: an `EncoderBackbone`.
    num_tags: number of tags.
    dropout: on the encoder's states, before the per-position head.
    freeze_backbone: train the head only.
    """

    compile_defaults = {"learning_rate": 1e-4, "warmup_steps": 0, "total_steps": 1_000, "weight_decay": 0.01}

    def __init__(self, backbone, num_tags, dropout=0.1, freeze_backbone=False, preprocessor=None, **kwargs):
        super().__init__(backbone, preprocessor, **kwargs)
        if num_tags < 2:
            raise ValueError(f"Tagging needs at least two tags, got num_tags={num_tags}.")
        self.num_tags = int(num_tags)
        self.dropout = float(dropout)
        self.freeze_backbone = bool(freeze_backbone)
        self.backbone.trainable = not self.freeze_backbone
        self.head_dropout = keras.layers.Dropout(self.dropout, name="head_dropout")
        self.head = keras.layers.Dense(
            self.num_tags, kernel_initializer=keras.initializers.TruncatedNormal(stddev=backbone.initializer_range),
            name="tagging_head",
        )

    def build_head(self):
        self.head.build((None, None, self.backbone.hidden_dim))

    def call(self, inputs, training=None):
        outputs = self.backbone(encoder_features(inputs), training=training and not self.freeze_backbone)
        states = outputs["sequence_output"]  # (batch, length, hidden_dim)
        return self.head(self.head_dropout(states, training=training))  # (batch, length, num_tags)

    def compile(self, optimizer="auto", loss="auto", metrics=None, weighted_metrics="auto", **kwargs):
        """AdamW with warmup and linear decay (`Task.compile`); cross-entropy and accuracy weighted
        to first pieces."""
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, weighted_metrics=weighted_metrics, **kwargs)

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_weighted_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags, "dropout": self.dropout,
                "freeze_backbone": self.freeze_backbone}
