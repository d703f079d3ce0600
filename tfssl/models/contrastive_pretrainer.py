"""SimCSE-style contrastive pretraining of sentence embeddings over any tfssl encoder.

* Unsupervised SimCSE (Gao et al. 2021): `x` is one batch of sentences
  (`token_ids`, `padding_mask`); each sentence is encoded twice in training mode, and the two
  dropout views are the positive pair. The backbone needs dropout > 0 (`with_dropout`).
* Supervised: `x = {"anchor": ..., "positive": ...[, "negative": ...]}`, each a feature dict.

The loss is InfoNCE (`tfssl.losses.info_nce_loss`) with the keys (and hard negatives) of the
*whole global batch* gathered across replicas, averaged over the global batch: N replicas with
batch B train like one device with batch N*B.

Example:

>>> encoder = with_dropout(mlm_pretrainer.backbone, 0.1)
>>> simcse = ContrastivePretrainer(encoder, pooling="cls_mlp")
>>> simcse.compile(learning_rate=1e-4)
>>> simcse.fit(sentence_batches(sentences, tokenizer, 64, 64), epochs=1)
"""

import keras
import tensorflow as tf

from tfssl.layers.sentence_pooling import SentencePooling
from tfssl.losses.info_nce import info_nce_loss
from tfssl.models.encoder_backbone import EncoderBackbone

POOLING = ("cls_mlp", "cls", "mean")


def with_dropout(backbone, dropout):
    """A copy of an `EncoderBackbone` with another dropout rate and the same weights."""
    config = backbone.get_config()
    config["dropout"] = float(dropout)
    copy = EncoderBackbone.from_config(config)
    copy.build()
    copy.set_weights(backbone.get_weights())
    return copy


@keras.saving.register_keras_serializable(package="tfssl")
class ContrastivePretrainer(keras.Model):
    """Args:
    backbone: an `EncoderBackbone`.
    pooling: `cls_mlp` (CLS state + a tanh MLP used only in training, SimCSE's choice), `cls`,
        or `mean` (over real tokens).
    temperature: InfoNCE temperature.
    symmetric: also score keys against queries and average the two losses.
    hard_negative_weight: added to hard-negative logits (supervised SimCSE's log-weight).
    """

    def __init__(self, backbone, pooling="cls_mlp", temperature=0.05, symmetric=False, hard_negative_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        if pooling not in POOLING:
            raise ValueError(f"pooling must be one of {POOLING}, got {pooling!r}.")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        self.backbone = backbone
        self.pooling = pooling
        self.temperature = float(temperature)
        self.symmetric = bool(symmetric)
        self.hard_negative_weight = float(hard_negative_weight)
        self.sentence_pooling = SentencePooling("mean" if pooling == "mean" else "cls")
        self.projection = (
            keras.layers.Dense(backbone.hidden_dim, activation="tanh", name="projection") if pooling == "cls_mlp" else None
        )

    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build()
        if self.projection is not None:
            self.projection.build((None, self.backbone.hidden_dim))
        self.built = True

    def build_from_config(self, config):
        self.build()

    def embed(self, features, training=False):
        """Feature dict -> (batch, hidden_dim) sentence vectors (no MLP outside training)."""
        sequence = self.backbone(features, training=training)["sequence_output"]
        vectors = self.sentence_pooling(sequence, features["padding_mask"])
        if self.projection is not None and training:
            vectors = self.projection(vectors)
        return vectors

    def call(self, inputs, training=None):
        if "anchor" in inputs:
            out = {"queries": self.embed(inputs["anchor"], training), "keys": self.embed(inputs["positive"], training)}
            if "negative" in inputs:
                out["negatives"] = self.embed(inputs["negative"], training)
            return out
        # Unsupervised: two passes, two dropout masks (HashDropout draws a new key per call).
        return {"queries": self.embed(inputs, training), "keys": self.embed(inputs, training)}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        losses = info_nce_loss(
            y_pred["queries"], y_pred["keys"], y_pred.get("negatives"), self.temperature, self.hard_negative_weight
        )
        if self.symmetric:
            losses = 0.5 * (losses + info_nce_loss(y_pred["keys"], y_pred["queries"], None, self.temperature))
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        # Mean over the global batch, split across replicas (Keras sums replica gradients).
        return tf.reduce_sum(losses) / (tf.cast(tf.shape(losses)[0], losses.dtype) * replicas)

    def compile(self, optimizer="auto", learning_rate=1e-4, weight_decay=0.01, jit_compile=True, **kwargs):
        if optimizer == "auto":
            optimizer = keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
            optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "layer_norm"])
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)

    def get_compile_config(self):
        return None

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "pooling": self.pooling,
            "temperature": self.temperature,
            "symmetric": self.symmetric,
            "hard_negative_weight": self.hard_negative_weight,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
