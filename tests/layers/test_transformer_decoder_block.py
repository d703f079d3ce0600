"""The causal block: output shape, causality, and cached calls equal to full ones."""

import numpy as np
import tensorflow as tf

from tfssl.layers.transformer_decoder_block import TransformerDecoderBlock

X = tf.random.stateless_normal((2, 7, 32), seed=[1, 2])


def test_output_shape():
    # Config, eager == graph and the .keras round trip: tests/test_keras_contract.py.
    assert TransformerDecoderBlock(num_heads=4, hidden_dim=32, intermediate_dim=64)(X).shape == (2, 7, 32)


def test_no_position_sees_the_future():
    block = TransformerDecoderBlock(4, 32, 64, rotary=True)
    changed = tf.concat([X[:, :4], X[:, 4:] + 5.0], axis=1)  # edit positions 4..6 only
    np.testing.assert_allclose(block(X)[:, :4], block(changed)[:, :4], atol=1e-5)
    assert not np.allclose(block(X)[:, 4:], block(changed)[:, 4:], atol=1e-3)


def test_cached_chunks_equal_one_full_call():
    for rotary in (False, True):
        block = TransformerDecoderBlock(4, 32, 64, rotary=rotary)
        full = block(X)
        cache = (tf.zeros((2, 4, 10, 8)), tf.zeros((2, 4, 10, 8)))  # keys, values: room for 10 positions
        first, cache = block(X[:, :3], cache=cache, cache_index=0)
        second, cache = block(X[:, 3:5], cache=cache, cache_index=3)
        steps = [block(X[:, i : i + 1], cache=cache, cache_index=i) for i in (5,)]
        third, cache = steps[0]
        fourth, cache = block(X[:, 6:7], cache=cache, cache_index=6)
        np.testing.assert_allclose(tf.concat([first, second, third, fourth], axis=1), full, atol=1e-5)
        assert float(tf.reduce_max(tf.abs(cache[0][:, :, 7:]))) == 0.0  # nothing written past position 6
