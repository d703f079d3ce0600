import keras
import numpy as np
import tensorflow as tf

from tests.helpers import run_model_saving_test
from tfssl.data.mlm_pipeline import masker_for_tokenizer, mlm_dataset
from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import MaskedLMPretrainer, masked_lm_loss


def small_pretrainer(vocabulary_size, **kwargs):
    backbone = EncoderBackbone(vocabulary_size, num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64,
                               sequence_length=64, **kwargs)
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


def test_fit_lowers_the_loss_and_beats_the_most_frequent_token(small_texts, tokenizer):
    keras.utils.set_random_seed(0)
    masker = masker_for_tokenizer(tokenizer, 64)
    train = mlm_dataset(small_texts[:8], tokenizer, masker, 64, 16, seed=0)
    model = small_pretrainer(tokenizer.vocabulary_size, dropout=0.0)
    model.compile(learning_rate=2e-3, warmup_steps=20, total_steps=300)
    history = model.fit(train.repeat(), steps_per_epoch=100, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 1.0
    # Baseline: always predicting the most frequent masked token.
    ids = np.concatenate([y.numpy()[w.numpy() > 0] for _, y, w in train.take(20)])
    baseline = np.bincount(ids).max() / len(ids)
    assert history["masked_accuracy"][-1] > baseline + 0.03, (history, baseline)


def test_keras_round_trip():
    model = small_pretrainer(50)
    x, _, _ = batch()
    restored = run_model_saving_test(model, x)
    assert isinstance(restored, MaskedLMPretrainer)
    assert restored.masked_lm_head.token_embedding is restored.backbone.token_embedding
