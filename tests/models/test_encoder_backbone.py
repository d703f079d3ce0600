import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_layer_test, run_model_saving_test
from tfssl.layers.hash_dropout import HashDropout
from tfssl.layers.masked_lm_head import MaskedLMHead
from tfssl.layers.token_and_position_embedding import TokenAndPositionEmbedding
from tfssl.layers.transformer_encoder_block import TransformerEncoderBlock
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.presets import ENCODER_PRESETS

V, L = 97, 12


def features(batch=3, length=L, seed=0):
    rng = np.random.default_rng(seed)
    return {"token_ids": rng.integers(0, V, (batch, length)).astype("int32"), "padding_mask": np.ones((batch, length), "int32")}


def test_layer_contracts():
    run_layer_test(TokenAndPositionEmbedding, dict(vocabulary_size=V, max_sequence_length=16, hidden_dim=8),
                   features()["token_ids"], expected_output_shape=(3, L, 8))
    x = np.random.default_rng(0).normal(size=(2, L, 16)).astype("float32")
    for norm_first, rotary in ((False, False), (True, True)):
        run_layer_test(TransformerEncoderBlock, dict(num_heads=2, hidden_dim=16, intermediate_dim=32, norm_first=norm_first,
                                                     rotary=rotary),
                       x, expected_output_shape=(2, L, 16))
    # HashDropout's contract (config, eager == graph, .keras): tests/test_keras_contract.py.


def test_hash_dropout_rate_scaling_and_fresh_masks():
    layer = HashDropout(0.1, seed=3)
    x = tf.ones((64, 128, 64))
    a, b = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    assert abs((a == 0).mean() - 0.1) < 0.003
    assert abs(a.mean() - 1.0) < 0.01
    assert 0.78 < (a == b).mean() < 0.86  # independent masks agree on 0.9^2 + 0.1^2
    np.testing.assert_array_equal(layer(x, training=False), x)


def test_presets_have_the_promised_sizes():
    assert {k: (v["num_layers"], v["hidden_dim"]) for k, v in ENCODER_PRESETS.items() if k != "medium"} == {
        "tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "base": (12, 768)}
    backbone = EncoderBackbone.from_preset("tiny", vocabulary_size=V, max_sequence_length=32)
    out = backbone(features())
    assert out["sequence_output"].shape == (3, L, 128) and out["pooled_output"].shape == (3, 128)
    with pytest.raises(ValueError, match="Unknown EncoderBackbone preset"):
        EncoderBackbone.from_preset("huge", vocabulary_size=V)


def test_padding_does_not_change_real_token_outputs():
    backbone = EncoderBackbone(V, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=32)
    f = features(batch=2, length=8)
    short = backbone(f)["sequence_output"].numpy()
    padded = {"token_ids": np.pad(f["token_ids"], [[0, 0], [0, 4]], constant_values=0),
              "padding_mask": np.pad(f["padding_mask"], [[0, 0], [0, 4]])}
    long = backbone(padded)["sequence_output"].numpy()
    np.testing.assert_allclose(short, long[:, :8], atol=1e-5)


def test_keras_round_trip_and_graph_call():
    backbone = EncoderBackbone(V, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=32, norm_first=True)
    f = features()
    eager = backbone(f)["sequence_output"]
    graph = tf.function(lambda x: backbone(x)["sequence_output"])(f)
    np.testing.assert_allclose(eager, graph, atol=1e-5)
    run_model_saving_test(backbone, f)


def test_head_logits_only_at_the_masked_positions():
    backbone = EncoderBackbone(V, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=32)
    backbone(features())
    head = MaskedLMHead(V, 16, token_embedding=backbone.token_embedding)
    sequence = backbone(features())["sequence_output"]
    positions = np.array([[1, 5], [0, 0], [11, 2]], "int32")
    logits = head(sequence, positions)
    assert logits.shape == (3, 2, V)
    full = head(sequence, np.tile(np.arange(L, dtype="int32"), (3, 1)))
    np.testing.assert_allclose(logits, np.take_along_axis(full.numpy(), positions[:, :, None], axis=1), atol=1e-5)
    with pytest.raises(ValueError, match="token_embedding"):
        MaskedLMHead(V, 16)(sequence, positions)


def test_rotary_scores_depend_only_on_relative_offsets():
    from tfssl.layers.cached_self_attention import apply_rotary

    rng = np.random.default_rng(0)
    q = np.tile(rng.normal(size=(1, 1, 1, 8)), (1, 1, 10, 1)).astype("float32")  # same vector at every position
    k = np.tile(rng.normal(size=(1, 1, 1, 8)), (1, 1, 10, 1)).astype("float32")
    scores = (apply_rotary(q).numpy() @ np.swapaxes(apply_rotary(k).numpy(), -1, -2))[0, 0]  # (10, 10)
    for offset in (-3, 0, 2):
        diagonal = np.diagonal(scores, offset)
        np.testing.assert_allclose(diagonal, diagonal[0], atol=1e-4)
    assert not np.allclose(np.diagonal(scores, 1)[0], np.diagonal(scores, 2)[0])
    np.testing.assert_allclose(np.linalg.norm(apply_rotary(q).numpy(), axis=-1), np.linalg.norm(q, axis=-1), rtol=1e-5)


def test_rotary_encoder_without_absolute_positions_round_trips():
    backbone = EncoderBackbone(V, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=32,
                               rotary=True, position_initializer="none")
    f = features()
    backbone(f)
    assert not any("position_embedding" in v.path for v in backbone.weights)
    run_model_saving_test(backbone, f)
    with pytest.raises(ValueError, match="even head size"):
        TransformerEncoderBlock(num_heads=2, hidden_dim=6, intermediate_dim=8, rotary=True)
