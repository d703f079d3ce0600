"""Token classification (tagging) on any tfssl encoder: one label per WordPiece position,
trained and scored at each word's first piece (see `tfssl.data.token_tagging_pipeline`).

Example:

>>> tagger = TokenClassifier(backbone, num_tags=9)
>>> tagger.compile(learning_rate=1e-4, warmup_steps=50, total_steps=1000)
>>> tagger.fit(tagging_batches(tokens, tag_ids, tokenizer, 128, 32), epochs=3)
"""

import keras

from tfssl.models.masked_lm_pretrainer import adamw_with_warmup


@keras.saving.register_keras_serializable(package="tfssl")
class TokenClassifier(keras.Model):
    """Args:
    backbone: an `EncoderBackbone`.
    num_tags: number of tags.
    dropout: on the encoder's states, before the per-position head.
    freeze_backbone: train the head only.
    """

    def __init__(self, backbone, num_tags, dropout=0.1, freeze_backbone=False, **kwargs):
        super().__init__(**kwargs)
        if num_tags < 2:
            raise ValueError(f"Tagging needs at least two tags, got num_tags={num_tags}.")
        self.backbone = backbone
        self.num_tags = int(num_tags)
        self.dropout = float(dropout)
        self.freeze_backbone = bool(freeze_backbone)
        self.backbone.trainable = not self.freeze_backbone
        self.head_dropout = keras.layers.Dropout(self.dropout, name="head_dropout")
        self.head = keras.layers.Dense(
            self.num_tags, kernel_initializer=keras.initializers.TruncatedNormal(stddev=backbone.initializer_range),
            name="tagging_head",
        )

    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build()
        self.head.build((None, None, self.backbone.hidden_dim))
        self.built = True

    def build_from_config(self, config):
        self.build()

    def call(self, inputs, training=None):
        features = {k: inputs[k] for k in ("token_ids", "padding_mask", "segment_ids") if k in inputs}
        states = self.backbone(features, training=training and not self.freeze_backbone)["sequence_output"]
        return self.head(self.head_dropout(states, training=training))  # (batch, length, num_tags)

    def compile(self, optimizer="auto", loss="auto", weighted_metrics="auto", learning_rate=1e-4, warmup_steps=0,
                total_steps=1_000, weight_decay=0.01, jit_compile=True, **kwargs):
        """AdamW with warmup and linear decay; cross-entropy and accuracy weighted to first pieces."""
        if optimizer == "auto":
            optimizer = adamw_with_warmup(learning_rate, warmup_steps, total_steps, weight_decay)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if weighted_metrics == "auto":
            weighted_metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, weighted_metrics=weighted_metrics, jit_compile=jit_compile,
                        **kwargs)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "backbone": keras.saving.serialize_keras_object(self.backbone), "num_tags": self.num_tags,
                "dropout": self.dropout, "freeze_backbone": self.freeze_backbone}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
