"""Word-tagged text (named entities, parts of speech) -> WordPiece features with one label per
word, in the graph.

A word may become several WordPieces; its tag is predicted at its *first* piece (BERT's rule),
so labels sit on first pieces and `sample_weight` is 1 there and 0 on continuation pieces,
`[CLS]`, `[SEP]` and padding. A word the tokenizer turns into nothing (a lone control
character) becomes `[UNK]` so that no tag is lost. Rows longer than `sequence_length - 2`
pieces are cut (their last words are not scored). Ids, labels and weights all take the one layout
of `tfssl.data.packing.pack_segments` (segment_ids are 0).

    words  ["Lincoln", "spoke"]          tags [B-PER, O]
    pieces [CLS] lin ##coln spoke [SEP]  labels 0 B-PER 0 O 0   weights 0 1 0 1 0

Example:

>>> features, labels, weights = encode_words(tf.ragged.constant([["Lincoln", "spoke"]]),
...                                          tf.ragged.constant([[1, 0]]), tokenizer, 64)
"""

import functools

import numpy as np
import tensorflow as tf

from tfssl.data.packing import pack_segments, special_token_ids


def encode_words(words, tags, tokenizer, sequence_length):
    """(batch, None) ragged words and int tags -> (features, piece labels, piece weights), each
    (batch, longest) padded: see the module docstring."""
    pieces = tokenizer(words.flat_values)  # (total_words, None) ragged ids
    empty = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)
    unknown = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.constant(tokenizer.token_to_id("[UNK]"), tf.int32)), empty)
    pieces = tf.concat([pieces, unknown], axis=1)  # every word has >= 1 piece
    is_first = tf.cast(tf.equal(tf.ragged.range(pieces.row_lengths()), 0), tf.float32)  # (total_words, None)
    piece_tags = tf.gather(tags.flat_values, pieces.value_rowids())  # (total_pieces,) the word's tag

    def per_row(values):  # (total_pieces,) -> (batch, pieces in the row)
        by_word = tf.RaggedTensor.from_row_lengths(values, pieces.row_lengths())
        return tf.RaggedTensor.from_row_lengths(by_word, words.row_lengths()).merge_dims(1, 2)

    # One layout for ids, labels and weights: labels and weights are 0 at [CLS], [SEP] and padding.
    pack = functools.partial(pack_segments, sequence_length=sequence_length, pad_to_multiple=1)
    features = pack(per_row(pieces.flat_values), **special_token_ids(tokenizer))  # (batch, longest) each
    labels = pack(per_row(piece_tags), cls_token_id=0, sep_token_id=0, pad_token_id=0)["token_ids"]
    weights = pack(per_row(is_first.flat_values), cls_token_id=0, sep_token_id=0, pad_token_id=0)["token_ids"]
    return features, labels, weights


def tagging_batches(tokens, tag_ids, tokenizer, sequence_length, batch_size, shuffle=True, seed=0):
    """`(features, piece labels, piece weights)` batches from word lists and per-word tag ids."""
    words = tf.ragged.constant(tokens, dtype=tf.string)
    tags = tf.ragged.constant([np.asarray(t, np.int32).tolist() for t in tag_ids], dtype=tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices((words, tags))
    if shuffle:
        dataset = dataset.shuffle(len(tokens), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.ragged_batch(batch_size)
    return dataset.map(lambda w, t: encode_words(w, t, tokenizer, sequence_length)).prefetch(tf.data.AUTOTUNE)
