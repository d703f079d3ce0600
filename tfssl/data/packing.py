"""The one layout of model inputs, and packing documents into pretraining blocks (Dataset -> Dataset).

`pack_segments` is the single definition of how token ids become model features; every pipeline
(sentences, classification, tagging, pretraining blocks) and every serving signature calls it:

    single text:  [CLS] a [SEP]                 segment_ids 0 ... 0
    text pair:    [CLS] a [SEP] b [SEP]         segment_ids 0 ... 0 1 ... 1

`pack_token_sequences` joins documents into one stream with `[SEP]` after each document, cuts it
into `sequence_length - 2` pieces and lays each piece out as a single text. No block is padded;
the tail shorter than a block is dropped (at most one block's worth of tokens per corpus).
`tfssl.data.shard_writing.pack_blocks` is its numpy twin for worker processes without TensorFlow.

Before/after, `sequence_length=5`, cls 2, sep 3:

    [[7, 8, 9], [10, 11]]  ->  [[2, 7, 8, 9, 3], [2, 3, 10, 11, 3]]
                                (stream 7 8 9 3 10 11 3; the last token is dropped)
"""

import tensorflow as tf


def special_token_ids(tokenizer) -> dict:
    """`cls_token_id`, `sep_token_id` and `pad_token_id` of a tfssl tokenizer, as `pack_segments` takes them."""
    return {"cls_token_id": tokenizer.cls_token_id, "sep_token_id": tokenizer.sep_token_id,
            "pad_token_id": tokenizer.pad_token_id}


def pack_segments(first, second=None, *, sequence_length, cls_token_id, sep_token_id, pad_token_id=0,
                  pad_to_multiple=None):
    """Lays out one text or a text pair as `[CLS] a [SEP]` / `[CLS] a [SEP] b [SEP]`, truncated and padded.

    Args:
        first: (batch, None) token ids (ragged or dense), or any values aligned with the tokens
            (tag labels, weights): the dtype is kept, so the same call lays out labels beside ids.
        second: (batch, None) ids of the pair's second texts, or None for single texts.
        sequence_length: the longest row. A single text keeps its first `sequence_length - 2`
            tokens; a pair is trimmed round-robin to `sequence_length - 3` (the longer text loses
            tokens first; `tensorflow_text.RoundRobinTrimmer`).
        cls_token_id, sep_token_id, pad_token_id: the values at `[CLS]`, at each `[SEP]` and in padding
            (0, 0, 0 for labels).
        pad_to_multiple: None pads every row to `sequence_length` (a static shape); an int k pads to
            the longest row rounded up to a multiple of k, at most `sequence_length` (1: the longest row).

    Returns:
        {"token_ids": (batch, length) in `first`'s dtype, "padding_mask": (batch, length) int32, 1 on
        tokens, "segment_ids": (batch, length) int32, 0 on `[CLS] a [SEP]` and padding, 1 on `b [SEP]`}.

    Before/after, `sequence_length=8`, cls 2, sep 3, pad 0, first `[[7, 8, 9]]`, second `[[10, 11, 12, 13, 14]]`:

        token_ids [[2, 7, 8, 9, 3, 10, 11, 3]]   segment_ids [[0, 0, 0, 0, 0, 1, 1, 1]]
    """
    if sequence_length < 3 + (second is not None):
        raise ValueError(f"sequence_length must be at least {3 + (second is not None)} for "
                         f"{'pairs' if second is not None else 'single texts'}, got {sequence_length}.")
    segments = [_ragged(first)[:, : sequence_length - 2]]  # (batch, None)
    if second is not None:
        import tensorflow_text as tf_text  # only pairs need the trimmer

        segments = tf_text.RoundRobinTrimmer(max_seq_length=sequence_length - 3).trim([_ragged(first), _ragged(second)])
    dtype = segments[0].dtype
    batch = segments[0].nrows(out_type=tf.int32)
    column = lambda value, dtype: tf.fill([batch, 1], tf.cast(value, dtype))  # noqa: E731  (batch, 1)
    values, segment_ids = [column(cls_token_id, dtype)], [column(0, tf.int32)]
    for index, segment in enumerate(segments):
        values += [segment, column(sep_token_id, dtype)]
        segment_ids += [tf.ones_like(segment, dtype=tf.int32) * index, column(index, tf.int32)]
    values, segment_ids = tf.concat(values, axis=1), tf.concat(segment_ids, axis=1)  # (batch, None) ragged
    if pad_to_multiple is None:
        shape = [None, sequence_length]
    else:
        longest = tf.maximum(tf.cast(values.bounding_shape(axis=1), tf.int32), 2)  # an empty batch: (0, 2)
        rounded = (longest + pad_to_multiple - 1) // pad_to_multiple * pad_to_multiple
        shape = tf.stack([batch, tf.minimum(sequence_length, rounded)])
    return {
        "token_ids": values.to_tensor(tf.cast(pad_token_id, dtype), shape=shape),  # (batch, length)
        "padding_mask": tf.ones_like(values, dtype=tf.int32).to_tensor(0, shape=shape),
        "segment_ids": segment_ids.to_tensor(0, shape=shape),
    }


def _ragged(values):
    return values if isinstance(values, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(values)


def pack_token_sequences(dataset: tf.data.Dataset, sequence_length: int, cls_token_id: int, sep_token_id: int,
                         blocks_per_call: int = 256) -> tf.data.Dataset:
    """Packs a dataset of 1-D int32 token sequences into `(sequence_length,)` blocks (see the module
    docstring); `blocks_per_call` blocks are laid out by one `pack_segments` call."""
    if sequence_length < 3:
        raise ValueError(f"sequence_length must be at least 3 ([CLS] token [SEP]), got {sequence_length}.")
    sep = tf.constant([sep_token_id], tf.int32)
    stream = dataset.map(lambda ids: tf.concat([tf.cast(ids, tf.int32), sep], 0)).unbatch()
    pieces = stream.batch(sequence_length - 2, drop_remainder=True).batch(blocks_per_call)  # (blocks, body)
    blocks = pieces.map(
        lambda ids: pack_segments(ids, sequence_length=sequence_length, cls_token_id=cls_token_id,
                                  sep_token_id=sep_token_id)["token_ids"],
        num_parallel_calls=tf.data.AUTOTUNE,
    )  # (blocks, sequence_length)
    return blocks.unbatch()


def tokenize_documents(texts, tokenizer, batch_size: int = 16) -> tf.data.Dataset:
    """Strings -> dataset of 1-D int32 token sequences, tokenized in the graph in batches."""
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
    dataset = dataset.batch(batch_size).map(tokenizer, num_parallel_calls=tf.data.AUTOTUNE)  # (docs, None) ragged
    return dataset.unbatch()  # (None,)
