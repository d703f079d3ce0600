"""Raw sentences -> the feature dicts `ContrastivePretrainer` trains on, in tf.data.

Unsupervised SimCSE takes a batch of sentences; supervised pairs take a dict of sentence columns:

    ["A man plays."]                               ->  {"token_ids", "padding_mask"} (batch, sequence_length)
    {"anchor": [...], "positive": [...]}           ->  {"anchor": {...}, "positive": {...}}

Each sentence is laid out `[CLS] ids [SEP]`, truncated and padded (`tfssl.data.sentence_pipeline.encode_sentences`,
as `tfssl pretrain contrastive` and `SentenceEmbedder` do). Contrastive batches need at least two
sentences: `Task.fit` drops a short last batch.

Example:

>>> simcse = ContrastivePretrainer(encoder, preprocessor=SentencePreprocessor(tokenizer, sequence_length=64))
>>> simcse.fit(sentences, batch_size=64, epochs=1)
"""

import keras

from tfssl.data.sentence_pipeline import encode_sentences
from tfssl.preprocessors.preprocessor import Preprocessor


@keras.saving.register_keras_serializable(package="tfssl")
class SentencePreprocessor(Preprocessor):
    """Args:
    tokenizer: a `WordPieceTokenizer`.
    sequence_length: the length of every row, `[CLS]`/`[SEP]` included.
    seed: shuffling in `Task.fit`.
    """

    def __init__(self, tokenizer, sequence_length=64, seed=0, **kwargs):
        super().__init__(tokenizer, sequence_length, seed, **kwargs)

    def call(self, x, y=None, sample_weight=None, seed=None):
        """(batch,) strings, or a dict of such columns -> features (a dict of feature dicts for a dict)."""
        if isinstance(x, dict):
            features = {name: encode_sentences(texts, self.tokenizer, self.sequence_length)
                        for name, texts in x.items()}
        else:
            features = encode_sentences(x, self.tokenizer, self.sequence_length)
        return keras.utils.pack_x_y_sample_weight(features, y, sample_weight)
