"""Greedy, temperature, top-k and top-p choices: exact cases, seeding, and the sampled distribution."""

import numpy as np
import pytest
import tensorflow as tf

from tfssl.models.token_sampling import sample_next_token, sampling_argument_errors

LOGITS = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]]))


def draw(temperature, top_k, top_p, n=2000):
    return np.stack([sample_next_token(LOGITS, temperature, top_k, top_p, tf.constant([7, i])).numpy() for i in range(n)])


def test_greedy_and_degenerate_filters_pick_the_argmax():
    assert sample_next_token(LOGITS, 0.0, 0, 1.0, tf.constant([0, 0])).numpy().tolist() == [0, 3]
    assert set(map(tuple, draw(1.0, 1, 1.0, 50))) == {(0, 3)}  # top_k=1
    assert set(map(tuple, draw(1.0, 0, 0.01, 50))) == {(0, 3)}  # top_p below the top token's mass


def test_temperature_one_samples_the_model_distribution():
    samples = draw(1.0, 0, 1.0)
    frequencies = np.bincount(samples[:, 0], minlength=4) / len(samples)
    np.testing.assert_allclose(frequencies, [0.5, 0.3, 0.15, 0.05], atol=0.04)


def test_top_k_and_top_p_keep_only_the_most_likely_tokens():
    assert set(draw(1.0, 2, 1.0, 300)[:, 0]) == {0, 1}
    # top_p=0.7: 0.5 + 0.3 reaches it, so tokens 0 and 1 stay, renormalised to 5:3.
    samples = draw(1.0, 0, 0.7)
    assert set(samples[:, 0]) == {0, 1} and set(samples[:, 1]) == {3, 2}
    np.testing.assert_allclose(np.mean(samples[:, 0] == 0), 0.5 / 0.8, atol=0.04)
    # Low temperature sharpens: nearly always the argmax.
    assert np.mean(draw(0.1, 0, 1.0, 300)[:, 0] == 0) > 0.98


def test_same_seed_same_tokens():
    a = [sample_next_token(LOGITS, 1.0, 0, 1.0, tf.constant([3, i])).numpy().tolist() for i in range(20)]
    b = [sample_next_token(LOGITS, 1.0, 0, 1.0, tf.constant([3, i])).numpy().tolist() for i in range(20)]
    assert a == b


@pytest.mark.parametrize("arguments,message", [
    ((0, 1.0, 0, 1.0), "max_new_tokens must be in \\[1, 63\\]"),
    ((64, 1.0, 0, 1.0), "max_new_tokens must be in"),
    ((10, -0.5, 0, 1.0), "temperature must be >= 0"),
    ((10, 1.0, -1, 1.0), "top_k must be >= 0"),
    ((10, 1.0, 0, 0.0), "top_p must be in \\(0, 1\\]"),
    ((10, 1.0, 0, 1.5), "top_p must be in \\(0, 1\\]"),
])
def test_argument_errors(arguments, message):
    errors = sampling_argument_errors(*arguments, sequence_length=64)
    assert len(errors) == 1 and pytest.importorskip("re").search(message, errors[0]), errors
    assert sampling_argument_errors(10, 0.0, 0, 1.0, 64) == []


def test_softmax_sample_draws_from_the_softmax_and_never_a_zero_mass_id():
    from tfssl.models.token_sampling import softmax_sample

    rng = np.random.default_rng(0)
    logits = (2 * rng.normal(size=(1, 300))).astype("float32")  # 300 ids: 3 blocks of 128, the last padded
    logits[0, 5] = -1e9
    draws = 100_000
    ids = softmax_sample(np.repeat(logits, draws, axis=0), rng.random((draws, 2)).astype("float32")).numpy()
    p = np.exp(logits[0] - logits[0].max())
    p /= p.sum()
    frequency = np.bincount(ids, minlength=300) / draws
    assert ids.min() >= 0 and ids.max() < 300 and frequency[5] == 0
    # Within 5 binomial standard deviations of every id's probability.
    assert np.all(np.abs(frequency - p) <= 5 * np.sqrt(p * (1 - p) / draws) + 1e-4)
