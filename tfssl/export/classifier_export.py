"""Export a fine-tuned `TextClassifier` as a SavedModel for TF Serving that takes raw strings.

`serving_default` (also `predict`) inputs: `text` (batch,) strings, plus `text_pair` (batch,)
for pair models. Outputs:

* classification: `label` (batch,) label names, `label_id` (batch,) int32, `probabilities` and
  `logits` (batch, num_classes), classes in the order of `assets/labels.txt`;
* regression: `score` (batch,) float32.

Texts are tokenized in the graph (TensorFlow Text) exactly as in training and truncated to the
model's `sequence_length` (pairs trimmed round-robin); a batch is padded to its longest row rounded up
to 8, not to `sequence_length`. An empty batch gets empty outputs. An empty or whitespace-only string is
rejected with INVALID_ARGUMENT ("text[i] is empty"): a label for no text would be a guess that
looks like an answer. `labels.txt`, the vocabulary and the run's `config.json` travel in `assets/`.
Versions are integers under `saved_models/<name>/`, written atomically, never overwritten.

Example:

>>> module = TextClassificationModule(classifier, tokenizer, ["negative", "positive"], 64)
>>> module.predict(tf.constant(["a gripping film"]))["label"]   # in-process, same graph as served
>>> export_text_classifier(module, "saved_models/sst2", asset_paths=[...])  # -> saved_models/sst2/1
"""

import os
import tempfile

import tensorflow as tf

from tfssl.data.classification_pipeline import encode_texts
from tfssl.export.serving_variables import serving_variables
from tfssl.export.versioning import atomic_version_dir


class TextClassificationModule(tf.Module):
    """Tokenizer + classifier + label names, with the serving function as a `tf.function`."""

    def __init__(self, classifier, tokenizer, label_names, sequence_length, pairs=False, asset_paths=()):
        super().__init__(name="text_classification")
        self.classifier = classifier
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        self.pairs = bool(pairs)
        self.regression = classifier.task == "regression"
        self.label_names = list(label_names)
        if not self.regression and len(self.label_names) != classifier.num_classes:
            raise ValueError(f"{len(self.label_names)} label names for a {classifier.num_classes}-class classifier.")
        self._label_table = tf.constant(self.label_names or [""])
        self.assets = [tf.saved_model.Asset(p) for p in asset_paths]
        self.serving_variables = serving_variables(classifier, tokenizer)
        text = tf.TensorSpec([None], tf.string, name="text")
        if self.pairs:
            self.predict = tf.function(self._predict_pairs, input_signature=[text, tf.TensorSpec([None], tf.string, name="text_pair")])
        else:
            self.predict = tf.function(self._predict_texts, input_signature=[text])

    def _predict_texts(self, text):
        return self._outputs(text, None)

    def _predict_pairs(self, text, text_pair):
        tf.debugging.assert_equal(tf.shape(text), tf.shape(text_pair),
                                  message="`text` and `text_pair` need the same number of strings")
        return self._outputs(text, text_pair)

    def _outputs(self, text, text_pair):
        checks = [_assert_not_empty(text, "text")] + ([_assert_not_empty(text_pair, "text_pair")] if self.pairs else [])
        with tf.control_dependencies(checks):
            features = encode_texts(text, self.tokenizer, self.sequence_length, text_pair, pad_to_multiple=8)
        logits = tf.cast(self.classifier(features, training=False), tf.float32)  # float32 out under any precision
        if self.regression:
            return {"score": logits}
        label_id = tf.argmax(logits, axis=-1, output_type=tf.int32)  # (batch,)
        return {
            "label": tf.gather(self._label_table, label_id),
            "label_id": label_id,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "logits": logits,
        }


def _assert_not_empty(strings, name):
    """An op that fails with the first empty string's index, naming the input."""
    empty = tf.equal(tf.strings.length(tf.strings.strip(strings)), 0)
    first = tf.argmax(tf.pad(tf.cast(empty, tf.int32), [[0, 1]]), output_type=tf.int32)  # defined for 0 strings
    return tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(empty)),
        [f"{name}[i] is empty (no text to classify); first empty index:", first],
        name=f"{name}_not_empty",
    )


def write_label_file(label_names, directory):
    """`labels.txt`: one label name per line, in class-id order. Returns its path."""
    path = os.path.join(directory, "labels.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{name}\n" for name in label_names))
    return path


def export_text_classifier(module, model_dir, asset_paths=()):
    """Writes the next integer version of `module` under `model_dir` atomically; returns its path.

    `labels.txt` is written and added to the assets; `asset_paths` adds the tokenizer files and
    the run's config."""
    missing = [p for p in asset_paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"Cannot export: asset files missing: {missing}.")
    with tempfile.TemporaryDirectory() as scratch:
        paths = list(asset_paths) + ([] if module.regression else [write_label_file(module.label_names, scratch)])
        module.assets = [tf.saved_model.Asset(p) for p in paths]
        serving = module.predict.get_concrete_function()
        with atomic_version_dir(model_dir) as target:
            tf.saved_model.save(module, target.path, signatures={"serving_default": serving, "predict": serving})
    return target.final
