import numpy as np
import pytest
import tensorflow as tf

from tfssl.data.classification_pipeline import encode_texts
from tfssl.data.packing import pack_segments, pack_token_sequences, special_token_ids, tokenize_documents
from tfssl.data.sentence_pipeline import encode_sentences
from tfssl.data.shard_writing import pack_blocks
from tfssl.data.token_tagging_pipeline import encode_words


def ragged_dataset(rows):
    return tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=tf.TensorSpec([None], tf.int32))


def test_docstring_example():
    out = list(pack_token_sequences(ragged_dataset([[7, 8, 9], [10, 11]]), 5, cls_token_id=2, sep_token_id=3))
    assert [o.numpy().tolist() for o in out] == [[2, 7, 8, 9, 3], [2, 3, 10, 11, 3]]


def test_no_padding_and_every_token_kept_in_order():
    rows = [list(range(100 + 10 * i, 100 + 10 * i + n)) for i, n in enumerate([3, 9, 1, 14, 6])]
    blocks = np.stack([b.numpy() for b in pack_token_sequences(ragged_dataset(rows), 8, 2, 3)])
    assert blocks.shape[1] == 8 and (blocks[:, 0] == 2).all() and (blocks[:, -1] == 3).all()
    stream = [t for r in rows for t in r + [3]]
    assert blocks[:, 1:-1].ravel().tolist() == stream[: blocks.shape[0] * 6]
    assert len(stream) - blocks.shape[0] * 6 < 6  # only the tail shorter than a block is dropped


def test_too_short_sequence_length():
    with pytest.raises(ValueError, match="at least 3"):
        pack_token_sequences(ragged_dataset([[1]]), 2, 2, 3)


def test_tokenize_documents_matches_tokenizer(tokenizer):
    texts = ["The Union.", "Of the states,", "and people"]
    got = [t.numpy().tolist() for t in tokenize_documents(texts, tokenizer, batch_size=2)]
    assert got == tokenizer(tf.constant(texts)).to_list()


# ---- pack_segments: the one [CLS] a [SEP] / [CLS] a [SEP] b [SEP] layout ----


def as_lists(features):
    return {name: values.numpy().tolist() for name, values in features.items()}


def test_pack_segments_docstring_example_pair():
    features = pack_segments(tf.ragged.constant([[7, 8, 9]]), tf.ragged.constant([[10, 11, 12, 13, 14]]),
                             sequence_length=8, cls_token_id=2, sep_token_id=3, pad_token_id=0)
    assert as_lists(features) == {"token_ids": [[2, 7, 8, 9, 3, 10, 11, 3]], "padding_mask": [[1] * 8],
                                  "segment_ids": [[0, 0, 0, 0, 0, 1, 1, 1]]}


def test_pack_segments_single_texts_truncate_and_pad():
    ids = tf.ragged.constant([[7, 8, 9, 10, 11, 12], [7]])
    full = pack_segments(ids, sequence_length=6, cls_token_id=2, sep_token_id=3, pad_token_id=9)
    assert full["token_ids"].shape == (2, 6)  # padded to sequence_length, a static shape
    assert as_lists(full) == {"token_ids": [[2, 7, 8, 9, 10, 3], [2, 7, 3, 9, 9, 9]],
                              "padding_mask": [[1] * 6, [1, 1, 1, 0, 0, 0]], "segment_ids": [[0] * 6, [0] * 6]}
    short = tf.ragged.constant([[7], [7, 8]])
    assert pack_segments(short, sequence_length=64, cls_token_id=2, sep_token_id=3, pad_to_multiple=1)["token_ids"].numpy(
        ).tolist() == [[2, 7, 3, 0], [2, 7, 8, 3]]  # to the longest row
    for sequence_length, shape in ((64, (2, 16)), (3, (2, 3))):  # up to a multiple of 16, at most sequence_length
        packed = pack_segments(short, sequence_length=sequence_length, cls_token_id=2, sep_token_id=3, pad_to_multiple=16)
        assert packed["token_ids"].shape == shape


def test_pack_segments_keeps_the_dtype_of_aligned_values_and_takes_dense_input():
    weights = pack_segments(tf.ragged.constant([[1.0, 0.0, 1.0]]), sequence_length=8, cls_token_id=0, sep_token_id=0,
                            pad_to_multiple=1)["token_ids"]
    assert weights.dtype == tf.float32 and weights.numpy().tolist() == [[0.0, 1.0, 0.0, 1.0, 0.0]]
    dense = pack_segments(tf.constant([[7, 8], [9, 10]]), sequence_length=4, cls_token_id=2, sep_token_id=3)["token_ids"]
    assert dense.numpy().tolist() == [[2, 7, 8, 3], [2, 9, 10, 3]]
    with pytest.raises(ValueError, match="at least 4 for pairs"):
        pack_segments(tf.constant([[7]]), tf.constant([[8]]), sequence_length=3, cls_token_id=2, sep_token_id=3)


def test_every_pipeline_takes_its_layout_from_pack_segments(tokenizer):
    specials = special_token_ids(tokenizer)
    texts, pairs = tf.constant(["the union is strong", "war"]), tf.constant(["the people", "of the states and"])
    sentences = encode_sentences(texts, tokenizer, 12)
    packed = pack_segments(tokenizer(texts), sequence_length=12, **specials)
    assert as_lists(sentences) == {k: v for k, v in as_lists(packed).items() if k != "segment_ids"}
    classified = encode_texts(texts, tokenizer, 9, text_pairs=pairs)
    packed = pack_segments(tokenizer(texts), tokenizer(pairs), sequence_length=9, pad_to_multiple=16, **specials)
    assert as_lists(classified) == as_lists(packed) and sum(map(sum, as_lists(packed)["segment_ids"])) > 0
    words = tf.ragged.constant([["the", "union"], ["war"]])
    features, labels, weights = encode_words(words, tf.ragged.constant([[1, 2], [3]]), tokenizer, 16)
    pieces = tf.ragged.constant([sum(tokenizer(tf.constant(w)).to_list(), []) for w in [["the", "union"], ["war"]]],
                                tf.int32)
    assert as_lists(features) == as_lists(pack_segments(pieces, sequence_length=16, pad_to_multiple=1, **specials))
    assert labels.numpy()[:, 0].tolist() == [0, 0] and weights.numpy()[1].tolist()[:3] == [0.0, 1.0, 0.0]


def test_block_packer_matches_its_numpy_twin():
    rows = [list(range(100 + 10 * i, 100 + 10 * i + n)) for i, n in enumerate([3, 9, 1, 14, 6, 2])]
    blocks = np.stack([b.numpy() for b in pack_token_sequences(ragged_dataset(rows), 7, 2, 3, blocks_per_call=2)])
    np.testing.assert_array_equal(blocks, pack_blocks(rows, 7, 2, 3))
