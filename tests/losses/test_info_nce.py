"""InfoNCE: value against a NumPy reference, and MirroredStrategy on 2 logical CPUs with
batch B per replica equal (loss and gradients, 1e-5) to one device with batch 2B."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tfssl.losses.info_nce import info_nce_loss


def reference(q, k, n=None, temperature=0.05, weight=0.0):
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    logits = q @ k.T / temperature
    if n is not None:
        n = n / np.linalg.norm(n, axis=1, keepdims=True)
        logits = np.concatenate([logits, q @ n.T / temperature + weight], axis=1)
    logits = logits - logits.max(axis=1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(q)), np.arange(len(q))]


def test_matches_numpy_reference():
    rng = np.random.default_rng(0)
    q, k, n = (rng.normal(size=(6, 8)).astype("float32") for _ in range(3))
    np.testing.assert_allclose(info_nce_loss(q, k, temperature=0.1), reference(q, k, temperature=0.1), rtol=1e-5)
    np.testing.assert_allclose(info_nce_loss(q, k, n, temperature=0.05, hard_negative_weight=0.5),
                               reference(q, k, n, 0.05, 0.5), rtol=1e-4)
    # Identical pairs far apart from each other: near-zero loss.
    eye = np.eye(6, 8, dtype="float32")
    assert float(tf.reduce_max(info_nce_loss(eye, eye))) < 1e-6


SCRIPT = r"""
import json
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfssl.losses.info_nce import info_nce_loss

rng = np.random.default_rng(0)
x = rng.normal(size=(8, 5)).astype("float32")        # 2 replicas x B=4
noisy = rng.normal(size=(8, 5)).astype("float32")
negatives = rng.normal(size=(8, 5)).astype("float32")
w0 = rng.normal(size=(5, 6)).astype("float32")

def run(strategy):
    with strategy.scope():
        w = tf.Variable(w0)
    def step(x, noisy, negatives):
        with tf.GradientTape() as tape:
            losses = info_nce_loss(x @ w, (x + 0.3 * noisy) @ w, negatives @ w, temperature=0.1)
            loss = tf.reduce_sum(losses) / 8.0     # mean over the global batch of 8
        return loss, tape.gradient(loss, w)
    replicas = strategy.num_replicas_in_sync
    dataset = tf.data.Dataset.from_tensor_slices((x, noisy, negatives)).batch(8)  # global batch: B=4 per replica on 2
    dist = strategy.experimental_distribute_dataset(dataset)
    loss_sum, grad_sum = 0.0, 0.0
    for batch in dist:
        loss, grad = strategy.run(tf.function(step), args=batch)
        loss_sum += strategy.reduce("SUM", loss, axis=None).numpy()
        grad_sum += strategy.reduce("SUM", grad, axis=None).numpy()
    return float(loss_sum), grad_sum.tolist(), replicas

one = run(tf.distribute.OneDeviceStrategy("/cpu:0"))
two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
print(json.dumps({"one": one, "two": two}))
"""


def test_mirrored_two_replicas_equal_one_device_with_twice_the_batch():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    (loss_one, grad_one, r1), (loss_two, grad_two, r2) = result["one"], result["two"]
    assert (r1, r2) == (1, 2)
    assert abs(loss_one - loss_two) < 1e-5
    np.testing.assert_allclose(grad_two, grad_one, atol=1e-5)
    assert np.abs(grad_one).max() > 1e-3  # the gradients are not trivially zero


def test_keras_layer_matches_the_function_and_round_trips():
    from tests.helpers import run_layer_test
    from tfssl.losses.info_nce import InfoNCE

    rng = np.random.default_rng(1)
    q, k, n = (rng.normal(size=(5, 8)).astype("float32") for _ in range(3))
    layer = run_layer_test(InfoNCE, {"temperature": 0.1, "hard_negative_weight": 0.2}, (q, k, n), expected_output_shape=(5,))
    np.testing.assert_allclose(layer(q, k, n), reference(q, k, n, 0.1, 0.2), rtol=1e-4)


def test_queue_negatives_and_unfilled_slots():
    rng = np.random.default_rng(2)
    q, k = (rng.normal(size=(4, 8)).astype("float32") for _ in range(2))
    queue = rng.normal(size=(6, 8)).astype("float32")
    valid = np.array([True, True, True, False, False, False])
    expected = reference(q, np.concatenate([k, queue[:3]]), temperature=0.1)
    np.testing.assert_allclose(info_nce_loss(q, k, temperature=0.1, queue=queue, queue_valid=valid), expected, rtol=1e-4)
