"""The language models' fused token cross-entropy and accuracy against Keras' own, values and gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfssl.losses.token_cross_entropy import TokenCrossEntropy, token_cross_entropy, token_hits
from tfssl.metrics.token_accuracy import TokenAccuracy


def random_logits(shape, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(0, 3, size=shape).astype("float32")), tf.constant(
        rng.integers(0, shape[-1], size=shape[:-1]).astype("int32"))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_values_and_gradients_equal_keras(jit_compile):
    logits, labels = random_logits((3, 5, 97))
    upstream = tf.random.stateless_uniform((3, 5), seed=[1, 2])

    def both(logits):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(logits)
            ours = token_cross_entropy(labels, logits)
            theirs = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            ours_total, theirs_total = tf.reduce_sum(ours * upstream), tf.reduce_sum(theirs * upstream)
        return ours, theirs, tape.gradient(ours_total, logits), tape.gradient(theirs_total, logits)

    ours, theirs, ours_grad, theirs_grad = tf.function(both, jit_compile=jit_compile)(logits)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours_grad.numpy(), theirs_grad.numpy(), atol=1e-6)
    assert ours.dtype == tf.float32 and ours.shape == (3, 5)


def test_half_precision_logits_are_computed_with_in_float32():
    logits, labels = random_logits((4, 50))
    half = tf.cast(logits, tf.bfloat16)
    ours = token_cross_entropy(labels, half)
    reference = keras.losses.sparse_categorical_crossentropy(labels, tf.cast(half, tf.float32), from_logits=True)
    assert ours.dtype == tf.float32
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5)


def test_large_logits_do_not_overflow():
    logits = tf.constant([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4]])
    loss = token_cross_entropy(tf.constant([0, 0]), logits).numpy()
    np.testing.assert_allclose(loss, [0.0, 2e4 + np.log(2.0)], rtol=1e-6)  # two labels share the top


def test_hits_and_accuracy_equal_argmax_accuracy():
    logits, labels = random_logits((6, 7, 31), seed=3)
    labels = tf.where(tf.random.stateless_uniform(labels.shape, seed=[0, 1]) < 0.5,
                      tf.argmax(logits, -1, output_type=tf.int32), labels)  # half of them right
    expected = (tf.argmax(logits, -1, output_type=tf.int32) == labels).numpy().astype("float32")
    np.testing.assert_array_equal(token_hits(labels, logits).numpy(), expected)
    weights = tf.cast(tf.random.stateless_uniform(labels.shape, seed=[5, 6]) < 0.7, tf.float32)
    ours, keras_accuracy = TokenAccuracy(), keras.metrics.SparseCategoricalAccuracy()
    ours.update_state(labels, logits, sample_weight=weights)
    keras_accuracy.update_state(labels, logits, sample_weight=weights)
    assert 0.2 < float(ours.result()) < 0.8
    assert float(ours.result()) == pytest.approx(float(keras_accuracy.result()), abs=1e-7)


def test_loss_and_metric_serialize():
    loss = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        TokenCrossEntropy(reduction="mean_with_sample_weight", name="masked_lm_loss")))
    assert (loss.name, loss.reduction) == ("masked_lm_loss", "mean_with_sample_weight")
    metric = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(TokenAccuracy(name="acc")))
    assert metric.name == "acc"
