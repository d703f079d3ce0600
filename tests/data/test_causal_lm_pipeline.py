"""Causal-LM blocks, value by value: the stream, the shift, coverage, seeding, and errors."""

import numpy as np
import pytest

from tfssl.data.causal_lm_pipeline import lm_batches, num_blocks, token_stream
from tfssl.tokenizers.character_tokenizer import CharacterTokenizer


def as_lists(dataset):
    return [(x["token_ids"].numpy().tolist(), y.numpy().tolist()) for x, y in dataset]


def test_the_stream_puts_end_of_text_before_every_document():
    tokenizer = CharacterTokenizer.from_texts(["abc"])  # a=2 b=3 c=4, end of text 1
    assert token_stream(["ab", "", "cab"], tokenizer).tolist() == [1, 2, 3, 1, 1, 4, 2, 3]


def test_held_out_blocks_are_the_docstring_example():
    stream = [1, 5, 6, 1, 7, 8, 9]
    assert as_lists(lm_batches(stream, sequence_length=3, batch_size=2, training=False)) == [
        ([[1, 5, 6], [1, 7, 8]], [[5, 6, 1], [7, 8, 9]])
    ]


def test_a_training_pass_predicts_every_transition_once_and_passes_differ():
    stream = np.arange(1, 202, dtype=np.int32)  # 201 tokens: 50 blocks of 4 without offsets
    batches = lm_batches(stream, sequence_length=4, batch_size=5, seed=3, random_offset=False)
    first_pass = as_lists(batches.take(10))
    pairs = sorted((a, b) for x, y in first_pass for xr, yr in zip(x, y) for a, b in zip(xr, yr))
    assert pairs == [(i, i + 1) for i in range(1, 201)]
    assert all(b == a + 1 for x, y in first_pass for xr, yr in zip(x, y) for a, b in zip(xr, yr))
    second_pass = as_lists(batches.skip(10).take(10))
    assert second_pass != first_pass  # a new order every pass
    assert as_lists(lm_batches(stream, 4, 5, seed=3, random_offset=False).take(20)) == first_pass + second_pass


def test_random_offsets_move_block_boundaries_between_passes():
    stream = np.arange(1, 402, dtype=np.int32)
    per_pass = num_blocks(len(stream), 8, random_offset=True)
    batches = lm_batches(stream, sequence_length=8, batch_size=1, seed=0)
    starts = [x[0][0] for x, _ in as_lists(batches.take(per_pass * 6))]
    offsets = {(s - 1) % 8 for s in starts}
    assert len(offsets) > 1, offsets
    again = [x[0][0] for x, _ in as_lists(lm_batches(stream, 8, 1, seed=0).take(per_pass * 6))]
    assert again == starts  # seeded


def test_too_little_text_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than batch_size=8. Add text"):
        lm_batches(np.arange(40), sequence_length=16, batch_size=8)
    with pytest.raises(ValueError, match="No texts"):
        token_stream([], CharacterTokenizer.from_texts(["a"]))
