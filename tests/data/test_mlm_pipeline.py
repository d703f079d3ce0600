import numpy as np
import pytest

from tfssl.data.mlm_pipeline import default_max_predictions, mask_batches, masker_for_tokenizer, mlm_dataset, packed_blocks

SEQ, BATCH = 64, 8


@pytest.fixture(scope="module")
def texts(small_texts):
    return small_texts[:3]


def epochs(dataset, n=2):
    return [[(x["token_ids"].numpy(), y.numpy(), w.numpy(), x["mask_positions"].numpy()) for x, y, w in dataset] for _ in range(n)]


def test_batches_have_static_shapes_and_labels_are_the_original_tokens(texts, tokenizer):
    blocks = packed_blocks(texts, tokenizer, SEQ)
    masker = masker_for_tokenizer(tokenizer, SEQ)
    ds = mask_batches(blocks, masker, BATCH, seed=0, shuffle=False)
    x_spec, y_spec, w_spec = ds.element_spec
    slots = default_max_predictions(SEQ)
    assert x_spec["token_ids"].shape.as_list() == [BATCH, SEQ]
    assert x_spec["mask_positions"].shape.as_list() == [BATCH, slots]
    assert y_spec.shape.as_list() == [BATCH, slots] and w_spec.shape.as_list() == [BATCH, slots]
    originals = np.stack([b.numpy() for b in blocks.take(BATCH)])
    x, y, w = next(iter(ds))
    got = np.take_along_axis(originals, x["mask_positions"].numpy(), axis=1)
    np.testing.assert_array_equal(got[w.numpy() > 0], y.numpy()[w.numpy() > 0])
    assert (x["padding_mask"].numpy() == 1).all()  # packed: no padding


def test_new_mask_every_epoch_and_same_seed_same_batches(texts, tokenizer):
    masker = masker_for_tokenizer(tokenizer, SEQ)
    a = epochs(mlm_dataset(texts, tokenizer, masker, SEQ, BATCH, seed=7))
    b = epochs(mlm_dataset(texts, tokenizer, masker, SEQ, BATCH, seed=7))
    c = epochs(mlm_dataset(texts, tokenizer, masker, SEQ, BATCH, seed=8), n=1)
    for ea, eb in zip(a, b):  # same seed: identical, epoch by epoch
        for ba, bb in zip(ea, eb):
            for u, v in zip(ba, bb):
                np.testing.assert_array_equal(u, v)
    first, second = a
    assert len(first) == len(second) > 3
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(first, second))  # masks (and order) differ
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(first, c[0]))


def test_same_blocks_new_masks_across_epochs_without_shuffle(texts, tokenizer):
    blocks = packed_blocks(texts, tokenizer, SEQ)
    ds = mask_batches(blocks, masker_for_tokenizer(tokenizer, SEQ), BATCH, seed=1, shuffle=False)
    first, second = epochs(ds)
    assert any(not np.array_equal(p[3], q[3]) for p, q in zip(first, second))
    held_out = mask_batches(blocks, masker_for_tokenizer(tokenizer, SEQ), BATCH, seed=1, shuffle=False, new_mask_each_epoch=False)
    first, second = epochs(held_out)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(first, second))


def test_too_little_text_is_a_clear_error(tokenizer):
    with pytest.raises(ValueError, match="fewer than 62 tokens"):
        packed_blocks(["just a few words"], tokenizer, SEQ)
    with pytest.raises(ValueError, match="batch_size"):
        mlm_dataset(["word " * 200], tokenizer, masker_for_tokenizer(tokenizer, SEQ), SEQ, 64)
    with pytest.raises(ValueError, match="empty"):
        packed_blocks([], tokenizer, SEQ)
