"""The GPT decoder: presets, tied output projection, cache equivalence, `.keras` round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_model_saving_test
from tfssl.models.causal_lm_pretrainer import CausalLMPretrainer
from tfssl.models.decoder_backbone import DecoderBackbone

IDS = tf.constant(np.random.default_rng(0).integers(0, 97, (3, 12)), tf.int32)


@pytest.mark.parametrize("rotary", [False, True])
def test_incremental_decoding_with_the_cache_equals_the_full_pass(rotary):
    backbone = DecoderBackbone.from_preset("tiny", vocabulary_size=97, max_sequence_length=16, rotary=rotary)
    full = backbone.token_logits(backbone({"token_ids": IDS})["sequence_output"])  # (3, 12, 97)
    cache = backbone.empty_cache(3, 16)
    hidden, cache = backbone.call_with_cache(IDS[:, :5], cache, 0)
    pieces = [backbone.token_logits(hidden)]
    for i in range(5, 12):
        hidden, cache = backbone.call_with_cache(IDS[:, i : i + 1], cache, i)
        pieces.append(backbone.token_logits(hidden))
    np.testing.assert_allclose(tf.concat(pieces, axis=1), full, atol=1e-4)


def test_output_projection_is_tied_and_sizes_follow_the_preset():
    backbone = DecoderBackbone.from_preset("nanogpt_char", vocabulary_size=65, max_sequence_length=64)
    model = CausalLMPretrainer(backbone)
    model.build()
    # nanoGPT's count for this recipe (bias=False) is 0.80M; biases add 4 x (3 + 1 + 4 + 1) x 128.
    assert model.count_params() == backbone.count_params()  # no separate output matrix
    per_block = 128 * 384 + 384 + 128 * 128 + 128 + 128 * 512 + 512 + 512 * 128 + 128 + 4 * 128
    assert backbone.count_params() == 65 * 128 + 64 * 128 + 4 * per_block + 2 * 128
    with pytest.raises(ValueError, match="Unknown DecoderBackbone preset"):
        DecoderBackbone.from_preset("huge", vocabulary_size=10)


def test_keras_round_trip():
    model = CausalLMPretrainer(DecoderBackbone.from_preset("tiny", vocabulary_size=97, max_sequence_length=16, rotary=True))
    model.build()
    restored = run_model_saving_test(model, {"token_ids": IDS})
    assert isinstance(restored.backbone, DecoderBackbone) and restored.backbone.rotary
    assert keras.saving.serialize_keras_object(restored.backbone)["config"] == model.backbone.get_config()
