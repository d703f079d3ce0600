"""Raw strings in, L2-normalised sentence embeddings out: tokenizer + encoder + pooling.

The task model behind STS evaluation, `tfssl embed` and the exported `embed` / `similarity`
signatures, so all three compute exactly the same vectors. Text is truncated to
`sequence_length - 2` tokens (`[CLS]` and `[SEP]` take two); an empty string embeds as
`[CLS] [SEP]`, a valid but uninformative vector (documented, not an error: serving batches may
hold empty fields).

Example:

>>> embedder = SentenceEmbedder(simcse.backbone, tokenizer, pooling="mean")
>>> embedder(tf.constant(["A man plays a guitar.", "Someone plays music."]))  # (2, hidden_dim)
>>> embed_texts(embedder, texts)  # NumPy, in batches
"""

import keras
import numpy as np
import tensorflow as tf

from tfssl.data.sentence_pipeline import encode_sentences
from tfssl.layers.sentence_pooling import SentencePooling


@keras.saving.register_keras_serializable(package="tfssl")
class SentenceEmbedder(keras.Model):
    """Args:
    backbone: an `EncoderBackbone` (e.g. `ContrastivePretrainer.backbone`).
    tokenizer: the `WordPieceTokenizer` the backbone was trained with.
    pooling: a `SentencePooling` mode (`mean`, `cls`, `first_last_mean`).
    sequence_length: longest input in tokens, `[CLS]`/`[SEP]` included.
    """

    def __init__(self, backbone, tokenizer, pooling="mean", sequence_length=128, **kwargs):
        super().__init__(**kwargs)
        if sequence_length > backbone.sequence_length:
            raise ValueError(
                f"sequence_length={sequence_length} exceeds the backbone's position table ({backbone.sequence_length})."
            )
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.sequence_length = int(sequence_length)
        self.sentence_pooling = SentencePooling(pooling)

    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build()
        self.built = True

    def build_from_config(self, config):
        self.build()

    def call(self, texts, training=False):
        features = encode_sentences(texts, self.tokenizer, self.sequence_length)  # (batch, sequence_length)
        vectors = self.sentence_pooling.pool(self.backbone(features, training=training), features["padding_mask"])
        return tf.math.l2_normalize(vectors, axis=-1)  # (batch, hidden_dim)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
            "pooling": self.pooling,
            "sequence_length": self.sequence_length,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)


def embed_texts(embed, texts, batch_size=256):
    """Embeds a list of strings in batches with any strings -> vectors callable; (n, dim) NumPy."""
    texts = list(texts)
    if not texts:
        raise ValueError("No texts to embed.")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"Texts must be strings; item {bad[0]} is {type(texts[bad[0]]).__name__}.")
    function = tf.function(embed, reduce_retracing=True) if isinstance(embed, keras.Model) else embed
    chunks = [np.asarray(function(tf.constant(texts[i : i + batch_size]))) for i in range(0, len(texts), batch_size)]
    return np.concatenate(chunks)
