"""TextClassifier: shapes for both tasks, `.keras` round trip, a frozen backbone stays fixed,
and a classifier really learns a task from random initialisation."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_model_saving_test
from tfssl.data.classification_pipeline import classification_batches, encode_texts
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.text_classifier import TextClassifier


def _backbone(vocabulary_size, **kwargs):
    return EncoderBackbone(vocabulary_size, num_layers=1, num_heads=2, hidden_dim=32, intermediate_dim=64,
                           max_sequence_length=64, dropout=0.0, **kwargs)


@pytest.mark.parametrize("task,num_classes,shape", [("classification", 3, (2, 3)), ("regression", 1, (2,))])
def test_outputs_and_keras_round_trip(tokenizer, task, num_classes, shape):
    model = TextClassifier(_backbone(tokenizer.vocabulary_size), num_classes, task=task, pooling="cls")
    features = encode_texts(tf.constant(["the union is strong", "war"]), tokenizer, 32, tf.constant(["a", "b"]))
    assert tuple(model(features).shape) == shape
    restored = run_model_saving_test(model, features)
    assert restored.task == task and restored.pooling == "cls"


def test_bad_arguments_are_errors(tokenizer):
    backbone = _backbone(tokenizer.vocabulary_size)
    with pytest.raises(ValueError, match="at least two classes"):
        TextClassifier(backbone, 1)
    with pytest.raises(ValueError, match="one score"):
        TextClassifier(backbone, 2, task="regression")
    with pytest.raises(ValueError, match="task must be"):
        TextClassifier(backbone, 2, task="ranking")


def _word_task(n, seed):
    """Texts about war (class 1) or trade (class 0), the class word among neutral words."""
    rng = np.random.default_rng(seed)
    filler = ["the", "of", "and", "congress", "people", "year", "public", "government"]
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        words = list(rng.choice(filler, 6))
        words.insert(int(rng.integers(0, 7)), rng.choice(["war", "army", "navy"] if label else ["trade", "commerce", "tariff"]))
        texts.append(" ".join(words))
    return texts, labels


def test_a_classifier_learns_from_scratch_and_a_frozen_backbone_stays_fixed(tokenizer):
    texts, labels = _word_task(256, seed=0)
    test_texts, test_labels = _word_task(200, seed=1)
    results = {}
    for frozen in (False, True):
        tf.keras.utils.set_random_seed(0)
        model = TextClassifier(_backbone(tokenizer.vocabulary_size), 2, dropout=0.0, freeze_backbone=frozen)
        model.build()
        before = [w.numpy().copy() for w in model.backbone.weights]
        head_before = model.head.kernel.numpy().copy()
        model.compile(learning_rate=3e-3, warmup_steps=5, total_steps=160, jit_compile=False)
        history = model.fit(classification_batches(texts, labels, tokenizer, 32, 16, seed=0), epochs=10, verbose=0)
        predictions = np.argmax(model.predict(encode_texts(tf.constant(test_texts), tokenizer, 32), verbose=0), -1)
        results[frozen] = float(np.mean(predictions == test_labels))
        changed = [not np.array_equal(a, w.numpy()) for a, w in zip(before, model.backbone.weights)]
        assert not np.array_equal(head_before, model.head.kernel.numpy())
        if frozen:
            assert not any(changed) and len(model.trainable_weights) == 2  # head kernel and bias
        else:
            assert all(changed[:2]), changed
            losses = history.history["loss"]
            assert losses[-1] < 0.5 * losses[0], losses
    assert results[False] > 0.9, results  # chance is 0.5
    assert results[True] < results[False], results


def test_frozen_token_embeddings_stay_fixed_while_the_layers_train(tokenizer):
    texts, labels = _word_task(64, seed=0)
    model = TextClassifier(_backbone(tokenizer.vocabulary_size), 2, freeze_token_embeddings=True)
    model.build()
    table = model.backbone.token_embedding.embeddings.numpy().copy()
    block = model.backbone.blocks[0].weights[0].numpy().copy()
    model.compile(learning_rate=3e-3, total_steps=8, jit_compile=False)
    model.fit(classification_batches(texts, labels, tokenizer, 32, 16, seed=0), epochs=2, verbose=0)
    np.testing.assert_array_equal(table, model.backbone.token_embedding.embeddings.numpy())
    assert not np.array_equal(block, model.backbone.blocks[0].weights[0].numpy())
    assert TextClassifier.from_config(model.get_config()).backbone.token_embedding.trainable is False


MIRRORED_SCRIPT = r"""
import json
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tests.models.test_text_classifier import _backbone, _word_task
from tfssl.data.classification_pipeline import classification_batches, encode_texts
from tfssl.models.text_classifier import TextClassifier
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from tfssl.training.strategy import choose_strategy

words = "the of and congress people year public government war army navy trade commerce tariff".split()
tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words)
texts, labels = _word_task(96, seed=0)
out = {}
for name in ("one_device", "mirrored"):
    strategy = choose_strategy(name)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = TextClassifier(_backbone(tokenizer.vocabulary_size), 2, dropout=0.0)
        model.build()
        model.compile(learning_rate=1e-3, warmup_steps=2, total_steps=24, jit_compile=False)
    batches = classification_batches(texts, labels, tokenizer, 32, 8, seed=0, drop_remainder=True,
                                     weights=np.array([1.0, 2.0], np.float32))
    history = model.fit(batches, epochs=2, verbose=0).history
    out[name] = {"loss": history["loss"], "replicas": strategy.num_replicas_in_sync,
                 "logits": model(encode_texts(tf.constant(texts[:8]), tokenizer, 32)).numpy().ravel().tolist()}
print(json.dumps(out))
"""


def test_mirrored_on_two_cpus_fine_tunes_like_one_device():
    """Global batch 8 as 2 replicas x 4 (class-weighted) gives the one-device losses and logits:
    fine-tuning under `MirroredStrategy` is the same computation (a fresh process: logical devices
    must be set before TensorFlow starts). To 1e-3 after 24 steps: two half-batch gradient sums
    differ from one in the last bits, and Adam scales near-zero gradients (the attention key bias's
    true gradient is zero) up to full steps; a loss scaled per replica, or clipping per replica,
    is off by far more."""
    import json
    import subprocess
    import sys

    from tests.helpers import FRESH_ENV

    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True, env=FRESH_ENV,
                          timeout=600, cwd=os.path.join(os.path.dirname(__file__), "..", ".."))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    one, mirrored = result["one_device"], result["mirrored"]
    assert (one["replicas"], mirrored["replicas"]) == (1, 2)
    np.testing.assert_allclose(one["loss"], mirrored["loss"], atol=1e-3)
    np.testing.assert_allclose(one["logits"], mirrored["logits"], atol=2e-3)
