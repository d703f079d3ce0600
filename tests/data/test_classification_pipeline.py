"""Labelled text -> features, value by value: special tokens, segments, round-robin trimming,
padding to multiples of 16, seeded shuffling, class weights."""

import numpy as np
import pytest
import tensorflow as tf

from tfssl.data.classification_pipeline import class_weights, classification_batches, encode_texts


def _ids(tokenizer, text):
    return tokenizer(tf.constant([text])).to_list()[0]


def test_single_texts_are_wrapped_and_padded_to_a_multiple_of_16(tokenizer):
    features = encode_texts(tf.constant(["the union", "the state of the union"]), tokenizer, 64)
    union, state = _ids(tokenizer, "the union"), _ids(tokenizer, "the state of the union")
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    token_ids = features["token_ids"].numpy()
    assert token_ids.shape == (2, 16) and token_ids.dtype == np.int32
    assert token_ids[0].tolist() == [cls] + union + [sep] + [pad] * (16 - len(union) - 2)
    assert token_ids[1].tolist()[: len(state) + 2] == [cls] + state + [sep]
    assert features["padding_mask"].numpy().sum(axis=1).tolist() == [len(union) + 2, len(state) + 2]
    assert features["segment_ids"].numpy().sum() == 0


def test_long_texts_are_truncated_to_sequence_length(tokenizer):
    text = " ".join(["the union"] * 50)
    features = encode_texts(tf.constant([text, "the"]), tokenizer, 40)
    token_ids = features["token_ids"].numpy()
    assert token_ids.shape == (2, 40)  # the multiple of 16 (48) is capped at sequence_length
    assert token_ids[0, -1] == tokenizer.sep_token_id and features["padding_mask"].numpy()[0].sum() == 40


def test_pairs_get_segments_and_round_robin_trimming(tokenizer):
    first, second = " ".join(["union"] * 30), "the state"
    features = encode_texts(tf.constant([first, "the"]), tokenizer, 20, text_pairs=tf.constant([second, "union"]))
    ids, segments = features["token_ids"].numpy(), features["segment_ids"].numpy()
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    state = _ids(tokenizer, second)
    # The long first text gives way; the short second text is kept whole.
    expected = [cls] + [_ids(tokenizer, "union")[0]] * (20 - 3 - len(state)) + [sep] + state + [sep]
    assert ids[0].tolist() == expected
    assert segments[0].tolist() == [0] * (20 - 1 - len(state)) + [1] * (len(state) + 1)
    the, union = _ids(tokenizer, "the"), _ids(tokenizer, "union")
    assert ids[1].tolist()[: 3 + len(the) + len(union)] == [cls] + the + [sep] + union + [sep]
    assert segments[1].tolist()[: 3 + len(the) + len(union)] == [0] * (2 + len(the)) + [1] * (len(union) + 1)


def test_batches_cover_every_example_once_per_epoch_in_a_seeded_order(tokenizer):
    texts = [f"text number {i}" for i in range(10)]
    targets = np.arange(10) % 2
    weights = np.array([1.0, 3.0], np.float32)

    def epoch_orders(dataset):
        orders = []
        for _ in range(2):
            seen = [w for _, y, w in dataset for w in zip(y.numpy().tolist(), w.numpy().tolist())]
            orders.append(seen)
        return orders

    a = classification_batches(texts, targets, tokenizer, 32, batch_size=4, weights=weights, seed=3)
    b = classification_batches(texts, targets, tokenizer, 32, batch_size=4, weights=weights, seed=3)
    first, second = epoch_orders(a)
    assert first == epoch_orders(b)[0]
    assert sorted(first) == sorted(second) and len(first) == 10
    assert all(w == weights[y] for y, w in first)
    tokens = [x["token_ids"].numpy() for x, _, _ in classification_batches(texts, targets, tokenizer, 32, 4,
                                                                               shuffle=False)]
    assert [t.shape[0] for t in tokens] == [4, 4, 2]
    assert _ids(tokenizer, texts[0]) == tokens[0][0, 1: 1 + len(_ids(tokenizer, texts[0]))].tolist()


def test_regression_targets_stay_float(tokenizer):
    dataset = classification_batches(["a", "b"], [0.5, 4.25], tokenizer, 16, 2, shuffle=False)
    _, y, w = next(iter(dataset))
    assert y.dtype == tf.float32 and y.numpy().tolist() == [0.5, 4.25] and w.numpy().tolist() == [1.0, 1.0]


def test_balanced_class_weights():
    weights = class_weights([0, 0, 0, 1], num_classes=3, mode="balanced")
    np.testing.assert_allclose(weights, [4 / (3 * 3), 4 / (3 * 1), 1.0])
    assert class_weights([0, 1], 2).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="balanced"):
        class_weights([0, 1], 2, mode="inverse")
