"""Export a sentence embedder as a SavedModel that takes raw strings.

Signatures (TF Serving with TensorFlow Text ops):

* `embed` (also `serving_default`): `text` (batch,) strings -> `embeddings` (batch, hidden_dim),
  L2-normalised, so a dot product is a cosine.
* `similarity`: `first`, `second` (batch,) strings -> `similarity` (batch,), the cosine of each
  pair. The two lists must have the same length (an error otherwise).

Text is truncated to `sequence_length - 2` tokens; empty strings embed as `[CLS] [SEP]`.
`vocab.txt`, `tokenizer.json` and the run's `config.json` travel in `assets/`.

Example:

>>> path = export_sentence_embedder(embedder, "saved_models/sotu-simcse", asset_paths=[...])
>>> tfssl embed saved_models/sotu-simcse "The Union is strong."
"""

import os

import tensorflow as tf

from tfssl.export.serving_variables import serving_variables
from tfssl.export.versioning import atomic_version_dir


class SentenceEmbeddingModule(tf.Module):
    """A `SentenceEmbedder` with the serving functions as `tf.function`s."""

    def __init__(self, embedder, asset_paths=()):
        super().__init__(name="sentence_embedding")
        # Track the variables and vocabulary tables through their owners; the embedder itself is
        # kept out of the object graph (Keras would trace it a default signature from a numeric spec).
        self.backbone = embedder.backbone
        self.tokenizer = embedder.tokenizer
        object.__setattr__(self, "_embedder", embedder)
        self.assets = [tf.saved_model.Asset(p) for p in asset_paths]
        self.serving_variables = serving_variables(embedder.backbone, embedder.tokenizer)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def embed(self, text):
        return {"embeddings": self._embedder(text, training=False)}

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name="first"), tf.TensorSpec([None], tf.string, name="second")]
    )
    def similarity(self, first, second):
        tf.debugging.assert_equal(
            tf.shape(first), tf.shape(second), message="similarity: `first` and `second` need the same number of strings"
        )
        vectors = self._embedder(tf.concat([first, second], axis=0), training=False)  # (2 * batch, hidden_dim)
        a, b = tf.split(vectors, 2, axis=0)
        return {"similarity": tf.reduce_sum(a * b, axis=-1)}  # (batch,) cosines of unit vectors


def export_sentence_embedder(embedder, model_dir, asset_paths=()):
    """Writes the next integer version under `model_dir` atomically; returns its path."""
    missing = [p for p in asset_paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"Cannot export: asset files missing: {missing}.")
    module = SentenceEmbeddingModule(embedder, asset_paths)
    embed = module.embed.get_concrete_function()
    signatures = {"serving_default": embed, "embed": embed, "similarity": module.similarity.get_concrete_function()}
    with atomic_version_dir(model_dir) as target:
        tf.saved_model.save(module, target.path, signatures=signatures)
    return target.final
