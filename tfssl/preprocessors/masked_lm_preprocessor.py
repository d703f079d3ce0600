"""Raw text -> masked-LM training features, in tf.data, with a new mask every epoch.

    documents --tokenize (WordPiece, in graph)--> ids --pack--> [CLS] ... [SEP] blocks of
    `sequence_length` --batch--> mask (80/10/10, stateless seed per batch) --> (x, y, sample_weight)

The features are exactly those of `tfssl.data.mlm_pipeline` (the `tfssl pretrain mlm` driver):
`x = {"token_ids", "padding_mask", "mask_positions"}`, `y` the original ids at the slots,
`sample_weight` 1.0 on used slots and 0.0 on empty ones; `MaskedLMPretrainer` trains on them.

With `pack_documents=True` (the default, as the driver), `Task.fit` packs whole documents into
`(sequence_length,)` blocks (`tfssl.data.packing.pack_token_sequences`: documents joined with
`[SEP]`, cut, each piece laid out `[CLS] piece [SEP]`; no padding). Called directly on a batch of
strings, each string is one row: `[CLS] text [SEP]`, truncated and padded. Integer token-id
blocks (already packed) are masked as they are.

Before/after (ids from the vocabulary; `max_predictions=3`):

    ["the union is strong"]  ->  x["token_ids"]     [[2, 4, 611, 23, 1170, 3, 0, ...]]
                                 x["mask_positions"] [[1, 0, 0]]  y [[97, 0, 0]]  sample_weight [[1., 0., 0.]]

Example:

>>> preprocessor = MaskedLMPreprocessor.from_vocabulary("runs/vocab", sequence_length=128)
>>> x, y, sample_weight = preprocessor(tf.constant(["The Union is strong."]), seed=[0, 0])
>>> MaskedLMPretrainer(backbone, preprocessor=preprocessor).fit(documents, batch_size=32)
"""

import keras
import tensorflow as tf

from tfssl.data.mlm_pipeline import masked_lm_features, masker_for_tokenizer
from tfssl.data.packing import pack_segments, pack_token_sequences, special_token_ids
from tfssl.preprocessors.preprocessor import Preprocessor
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer


@keras.saving.register_keras_serializable(package="tfssl")
class MaskedLMPreprocessor(Preprocessor):
    """Args:
    tokenizer: a `WordPieceTokenizer`.
    sequence_length: block length, `[CLS]` and `[SEP]` included (the driver's `sequence_length`).
    mask_selection_rate, mask_token_rate, random_token_rate, whole_word_masking: see `MaskedLMMasker`
        (BERT's 0.15 and 80/10/10 by default).
    max_predictions: slots per row; None: `round(mask_selection_rate * (sequence_length - 2))`.
    pack_documents: in `Task.fit`, pack documents into full blocks (True) or keep one row per text.
    seed: shuffling and masks (same seed, same batches; a new mask every epoch).
    """

    def __init__(self, tokenizer, sequence_length=128, mask_selection_rate=0.15, mask_token_rate=0.8,
                 random_token_rate=0.1, whole_word_masking=False, max_predictions=None, pack_documents=True, seed=0,
                 **kwargs):
        super().__init__(tokenizer, sequence_length, seed, **kwargs)
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.whole_word_masking = bool(whole_word_masking)
        self.pack_documents = bool(pack_documents)
        extra = {} if max_predictions is None else {"max_predictions": int(max_predictions)}
        self.masker = masker_for_tokenizer(
            tokenizer, self.sequence_length, mask_selection_rate=self.mask_selection_rate,
            whole_word_masking=self.whole_word_masking, mask_token_rate=self.mask_token_rate,
            random_token_rate=self.random_token_rate, **extra)
        self.max_predictions = self.masker.max_predictions

    @classmethod
    def from_vocabulary(cls, vocabulary, lowercase=True, **kwargs):
        """From a `vocab.txt` directory or file (as `train_wordpiece` writes), or a list of tokens."""
        tokenizer = (WordPieceTokenizer.from_directory(vocabulary, lowercase=lowercase) if isinstance(vocabulary, str)
                     else WordPieceTokenizer(vocabulary, lowercase=lowercase))
        return cls(tokenizer, **kwargs)

    def examples(self, dataset):
        """Documents -> `(sequence_length,)` int32 blocks (with `pack_documents`); other columns are not kept."""
        if not self.pack_documents:
            return dataset
        texts = dataset.map(lambda columns: columns["x"]).batch(16)
        ids = texts.map(self.tokenizer, num_parallel_calls=tf.data.AUTOTUNE).unbatch()  # (None,) per document
        blocks = pack_token_sequences(ids, self.sequence_length, self.tokenizer.cls_token_id,
                                      self.tokenizer.sep_token_id)  # (sequence_length,)
        return blocks.map(lambda block: {"x": block})

    def call(self, x, y=None, sample_weight=None, seed=None):
        """(batch,) strings or (batch, sequence_length) ids -> `(x, y, sample_weight)` as the module docstring says."""
        x = tf.convert_to_tensor(x)
        if x.dtype == tf.string:
            token_ids = pack_segments(self.tokenizer(x), sequence_length=self.sequence_length,
                                      **special_token_ids(self.tokenizer))["token_ids"]  # (batch, sequence_length)
        else:
            token_ids = tf.cast(x, tf.int32)
        if seed is None:
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
        return masked_lm_features(self.masker)(token_ids, seed)

    def get_config(self):
        config = super().get_config()
        config.update({
            "mask_selection_rate": self.mask_selection_rate,
            "mask_token_rate": self.mask_token_rate,
            "random_token_rate": self.random_token_rate,
            "whole_word_masking": self.whole_word_masking,
            "max_predictions": self.max_predictions,
            "pack_documents": self.pack_documents,
        })
        return config
