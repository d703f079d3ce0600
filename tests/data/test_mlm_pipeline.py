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


def test_resumable_stream_restarts_at_any_step_on_the_same_batches(tokenizer):
    """A run resumed at step s sees the batches an uninterrupted run sees from s on; every epoch
    is a fresh permutation of the blocks (each at most once), with fresh masks."""
    import tensorflow as tf

    from tfssl.data.mlm_pipeline import resumable_mask_batches, steps_per_epoch

    rows = np.random.default_rng(0).integers(5, tokenizer.vocabulary_size, (23, 16)).astype("int32")
    blocks = tf.data.Dataset.from_tensor_slices(rows)
    masker = masker_for_tokenizer(tokenizer, 16)
    assert steps_per_epoch(blocks, 4) == 5

    def batches(seed=3, start=0, count=15):
        out = []
        for x, y, w in resumable_mask_batches(blocks, masker, 4, seed=seed, start_step=start).take(count):
            ids, positions, y, w = x["token_ids"].numpy(), x["mask_positions"].numpy(), y.numpy(), w.numpy()
            original = ids.copy()
            for r in range(ids.shape[0]):
                original[r, positions[r][w[r] > 0]] = y[r][w[r] > 0]  # undo the masking
            out.append((ids, original))
        return out

    full = batches()
    for start in (1, 5, 7, 12):
        resumed = batches(start=start, count=15 - start)
        assert all((a[0] == b[0]).all() for a, b in zip(full[start:], resumed))
    known = {tuple(r) for r in rows}
    for epoch in range(3):
        seen = [tuple(r) for _, original in full[5 * epoch: 5 * epoch + 5] for r in original]
        assert len(set(seen)) == 20 and set(seen) <= known  # 20 distinct blocks of 23 per epoch
    assert [tuple(r) for r in full[0][1]] != [tuple(r) for r in full[5][1]]  # a new order each epoch
    assert not (batches(seed=4, count=1)[0][0] == full[0][0]).all()
