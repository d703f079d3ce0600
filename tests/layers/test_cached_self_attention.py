"""The one attention layer: contract, numerics against a NumPy reference, masks, and the cache
(also jit-compiled, as `TextGenerator(jit_compile_step=True)` runs it)."""

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_layer_test
from tfssl.layers.cached_self_attention import CachedSelfAttention

X = tf.random.stateless_normal((2, 6, 16), seed=[3, 4])
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], "int32")


def reference(layer, x, padding_mask=None, causal=False):
    """Plain NumPy multi-head attention with the layer's weights (BERT's additive mask)."""
    kernel, bias = layer.qkv_dense.get_weights()
    out_kernel, out_bias = layer.output_dense.get_weights()
    batch, length, width = x.shape
    heads, size = layer.num_heads, width // layer.num_heads
    qkv = (np.asarray(x) @ kernel + bias).reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
    scores = qkv[0] @ qkv[1].transpose(0, 1, 3, 2) / np.sqrt(size)  # (batch, heads, length, length)
    if padding_mask is not None:
        scores = scores + (1.0 - padding_mask)[:, None, None, :] * -1e9
    if causal:
        scores = np.where(np.tril(np.ones((length, length), bool)), scores, -1e9)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    context = (probs @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch, length, width)
    return context @ out_kernel + out_bias


def test_layer_contract():
    run_layer_test(CachedSelfAttention, dict(num_heads=2, hidden_dim=16, causal=True, rotary=True, dropout=0.1), X,
                   expected_output_shape=(2, 6, 16))
    run_layer_test(CachedSelfAttention, dict(num_heads=4, hidden_dim=16), (X, MASK))
    with pytest.raises(ValueError, match="divisible"):
        CachedSelfAttention(num_heads=3, hidden_dim=16)
    with pytest.raises(ValueError, match="even head size"):
        CachedSelfAttention(num_heads=2, hidden_dim=6, rotary=True)


@pytest.mark.parametrize("causal", [False, True])
def test_matches_numpy_attention_with_padding_and_causal_masks(causal):
    layer = CachedSelfAttention(num_heads=4, hidden_dim=16, causal=causal)
    np.testing.assert_allclose(layer(X, padding_mask=MASK), reference(layer, X, MASK, causal), atol=1e-5)
    np.testing.assert_allclose(layer(X), reference(layer, X, None, causal), atol=1e-5)


def test_padded_keys_change_nothing():
    layer = CachedSelfAttention(num_heads=2, hidden_dim=16)
    changed = tf.concat([X[:, :3], X[:, 3:] + 7.0], axis=1)
    np.testing.assert_allclose(layer(X, MASK)[1, :3], layer(changed, MASK)[1, :3], atol=1e-5)


@pytest.mark.parametrize("rotary", [False, True])
def test_cached_steps_equal_the_full_call_also_under_xla(rotary):
    layer = CachedSelfAttention(num_heads=2, hidden_dim=16, causal=True, rotary=rotary)
    full = layer(X)
    step = tf.function(lambda x, cache, index: layer(x, cache=cache, cache_index=index), jit_compile=True)
    cache = (tf.zeros((2, 2, 8, 8)), tf.zeros((2, 2, 8, 8)))  # room for 8 positions
    first, cache = layer(X[:, :2], cache=cache, cache_index=0)
    pieces = [first]
    for i in range(2, 6):
        out, cache = step(X[:, i : i + 1], cache, tf.constant(i))
        pieces.append(out)
    np.testing.assert_allclose(tf.concat(pieces, axis=1), full, atol=1e-5)
    assert float(tf.reduce_max(tf.abs(cache[0][:, :, 6:]))) == 0.0  # nothing written past position 5


def test_bidirectional_cache_hides_unwritten_slots():
    layer = CachedSelfAttention(num_heads=2, hidden_dim=16)
    cache = (tf.ones((2, 2, 8, 8)) * 5.0, tf.ones((2, 2, 8, 8)) * 5.0)  # garbage in the unwritten slots
    out, _ = layer(X, cache=cache, cache_index=0)
    np.testing.assert_allclose(out, layer(X), atol=1e-5)
