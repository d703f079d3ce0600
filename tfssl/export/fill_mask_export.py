"""Export a masked-LM pretrainer as a SavedModel that takes raw strings.

Signatures (all servable by TF Serving with TensorFlow Text ops):

* `serving_default` (fill-mask): `text` (batch,) strings with literal `[MASK]`s ->
  `tokens` (batch, max_masks, top_k) strings, `scores` (batch, max_masks, top_k) softmax
  probabilities, `token_ids`, `mask_positions` (batch, max_masks) and `mask_count` (batch,).
  Slots past `mask_count` hold no answer: token "", score 0, id -1. Text is truncated to
  `sequence_length - 2` tokens; a mask beyond that is not answered (`mask_count` counts the
  answered ones, so a text whose only mask was cut has 0 and no tokens). A batch is padded to
  its longest row; an empty batch gets empty outputs.
* `predict_token_ids`: pre-tokenized `token_ids`, `padding_mask`, `mask_positions` ->
  `logits` (batch, slots, vocabulary_size), for callers that tokenize themselves.

`vocab.txt`, `tokenizer.json` and the run's `config.json` travel in `assets/`.

Example:

>>> path = export_fill_mask(pretrainer, tokenizer, "saved_models/sotu-mlm", tokenizer_dir=..., config_path=...)
>>> tfssl fill-mask saved_models/sotu-mlm "The [MASK] of the Union is strong."
"""

import os

import tensorflow as tf

from tfssl.data.packing import pack_segments, special_token_ids
from tfssl.export.serving_variables import serving_variables
from tfssl.export.versioning import atomic_version_dir


class FillMaskModule(tf.Module):
    """Tokenizer + pretrainer, with the serving functions as `tf.function`s."""

    def __init__(self, pretrainer, tokenizer, sequence_length, top_k=5, max_masks=16, asset_paths=()):
        super().__init__(name="fill_mask")
        self.pretrainer = pretrainer
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        self.top_k = int(top_k)
        self.max_masks = int(max_masks)
        self.assets = [tf.saved_model.Asset(p) for p in asset_paths]
        self.serving_variables = serving_variables(pretrainer, tokenizer)

    def _encode(self, text):
        """(batch,) strings -> dense ids and padding mask, [CLS] ... [SEP], truncated."""
        ids = self.tokenizer.tokenize_with_masks(text)  # (batch, None) ragged
        features = pack_segments(ids, sequence_length=self.sequence_length, pad_to_multiple=1,
                                 **special_token_ids(self.tokenizer))  # (batch, longest)
        return features["token_ids"], features["padding_mask"]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def fill_mask(self, text):
        token_ids, padding_mask = self._encode(text)
        length = tf.shape(token_ids)[1]
        is_mask = tf.equal(token_ids, self.tokenizer.mask_token_id)
        positions = tf.range(length)[None, :]
        key = tf.where(is_mask, length - positions, 0)
        slots = tf.minimum(self.max_masks, length)
        top, _ = tf.math.top_k(key, k=slots)  # (batch, slots): masks in order of position
        top = tf.pad(top, [[0, 0], [0, self.max_masks - slots]])
        mask_positions = tf.where(top > 0, length - top, 0)
        logits = self.pretrainer(
            {"token_ids": token_ids, "padding_mask": padding_mask, "mask_positions": mask_positions}, training=False
        )  # (batch, max_masks, vocabulary_size)
        logits = tf.cast(logits, tf.float32)  # float32 out under any precision
        scores, ids = tf.math.top_k(tf.nn.softmax(logits, axis=-1), k=self.top_k)  # (batch, max_masks, top_k)
        answered = tf.broadcast_to((top > 0)[:, :, None], tf.shape(ids))  # slots that hold a mask
        return {
            "tokens": tf.where(answered, self.tokenizer.id_to_token(ids), ""),
            "scores": tf.where(answered, scores, 0.0),
            "token_ids": tf.where(answered, ids, -1),
            "mask_positions": mask_positions,
            "mask_count": tf.reduce_sum(tf.cast(top > 0, tf.int32), axis=1),
        }

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="token_ids"),
            tf.TensorSpec([None, None], tf.int32, name="padding_mask"),
            tf.TensorSpec([None, None], tf.int32, name="mask_positions"),
        ]
    )
    def predict_token_ids(self, token_ids, padding_mask, mask_positions):
        tf.debugging.assert_less_equal(
            tf.shape(token_ids)[1], self.sequence_length,
            message=f"token_ids longer than the model's sequence_length ({self.sequence_length})",
        )
        logits = self.pretrainer(
            {"token_ids": token_ids, "padding_mask": padding_mask, "mask_positions": mask_positions}, training=False
        )
        return {"logits": tf.cast(logits, tf.float32)}


def export_fill_mask(pretrainer, tokenizer, model_dir, sequence_length, top_k=5, max_masks=16, asset_paths=()):
    """Writes the next integer version under `model_dir` atomically; returns its path."""
    missing = [p for p in asset_paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"Cannot export: asset files missing: {missing}.")
    module = FillMaskModule(pretrainer, tokenizer, sequence_length, top_k, max_masks, asset_paths)
    signatures = {
        "serving_default": module.fill_mask.get_concrete_function(),
        "predict_token_ids": module.predict_token_ids.get_concrete_function(),
    }
    with atomic_version_dir(model_dir) as target:
        tf.saved_model.save(module, target.path, signatures=signatures)
    return target.final
