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
from tfssl.models.task import Task


@keras.saving.register_keras_serializable(package="tfssl")
class SentenceEmbedder(Task):
    """Args:
    backbone: an `EncoderBackbone` (e.g. `ContrastivePretrainer.backbone`).
    tokenizer: the `WordPieceTokenizer` the backbone was trained with.
    pooling: a `SentencePooling` mode (`mean`, `cls`, `first_last_mean`).
    sequence_length: longest input in tokens, `[CLS]`/`[SEP]` included.
    """

    nested_objects = ("backbone", "tokenizer")  # strings in already: no preprocessor

    def __init__(self, backbone, tokenizer, pooling="mean", sequence_length=128, **kwargs):
        super().__init__(backbone, **kwargs)
        if sequence_length > backbone.max_sequence_length:
            raise ValueError(f"sequence_length={sequence_length} exceeds the backbone's position table "
                             f"({backbone.max_sequence_length}). Lower sequence_length.")
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.sequence_length = int(sequence_length)
        self.sentence_pooling = SentencePooling(pooling)

    def call(self, texts, training=False):
        features = encode_sentences(texts, self.tokenizer, self.sequence_length)  # (batch, sequence_length)
        vectors = self.sentence_pooling.pool(self.backbone(features, training=training), features["padding_mask"])
        return tf.math.l2_normalize(vectors, axis=-1)  # (batch, hidden_dim)

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling, "sequence_length": self.sequence_length}


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
