import numpy as np
import pytest
import tensorflow as tf

from tfssl.data.packing import pack_token_sequences, tokenize_documents


def ragged_dataset(rows):
    return tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=tf.TensorSpec([None], tf.int32))


def test_docstring_example():
    out = list(pack_token_sequences(ragged_dataset([[7, 8, 9], [10, 11]]), 5, cls_id=2, sep_id=3))
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
