"""The default AdamW: warmup schedule, no weight decay on LayerNorm and biases, global clipping."""

import keras
import numpy as np

from tfssl.optimizers import NO_DECAY_NAMES, GlobalClipAdamW, WarmupDecay, adamw_with_warmup


def test_settings_and_schedule():
    optimizer = adamw_with_warmup(1e-3, warmup_steps=10, total_steps=100, weight_decay=0.1, beta_2=0.99)
    schedule = optimizer._learning_rate  # (`learning_rate` is the current value)
    assert isinstance(optimizer, GlobalClipAdamW) and isinstance(schedule, WarmupDecay)
    assert (optimizer.weight_decay, optimizer.beta_2, optimizer.global_clipnorm) == (0.1, 0.99, 1.0)
    np.testing.assert_allclose([float(schedule(10)), float(schedule(100))], [1e-3, 0.0], atol=1e-9)


def test_no_weight_decay_on_layer_norm_and_biases():
    optimizer = adamw_with_warmup(1.0, warmup_steps=0, total_steps=10, weight_decay=0.5)
    kernel = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    bias = keras.Variable(np.ones((2,), "float32"), name="bias")
    gamma = keras.Variable(np.ones((2,), "float32"), name="gamma")
    assert {"bias", "gamma", "layer_norm"} <= set(NO_DECAY_NAMES)
    optimizer.apply([np.zeros((2, 2), "float32"), np.zeros((2,), "float32"), np.zeros((2,), "float32")],
                    [kernel, bias, gamma])
    assert np.all(kernel.numpy() < 1.0)  # decayed
    np.testing.assert_array_equal(bias.numpy(), 1.0)
    np.testing.assert_array_equal(gamma.numpy(), 1.0)
