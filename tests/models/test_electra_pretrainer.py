import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.test_masked_lm_pretrainer import counting_batches
from tfssl.config import ConfigError, ElectraPretrainConfig
from tfssl.models.electra_pretrainer import ElectraPretrainer, generator_sizes, replace_at_slots
from tfssl.models.encoder_backbone import EncoderBackbone


def discriminator(vocabulary_size=50, **kwargs):
    return EncoderBackbone(vocabulary_size, num_layers=2, num_heads=2, hidden_dim=64, intermediate_dim=128,
                           max_sequence_length=32, dropout=0.0, **kwargs)


def test_replacements_land_exactly_at_the_used_slots():
    out = replace_at_slots(tf.constant([[2, 7, 8, 9], [2, 3, 4, 5]]), tf.constant([[1, 3, 0], [2, 0, 0]]),
                           tf.constant([[5, 6, 4], [11, 12, 13]]))
    np.testing.assert_array_equal(out, [[2, 5, 8, 6], [2, 3, 11, 5]])


def test_generator_is_narrower_and_shares_the_whole_embedding_layer():
    model = ElectraPretrainer(discriminator())
    model.build()
    assert model.generator_config == {"num_layers": 2, "num_heads": 1, "hidden_dim": 32, "intermediate_dim": 64}
    assert model.generator.embeddings is model.backbone.embeddings
    assert model.generator_head.token_embedding is model.backbone.token_embedding
    # One embedding table in the weights, projected from 64 down to the generator's 32.
    tables = [w for w in model.weights if w.path.endswith("token_embedding/embeddings")]
    assert len(tables) == 1 and model.generator.embeddings_projection.kernel.shape == (64, 32)


def test_sampling_replaces_tokens_and_the_labels_follow_the_samples():
    keras.utils.set_random_seed(0)
    model = ElectraPretrainer(discriminator(), seed=3)
    x, y, w = next(iter(counting_batches(50, batch_size=8)))
    out = model(x)
    sampled, positions = out["sampled_ids"].numpy(), x["mask_positions"].numpy()
    assert out["replaced_logits"].shape == x["token_ids"].shape
    # An untrained generator samples nearly uniformly over 50 tokens: most used slots get another token.
    replaced = (sampled != y.numpy()) & (w.numpy() > 0)
    assert replaced.sum() > 0.8 * (w.numpy() > 0).sum()
    assert model(x)["sampled_ids"].numpy().tolist() != sampled.tolist()  # a new draw per call
    loss = model.compute_loss(x, y, out, w)
    assert float(model.replaced_fraction.result()) == pytest.approx(replaced.sum() / x["padding_mask"].numpy().sum())
    generator, detection = model.generator_loss_tracker.result(), model.replaced_loss_tracker.result()
    assert float(loss) == pytest.approx(float(generator) + 10.0 * float(detection), rel=1e-5)
    assert positions.shape == sampled.shape


def test_fit_trains_the_generator_through_the_shared_embeddings_and_its_samples_set_the_labels():
    keras.utils.set_random_seed(0)
    # lambda = 1: at toy scale the paper's 50 leaves the generator's share of the shared embeddings to starve.
    model = ElectraPretrainer(discriminator(), replaced_token_weight=1.0, seed=0)
    model.compile(learning_rate=3e-3, warmup_steps=20, total_steps=300)
    history = model.fit(counting_batches(50, length=16), steps_per_epoch=100, epochs=3, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0], history
    # Counting sequences: a context-free guess gets 1/45; the generator reads the context.
    assert history["masked_accuracy"][-1] > 0.3, history
    # A better generator replaces fewer of the masked tokens: the labels follow its samples.
    assert history["replaced_fraction"][-1] < history["replaced_fraction"][0] - 0.01, history


def test_keras_round_trip_keeps_the_sharing_and_the_samples(tmp_path):
    model = ElectraPretrainer(discriminator(), generator_sizes(discriminator(), 0.25), seed=1)
    model.build()
    x, _, _ = next(iter(counting_batches(50, batch_size=4)))
    model.save(tmp_path / "electra.keras")
    restored = keras.saving.load_model(tmp_path / "electra.keras")
    assert isinstance(restored, ElectraPretrainer) and restored.generator_config == model.generator_config
    assert restored.generator.embeddings is restored.backbone.embeddings
    for m in (model, restored):  # the same sampling state: the same replacements
        m.seed_generator.state.assign(tf.constant([1, 0], m.seed_generator.state.dtype))
    expected, got = model(x), restored(x)
    np.testing.assert_array_equal(expected["sampled_ids"], got["sampled_ids"])
    for key in ("generator_logits", "replaced_logits"):
        np.testing.assert_allclose(expected[key], got[key], atol=1e-6)


def test_bad_settings_fail_before_any_training():
    backbone = discriminator()
    with pytest.raises(ValueError, match="larger than the discriminator.*hidden_dim 128 > 64"):
        ElectraPretrainer(backbone, {"num_layers": 2, "num_heads": 2, "hidden_dim": 128, "intermediate_dim": 128})
    with pytest.raises(ValueError, match="vocabulary .60 tokens. does not match the discriminator's .50."):
        ElectraPretrainer(backbone, {**generator_sizes(backbone), "vocabulary_size": 60})
    for weight in (0, -1.0):
        with pytest.raises(ValueError, match="replaced_token_weight must be > 0"):
            ElectraPretrainer(backbone, replaced_token_weight=weight)
    with pytest.raises(ValueError, match="generator size must be in"):
        generator_sizes(backbone, 1.5)
    with pytest.raises(ConfigError, match="generator_size must be in"):
        ElectraPretrainConfig(generator_size=2.0).validate()
    with pytest.raises(ConfigError, match="replaced_token_weight must be > 0"):
        ElectraPretrainConfig(replaced_token_weight=0).validate()


def test_embedding_dim_projects_to_the_hidden_width():
    backbone = discriminator(embedding_dim=16)
    backbone.build()
    assert backbone.token_embedding.embeddings.shape == (50, 16)
    out = backbone({"token_ids": np.full((2, 8), 7, "int32")})["sequence_output"]
    assert out.shape == (2, 8, 64)
    restored = EncoderBackbone.from_config(backbone.get_config())
    assert restored.embedding_dim == 16 and "shared_embeddings" not in backbone.get_config()
