"""Causal-LM data: documents -> one token stream -> shifted (inputs, labels) blocks (seqio style).

Documents are tokenized in the graph and concatenated, each preceded by the end-of-text id (so
every document, the first included, starts the way a generation prompt does). The stream is
cut into windows of `sequence_length + 1` tokens taken every `sequence_length` tokens: inputs are
a window's first `sequence_length` tokens, labels its last, so every next-token transition in
the stream is trained exactly once per pass and nothing is padded.

Before/after, `sequence_length=3`, end of text 1, documents [[5, 6], [7, 8, 9]]:

    stream  1 5 6 1 7 8 9
    blocks  x=[1 5 6] y=[5 6 1]  |  x=[1 7 8] y=[7 8 9]

Training passes are seeded: pass p shuffles the block order with seed (seed, p) and, with
`random_offset`, starts the cut at a random offset in [0, sequence_length), so block boundaries
move from pass to pass (nanoGPT samples random offsets for the same reason).

Example:

>>> stream = token_stream(texts, tokenizer)
>>> train = lm_batches(stream, sequence_length=128, batch_size=32, seed=0)   # infinite, use steps_per_epoch
>>> held_out = lm_batches(held_out_stream, 128, 32, training=False)           # one pass, in order

A prepared directory (`tfssl prepare --layout=causal`) already holds these windows (offset 0, cut per shard):
`prepared_lm_batches` reads one input pipeline's share of them, resumable at any step without re-reading.
"""

import numpy as np
import tensorflow as tf


def token_stream(texts, tokenizer, batch_size=64):
    """Tokenizes `texts` in the graph; returns one int32 NumPy stream, end of text before each text."""
    texts = list(texts)
    if not texts:
        raise ValueError("No texts to tokenize.")
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string)).batch(batch_size)
    eot = tf.constant([tokenizer.end_of_text_id], tf.int32)
    dataset = dataset.map(lambda t: tokenizer(t), num_parallel_calls=tf.data.AUTOTUNE)  # (docs, None) ragged
    pieces = []
    for ids in dataset:  # ragged batches
        with_eot = tf.concat([tf.RaggedTensor.from_tensor(tf.tile(eot[None], [ids.nrows(), 1])), tf.cast(ids, tf.int32)], axis=1)
        pieces.append(with_eot.flat_values.numpy())
    return np.concatenate(pieces).astype(np.int32)


def num_blocks(stream_length, sequence_length, random_offset=False):
    """Blocks per pass: windows of length+1 every `sequence_length` tokens (room for any offset)."""
    usable = stream_length - 1 - (sequence_length - 1 if random_offset else 0)
    return max(usable // sequence_length, 0)


def lm_batches(stream, sequence_length, batch_size, seed=0, training=True, random_offset=True, drop_remainder=None):
    """`(x={"token_ids"}, y)` batches of (batch, sequence_length) int32 ids from a token stream.

    `training=True`: infinite passes, each shuffled (and offset) by its own seed; fit with
    `steps_per_epoch`. `training=False`: one pass in stream order, offset 0, last batch kept.
    """
    stream = tf.constant(np.asarray(stream, dtype=np.int32))
    offset_blocks = training and random_offset
    blocks = num_blocks(int(stream.shape[0]), sequence_length, offset_blocks)
    if blocks < (batch_size if training else 1):
        raise ValueError(
            f"The token stream ({int(stream.shape[0])} tokens) makes {blocks} blocks of {sequence_length} tokens, "
            f"fewer than batch_size={batch_size}. Add text, or lower batch_size or sequence_length."
        )
    window = tf.range(sequence_length + 1)

    def pass_starts(p):
        pass_seed = tf.stack([tf.constant(seed, tf.int64), p])
        offset = (tf.random.stateless_uniform([], pass_seed, 0, sequence_length, dtype=tf.int32)
                  if offset_blocks else tf.constant(0, tf.int32))
        order = tf.range(blocks)
        if training:
            order = tf.argsort(tf.random.stateless_uniform([blocks], pass_seed + 1))  # a seeded permutation
        return tf.data.Dataset.from_tensor_slices(offset + order * sequence_length)

    passes = tf.data.Dataset.counter() if training else tf.data.Dataset.range(1)
    starts = passes.flat_map(pass_starts)
    if not training:
        starts = starts.apply(tf.data.experimental.assert_cardinality(blocks))  # Keras then knows where a pass ends
    windows = starts.map(lambda s: tf.gather(stream, s + window), num_parallel_calls=tf.data.AUTOTUNE)  # (length + 1,)
    batches = windows.batch(batch_size, drop_remainder=training if drop_remainder is None else drop_remainder)
    return batches.map(lambda w: ({"token_ids": w[:, :-1]}, w[:, 1:]), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def prepared_lm_batches(prepared, batch_size, seed=0, start_step=0, num_pipelines=1, pipeline_id=0):
    """One input pipeline's `(x={"token_ids"}, y)` batches from a causal prepared directory
    (`PreparedDataset.training_blocks`: a pure function of (seed, step), each pipeline its own blocks)."""
    windows = prepared.training_blocks(batch_size, seed, start_step, num_pipelines, pipeline_id)
    return windows.map(lambda w: ({"token_ids": w[:, :-1]}, w[:, 1:]), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE)
