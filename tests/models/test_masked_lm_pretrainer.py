import keras
import numpy as np
import tensorflow as tf

from tests.helpers import run_model_saving_test
from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer, masked_lm_loss


def small_pretrainer(vocabulary_size, **kwargs):
    backbone = EncoderBackbone(vocabulary_size, num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64,
                               max_sequence_length=64, **kwargs)
    model = MaskedLMPretrainer(backbone)
    model.build()
    return model


def batch(vocabulary_size=50, seed=0):
    rng = np.random.default_rng(seed)
    x = {"token_ids": rng.integers(5, vocabulary_size, (4, 16)).astype("int32"),
         "padding_mask": np.ones((4, 16), "int32"),
         "mask_positions": rng.integers(1, 15, (4, 3)).astype("int32")}
    y = rng.integers(5, vocabulary_size, (4, 3)).astype("int32")
    w = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]], "float32")
    return x, y, w


def test_loss_is_mean_over_masked_tokens_and_perplexity_is_its_exp():
    model = small_pretrainer(50)
    x, y, w = batch()
    logits = model(x).numpy()
    ce = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True).numpy()
    expected = (ce * w).sum() / w.sum()  # not / (batch * slots)
    got = float(masked_lm_loss()(y, logits, sample_weight=w))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    metric = MaskedLMPerplexity()
    metric.update_state(y, logits, sample_weight=w)
    np.testing.assert_allclose(float(metric.result()), np.exp(expected), rtol=1e-5)


def test_output_projection_is_tied_to_the_token_embedding():
    model = small_pretrainer(50)
    names = [v.path for v in model.trainable_variables]
    assert sum("embeddings" in n and "token" in n for n in names) == 1
    assert not any("kernel" in n and "masked_lm_head" in n and v.shape[-1] == 50 for n, v in zip(names, model.trainable_variables))


def test_weight_decay_skips_layer_norm_and_biases():
    model = small_pretrainer(50)
    model.compile(total_steps=10)
    opt = model.optimizer
    decayed = [v.path for v in model.trainable_variables if opt._use_weight_decay(v)]
    assert decayed and not any(k in p for p in decayed for k in ("bias", "gamma", "beta"))
    assert any("token_embedding" in p for p in decayed)


def counting_batches(vocabulary_size=50, length=32, batch_size=32, seed=0):
    """Rows that count upwards (t, t+1, ...) mod 45: every masked token follows from its
    neighbours, so a model that reads context beats any context-free guess by far."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 45, 4096)
    rows = ((starts[:, None] + np.arange(length)[None]) % 45 + 5).astype("int32")
    from tfssl.layers.masked_lm_masker import MaskedLMMasker

    masker = MaskedLMMasker(vocabulary_size, 4, [0, 1, 2, 3, 4], max_predictions=5)

    def to_features(ids, batch_seed):
        out = masker(ids, seed=batch_seed)
        x = {"token_ids": out["token_ids"], "padding_mask": tf.ones_like(ids), "mask_positions": out["mask_positions"]}
        return x, out["mask_ids"], out["mask_weights"]

    ds = tf.data.Dataset.from_tensor_slices(rows).batch(batch_size, drop_remainder=True)
    return tf.data.Dataset.zip(ds, tf.data.Dataset.random(seed=seed).batch(2)).map(to_features).repeat()


def test_fit_lowers_the_loss_and_learns_from_context():
    keras.utils.set_random_seed(0)
    model = MaskedLMPretrainer(EncoderBackbone(50, 2, 2, 64, 128, max_sequence_length=32, dropout=0.0))
    model.compile(learning_rate=3e-3, warmup_steps=20, total_steps=500)
    history = model.fit(counting_batches(), steps_per_epoch=100, epochs=5, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    # Context-free baseline: 45 equally frequent tokens -> 1/45 accuracy.
    assert history["masked_accuracy"][-1] > 0.8, history


def test_keras_round_trip():
    model = small_pretrainer(50)
    x, _, _ = batch()
    restored = run_model_saving_test(model, x)
    assert isinstance(restored, MaskedLMPretrainer)
    assert restored.masked_lm_head.token_embedding is restored.backbone.token_embedding
