"""Raw strings in, L2-normalised sentence embeddings out: tokenizer + encoder + pooling.

The task model behind STS evaluation, `tfssl embed` and the exported `embed` / `similarity`
signatures, so all three compute exactly the same vectors. Text is truncated to
`sequence_length - 2` tokens (`[CLS]` and `[SEP]` take two); an empty string embeds as
`[CLS] [SEP]`, a valid but uninformative vector (documented, not an error: serving batches may
hold empty fields), and an empty batch as a (0, hidden_dim) array.

A batch is padded to its longest row (rounded up to `pad_to_multiple`), not to `sequence_length`: a batch
of 12-token sentences costs 16 positions, not 128. Padding is masked in attention and pooling, so the
vectors are those of the full-length layout (to float rounding). `embed_texts` sorts by length before
batching, so that batches hold rows of similar lengths.

Example:

>>> embedder = SentenceEmbedder(simcse.backbone, tokenizer, pooling="mean")
>>> embedder(tf.constant(["A man plays a guitar.", "Someone plays music."]))  # (2, hidden_dim)
>>> embed_texts(embedder, texts)  # NumPy, in batches
"""

import keras
import numpy as np
import tensorflow as tf

from tfssl.data.length_order import in_length_order
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
    pad_to_multiple: a batch's width is its longest row rounded up to this: fewer distinct shapes than the
        exact longest row, little padding (the README's serving figures use 8; 1 was not measured against it).
    """

    nested_objects = ("backbone", "tokenizer")  # strings in already: no preprocessor

    def __init__(self, backbone, tokenizer, pooling="mean", sequence_length=128, pad_to_multiple=8, **kwargs):
        super().__init__(backbone, **kwargs)
        if sequence_length > backbone.max_sequence_length:
            raise ValueError(f"sequence_length={sequence_length} exceeds the backbone's position table "
                             f"({backbone.max_sequence_length}). Lower sequence_length.")
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.sequence_length = int(sequence_length)
        self.pad_to_multiple = int(pad_to_multiple)
        self.sentence_pooling = SentencePooling(pooling)

    def call(self, texts, training=False):
        features = encode_sentences(texts, self.tokenizer, self.sequence_length, self.pad_to_multiple)  # (batch, width)
        vectors = self.sentence_pooling.pool(self.backbone(features, training=training), features["padding_mask"])
        return tf.math.l2_normalize(tf.cast(vectors, tf.float32), axis=-1)  # (batch, hidden_dim), float32 under any precision

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling, "sequence_length": self.sequence_length,
                "pad_to_multiple": self.pad_to_multiple}


def embed_texts(embed, texts, batch_size=256):
    """Embeds a list of strings in batches with any strings -> vectors callable; (n, dim) NumPy, in the order of
    `texts`. Batches are cut from the texts sorted by length, so that little of a batch is padding."""
    texts = list(texts)
    if not texts:
        raise ValueError("No texts to embed.")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"Texts must be strings; item {bad[0]} is {type(texts[bad[0]]).__name__}.")
    function = tf.function(embed, reduce_retracing=True) if isinstance(embed, keras.Model) else embed
    return in_length_order(lambda batch: np.asarray(function(tf.constant(batch))), texts, batch_size)
