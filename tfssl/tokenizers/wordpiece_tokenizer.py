"""In-graph WordPiece tokenization as a Keras layer (tensorflow-text inside).

Strings go in, token ids come out, with no Python in between: the layer runs inside
`tf.data.Dataset.map`, inside a compiled model and inside an exported SavedModel, so a
served model takes raw text. Its ids equal the Hugging Face fast tokenizer's for the same
`vocab.txt` (tested on corpus lines; the rare differences come from Unicode case folding).

Example:

>>> tokenizer = WordPieceTokenizer.from_directory("runs/mlm/tokenizer")
>>> tokenizer(tf.constant(["The Union is strong."]))   # RaggedTensor of int32 ids
"""

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from tfssl.tokenizers.wordpiece_trainer import CLS, MASK, PAD, SEP, SPECIAL_TOKENS, UNK, read_vocabulary


@keras.saving.register_keras_serializable(package="tfssl")
class WordPieceTokenizer(keras.layers.Layer):
    """Maps strings to ragged WordPiece ids (no special tokens added).

    Args:
        vocabulary: list of tokens; id = index. Must hold `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`.
        lowercase: lower-case and strip accents before splitting (uncased vocabularies).
    """

    def __init__(self, vocabulary, lowercase=True, **kwargs):
        kwargs.setdefault("trainable", False)
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.vocabulary = list(vocabulary)
        self.lowercase = bool(lowercase)
        for token in (UNK, CLS, SEP, MASK):
            if token not in self.vocabulary:
                raise ValueError(f"The vocabulary has no {token} token; WordPiece for BERT needs it.")
        self._index = {token: i for i, token in enumerate(self.vocabulary)}
        self._tokenizer = tf_text.FastBertTokenizer(
            vocab=self.vocabulary,
            suffix_indicator="##",
            max_bytes_per_word=100,
            token_out_type=tf.int64,
            unknown_token=UNK,
            lower_case_nfd_strip_accents=self.lowercase,
        )
        self._vocab_table = tf.constant(self.vocabulary)

    @classmethod
    def from_directory(cls, directory, lowercase=True, **kwargs):
        """Builds the layer from a directory (or file) holding `vocab.txt`."""
        return cls(read_vocabulary(directory), lowercase=lowercase, **kwargs)

    # Token-id properties: the one place the rest of tfssl learns special ids from.
    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def token_to_id(self, token):
        return self._index[token]

    @property
    def pad_token_id(self):
        return self._index.get(PAD, 0)

    @property
    def cls_token_id(self):
        return self._index[CLS]

    @property
    def sep_token_id(self):
        return self._index[SEP]

    @property
    def mask_token_id(self):
        return self._index[MASK]

    @property
    def special_token_ids(self):
        """Ids never masked or predicted: the special tokens present in the vocabulary."""
        return sorted(self._index[t] for t in SPECIAL_TOKENS if t in self._index)

    @property
    def continuation_token_mask(self):
        """Bool per id: True for `##` pieces that continue a word (whole-word masking)."""
        return [token.startswith("##") for token in self.vocabulary]

    def call(self, inputs):
        """(batch,) strings -> (batch, None) ragged int32 ids; a scalar string -> (None,)."""
        inputs = tf.convert_to_tensor(inputs, dtype=tf.string)
        ids = self._tokenizer.tokenize(inputs)  # (batch, tokens) ragged int64
        return tf.cast(ids, tf.int32)

    def tokenize_with_masks(self, inputs):
        """Like `call`, but a literal `[MASK]` in the text becomes the mask id.

        Used by the fill-mask serving signature, where users write "The [MASK] is strong.".
        """
        inputs = tf.convert_to_tensor(inputs, dtype=tf.string)
        pieces = tf.strings.split(inputs, sep=MASK)  # (batch, pieces) ragged strings
        piece_ids = self(pieces.flat_values)  # (total_pieces, tokens) ragged
        # Every piece but the last in its row is followed by one [MASK].
        row_lengths = pieces.row_lengths()
        is_last = tf.scatter_nd(
            tf.expand_dims(pieces.row_limits() - 1, 1),
            tf.ones_like(row_lengths, dtype=tf.bool),
            tf.shape(pieces.flat_values, out_type=tf.int64),
        )
        num_masks = tf.cast(tf.logical_not(is_last), tf.int64)
        mask_col = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(num_masks)], tf.constant(self.mask_token_id, tf.int32)), num_masks
        )
        merged = tf.concat([piece_ids, mask_col], axis=1)  # (total_pieces, tokens + 0/1)
        return tf.RaggedTensor.from_row_lengths(merged, row_lengths).merge_dims(1, 2)

    def id_to_token(self, ids):
        """Int ids (any shape) -> token strings of the same shape."""
        return tf.gather(self._vocab_table, ids)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape + (None,), dtype="int32", ragged=True)

    def get_config(self):
        config = super().get_config()
        config.update({"vocabulary": self.vocabulary, "lowercase": self.lowercase})
        return config
