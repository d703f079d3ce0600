import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_layer_test
from tfssl.data.mlm_pipeline import masker_for_tokenizer, packed_blocks
from tfssl.layers.masked_lm_masker import MaskedLMMasker

SEQ = 128


@pytest.fixture(scope="module")
def blocks(small_texts, tokenizer):
    """(200, 128) real packed token blocks: 25,600 tokens."""
    ds = packed_blocks(small_texts[:10], tokenizer, SEQ).batch(200).take(1)
    return next(iter(ds))


def mask(masker, blocks, seed=(1, 2)):
    return {k: v.numpy() for k, v in masker(blocks, seed=tf.constant(seed, tf.int64)).items()}


def test_selection_rate_and_80_10_10_split(tokenizer, blocks):
    masker = masker_for_tokenizer(tokenizer, SEQ)
    out = mask(masker, blocks)
    original = blocks.numpy()
    special = np.isin(original, tokenizer.special_token_ids)
    candidates = (~special).sum()
    weights = out["mask_weights"]
    chosen = int(weights.sum())
    assert candidates >= 10_000
    assert abs(chosen / candidates - 0.15) <= 0.01
    rows = np.arange(len(original))[:, None].repeat(masker.max_predictions, 1)
    new = out["token_ids"][rows, out["mask_positions"]][weights > 0]
    old = out["mask_ids"][weights > 0]
    np.testing.assert_array_equal(old, original[rows, out["mask_positions"]][weights > 0])
    to_mask = (new == tokenizer.mask_token_id).mean()
    kept = (new == old).mean()
    random_ = 1 - to_mask - kept
    assert abs(to_mask - 0.8) <= 0.02 and abs(kept - 0.1) <= 0.02 and abs(random_ - 0.1) <= 0.02
    # Outside the chosen slots nothing changes.
    changed = out["token_ids"] != original
    chosen_map = np.zeros_like(changed)
    chosen_map[rows[weights > 0], out["mask_positions"][weights > 0]] = True
    assert not (changed & ~chosen_map).any()


def test_special_and_padding_tokens_are_never_selected(tokenizer, blocks):
    padded = tf.concat([blocks[:, :100], tf.fill([blocks.shape[0], 28], tokenizer.pad_token_id)], axis=1)
    masker = masker_for_tokenizer(tokenizer, SEQ)
    for seed in range(5):
        out = mask(masker, padded, (seed, 0))
        picked = padded.numpy()[np.arange(len(padded))[:, None], out["mask_positions"]][out["mask_weights"] > 0]
        assert not np.isin(picked, tokenizer.special_token_ids).any()
        assert out["mask_positions"][out["mask_weights"] > 0].max() < 100
        # Random replacements are never special tokens either.
        assert not np.isin(out["token_ids"], [tokenizer.cls_token_id]).sum() > padded.shape[0]


def test_whole_word_masking_is_all_or_none(tokenizer, blocks):
    masker = masker_for_tokenizer(tokenizer, SEQ, whole_word_masking=True)
    out = mask(masker, blocks)
    ids = blocks.numpy()
    continuation = np.array(tokenizer.continuation_token_mask)[ids]
    chosen = np.zeros_like(ids, dtype=bool)
    w = out["mask_weights"] > 0
    chosen[np.arange(len(ids))[:, None].repeat(masker.max_predictions, 1)[w], out["mask_positions"][w]] = True
    special = np.isin(ids, tokenizer.special_token_ids)
    multi_piece_words = 0
    for r in range(len(ids)):
        start = None
        for c in range(SEQ + 1):
            is_start = c == SEQ or special[r, c] or not continuation[r, c]
            if is_start and start is not None:
                word = chosen[r, start:c]
                assert word.all() or not word.any(), (r, start, c)
                multi_piece_words += int(word.all() and c - start > 1)
            if c < SEQ and not special[r, c] and not continuation[r, c]:
                start = c
            elif c < SEQ and special[r, c]:
                start = None
    assert multi_piece_words > 20  # the test saw real multi-piece words chosen whole
    rate = chosen.sum() / (~special).sum()
    assert 0.13 <= rate <= 0.16


def test_same_seed_same_mask_new_seed_new_mask(tokenizer, blocks):
    masker = masker_for_tokenizer(tokenizer, SEQ)
    a, b, c = mask(masker, blocks, (3, 4)), mask(masker, blocks, (3, 4)), mask(masker, blocks, (3, 5))
    np.testing.assert_array_equal(a["token_ids"], b["token_ids"])
    assert (a["mask_positions"] != c["mask_positions"]).mean() > 0.5


def test_layer_contract_and_static_shapes(tokenizer, blocks):
    kwargs = dict(vocabulary_size=tokenizer.vocabulary_size, mask_token_id=tokenizer.mask_token_id,
                  special_token_ids=tokenizer.special_token_ids, max_predictions=19)
    run_layer_test(MaskedLMMasker, kwargs, blocks[:4], call_kwargs={"seed": tf.constant([1, 1], tf.int64)})
    fn = tf.function(lambda x: MaskedLMMasker(**kwargs)(x, seed=tf.constant([0, 0], tf.int64)))
    out = fn.get_concrete_function(tf.TensorSpec([32, SEQ], tf.int32)).structured_outputs
    assert out["mask_positions"].shape.as_list() == [32, 19]
    assert out["token_ids"].shape.as_list() == [32, SEQ]


def test_bad_arguments_are_rejected(tokenizer):
    with pytest.raises(ValueError, match="mask_selection_rate"):
        MaskedLMMasker(100, 4, [0], mask_selection_rate=1.5)
    with pytest.raises(ValueError, match="sum to at most 1"):
        MaskedLMMasker(100, 4, [0], mask_token_rate=0.9, random_token_rate=0.2)
    with pytest.raises(ValueError, match="continuation_token_mask"):
        MaskedLMMasker(100, 4, [0], whole_word_masking=True)
