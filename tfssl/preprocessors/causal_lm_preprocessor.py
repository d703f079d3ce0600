"""Raw documents -> next-token `(x, y)` blocks for `CausalLMPretrainer`, in tf.data.

In `Task.fit` documents are tokenized in the graph, each preceded by the end-of-text id, joined
into one stream and cut into windows of `sequence_length + 1` tokens every `sequence_length`
tokens: `x = {"token_ids": window[:-1]}`, `y = window[1:]`, nothing padded (the layout of
`tfssl.data.causal_lm_pipeline`, the `tfssl pretrain clm` driver's; blocks start at offset 0 and
are shuffled every epoch, without the driver's random offsets).

Called directly on a batch of strings, each string is one row: `[EOT] ids`, truncated to
`sequence_length + 1` and padded with end of text, with `sample_weight` 0 on padded labels.

Before/after (`sequence_length=3`, end of text 1), documents [[5, 6], [7, 8, 9]]:

    stream 1 5 6 1 7 8 9  ->  x=[1 5 6] y=[5 6 1]  |  x=[1 7 8] y=[7 8 9]

Example:

>>> preprocessor = CausalLMPreprocessor(tokenizer, sequence_length=128)
>>> CausalLMPretrainer(backbone, preprocessor=preprocessor).fit(documents, batch_size=32, epochs=4)
"""

import keras
import tensorflow as tf

from tfssl.preprocessors.preprocessor import Preprocessor


@keras.saving.register_keras_serializable(package="tfssl")
class CausalLMPreprocessor(Preprocessor):
    """Args:
    tokenizer: a decoder tokenizer (`SentencePieceTokenizer`, `ByteLevelBPETokenizer`,
        `CharacterTokenizer`: anything with `end_of_text_id`).
    sequence_length: the context: tokens per row of `x`.
    seed: shuffling in `Task.fit`.
    """

    def examples(self, dataset):
        """Documents -> `(sequence_length + 1,)` int32 windows of the end-of-text-separated stream."""
        eot = tf.constant([self.tokenizer.end_of_text_id], tf.int32)
        texts = dataset.map(lambda columns: columns["x"]).batch(64)
        ids = texts.map(self.tokenizer, num_parallel_calls=tf.data.AUTOTUNE).unbatch()  # (None,) per document
        stream = ids.map(lambda d: tf.concat([eot, tf.cast(d, tf.int32)], 0)).unbatch()  # one token per element
        windows = stream.window(self.sequence_length + 1, shift=self.sequence_length, drop_remainder=True)
        return windows.flat_map(lambda w: w.batch(self.sequence_length + 1)).map(lambda w: {"x": w})

    def call(self, x, y=None, sample_weight=None, seed=None):
        """(batch,) strings or (batch, sequence_length + 1) int windows -> `(x, y[, sample_weight])`."""
        x = tf.convert_to_tensor(x)
        if x.dtype != tf.string:
            windows = tf.cast(x, tf.int32)  # (batch, sequence_length + 1)
            return {"token_ids": windows[:, :-1]}, windows[:, 1:]
        eot = self.tokenizer.end_of_text_id
        ids = tf.cast(self.tokenizer(x), tf.int32)  # (batch, None) ragged
        ids = tf.concat([tf.fill([ids.nrows(), 1], tf.constant(eot, tf.int32)), ids], axis=1)
        ids = ids[:, : self.sequence_length + 1]
        shape = [None, self.sequence_length + 1]
        windows = ids.to_tensor(eot, shape=shape)  # (batch, sequence_length + 1)
        weights = tf.ones_like(ids, tf.float32).to_tensor(0.0, shape=shape)[:, 1:]  # (batch, sequence_length)
        return {"token_ids": windows[:, :-1]}, windows[:, 1:], weights
