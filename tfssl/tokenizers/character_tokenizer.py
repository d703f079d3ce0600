"""Character-level vocabulary (as nanoGPT's shakespeare_char), run in the graph with string ops.

The vocabulary is the sorted set of characters (Unicode code points) of the training text,
after two special ids: 0 `<unk>` (a character not in the vocabulary; detokenized as U+FFFD) and
1 `<|endoftext|>` (the document separator; detokenized as nothing). Tokenizing decodes UTF-8 to
code points and looks them up in a dense table; detokenizing gathers code points and encodes UTF-8. No
Python runs per string, so the layer works in `tf.data`, compiled models and SavedModels.

Example:

>>> tokenizer = CharacterTokenizer.from_texts(["First Citizen:\\nBefore we proceed"])
>>> tokenizer(tf.constant(["Before"]))     # [[ids of B, e, f, o, r, e]]
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

UNKNOWN, END_OF_TEXT = "<unk>", "<|endoftext|>"
VOCABULARY_FILE = "characters.json"
SETTINGS_FILE = "tfssl_tokenizer.json"


@keras.saving.register_keras_serializable(package="tfssl")
class CharacterTokenizer(keras.layers.Layer):
    """Strings -> ragged character ids, and back.

    Args:
        characters: the vocabulary's characters (one code point each), ids 2, 3, ... in order.
    """

    def __init__(self, characters, **kwargs):
        kwargs.setdefault("trainable", False)
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.characters = list(characters)
        bad = [c for c in self.characters if len(c) != 1]
        if bad:
            raise ValueError(f"Each vocabulary entry must be one character; got {bad[:5]}.")
        if len(set(self.characters)) != len(self.characters):
            raise ValueError("The character vocabulary has duplicates.")
        codepoints = np.array([ord(c) for c in self.characters], dtype=np.int32)
        table = np.zeros(int(codepoints.max(initial=0)) + 2, dtype=np.int32)  # last slot: any larger code point
        table[codepoints] = np.arange(2, len(codepoints) + 2, dtype=np.int32)
        self._id_of_codepoint = tf.constant(table)  # (max_codepoint + 2,) 0 = unknown
        self._codepoint_of_id = tf.constant(np.concatenate([[0xFFFD, 0], codepoints]).astype(np.int32))
        self._tokens = tf.constant([UNKNOWN, END_OF_TEXT] + self.characters)

    @classmethod
    def from_texts(cls, texts, **kwargs):
        """The vocabulary of every character in `texts`."""
        characters = sorted(set().union(*(set(t) for t in texts)))
        if not characters:
            raise ValueError("Cannot build a character vocabulary from empty texts.")
        return cls(characters, **kwargs)

    @classmethod
    def from_directory(cls, directory, **kwargs):
        path = os.path.join(directory, VOCABULARY_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No {VOCABULARY_FILE} in {directory}: build one with CharacterTokenizer.from_texts.")
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f), **kwargs)

    def save_to_directory(self, directory):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            json.dump(self.characters, f, ensure_ascii=False)
        with open(os.path.join(directory, SETTINGS_FILE), "w", encoding="utf-8") as f:
            json.dump({"type": "character", "vocabulary_size": self.vocabulary_size}, f)
        return directory

    @property
    def vocabulary_size(self):
        return len(self.characters) + 2

    @property
    def end_of_text_id(self):
        return 1

    def call(self, inputs):
        """(batch,) strings -> (batch, None) ragged int32 ids; a scalar string -> (None,)."""
        codepoints = tf.strings.unicode_decode(tf.convert_to_tensor(inputs, tf.string), "UTF-8", errors="replace")
        last = tf.shape(self._id_of_codepoint)[0] - 1
        return tf.ragged.map_flat_values(lambda c: tf.gather(self._id_of_codepoint, tf.minimum(c, last)), codepoints)

    def detokenize(self, ids):
        """(batch, None) ids, ragged or dense -> (batch,) strings; end-of-text ids vanish."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.ragged.boolean_mask(ids, tf.not_equal(ids, self.end_of_text_id))
        codepoints = tf.ragged.map_flat_values(lambda i: tf.gather(self._codepoint_of_id, i), ids)
        return tf.strings.unicode_encode(codepoints, "UTF-8")

    def id_to_token(self, ids):
        return tf.gather(self._tokens, ids)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape + (None,), dtype="int32", ragged=True)

    def get_config(self):
        config = super().get_config()
        config.update({"characters": self.characters})
        return config
