"""Packing tokenized documents into fixed-length blocks (Dataset -> Dataset).

Documents are joined into one token stream with `[SEP]` after each document, cut into
`sequence_length - 2` pieces and wrapped as `[CLS] ... [SEP]`. No block is padded; the tail
shorter than a block is dropped (at most one block's worth of tokens per corpus).

Before/after, `sequence_length=5`, cls 2, sep 3:

    [[7, 8, 9], [10, 11]]  ->  [[2, 7, 8, 9, 3], [2, 3, 10, 11, 3]]
                                (stream 7 8 9 3 10 11 3; the last token is dropped)
"""

import tensorflow as tf


def pack_token_sequences(dataset: tf.data.Dataset, sequence_length: int, cls_id: int, sep_id: int) -> tf.data.Dataset:
    """Packs a dataset of 1-D int32 token sequences into `(sequence_length,)` blocks."""
    if sequence_length < 3:
        raise ValueError(f"sequence_length must be at least 3 ([CLS] token [SEP]), got {sequence_length}.")
    sep = tf.constant([sep_id], tf.int32)
    cls_ = tf.constant([cls_id], tf.int32)
    body = sequence_length - 2
    stream = dataset.map(lambda ids: tf.concat([tf.cast(ids, tf.int32), sep], 0)).unbatch()
    blocks = stream.batch(body, drop_remainder=True)  # (body,)
    return blocks.map(
        lambda ids: tf.ensure_shape(tf.concat([cls_, ids, sep], 0), [sequence_length]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def tokenize_documents(texts, tokenizer, batch_size: int = 16) -> tf.data.Dataset:
    """Strings -> dataset of 1-D int32 token sequences, tokenized in the graph in batches."""
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
    dataset = dataset.batch(batch_size).map(tokenizer, num_parallel_calls=tf.data.AUTOTUNE)  # (docs, None) ragged
    return dataset.unbatch()  # (None,)
