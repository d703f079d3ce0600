"""Raw texts (or text pairs) and labels -> `TextClassifier` features, in tf.data.

    "a great film"            ->  [CLS] a great film [SEP] [PAD] ...          segment_ids 0 ...
    ("a man", "a person")     ->  [CLS] a man [SEP] a person [SEP] [PAD] ...  segment_ids 0 0 0 0 1 1 1 0 ...

The layout is `tfssl.data.packing.pack_segments` (the one every pipeline and serving signature
uses, via `tfssl.data.classification_pipeline.encode_texts`); labels and sample weights pass
through unchanged.

Example:

>>> preprocessor = TextClassifierPreprocessor(tokenizer, sequence_length=128)
>>> classifier = TextClassifier(backbone, num_classes=2, preprocessor=preprocessor)
>>> classifier.fit((texts, labels), ...)   # or classifier.fit(texts, labels, batch_size=32)
>>> classifier.fit(((premises, hypotheses), labels))  # pairs
"""

import keras

from tfssl.data.classification_pipeline import encode_texts
from tfssl.preprocessors.preprocessor import Preprocessor


@keras.saving.register_keras_serializable(package="tfssl")
class TextClassifierPreprocessor(Preprocessor):
    """Args:
    tokenizer: a `WordPieceTokenizer`.
    sequence_length: the longest row, special tokens included.
    pad_to_multiple: None pads every row to `sequence_length` (one static shape, for XLA); k pads
        a batch to its longest row rounded up to a multiple of k.
    seed: shuffling in `Task.fit`.
    """

    def __init__(self, tokenizer, sequence_length=128, pad_to_multiple=None, seed=0, **kwargs):
        super().__init__(tokenizer, sequence_length, seed, **kwargs)
        self.pad_to_multiple = None if pad_to_multiple is None else int(pad_to_multiple)

    def call(self, x, y=None, sample_weight=None, seed=None):
        """(batch,) strings, or a `(first, second)` tuple of them -> `(features, y, sample_weight)`."""
        first, second = x if isinstance(x, tuple) else (x, None)
        features = encode_texts(first, self.tokenizer, self.sequence_length, second, self.pad_to_multiple)
        return keras.utils.pack_x_y_sample_weight(features, y, sample_weight)

    def get_config(self):
        return {**super().get_config(), "pad_to_multiple": self.pad_to_multiple}
