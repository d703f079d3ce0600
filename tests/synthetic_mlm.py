"""Shared pieces of the subprocess scripts that compare strategies on the masked-LM pretrainer:
two logical CPU devices (set before TensorFlow starts) and one fixed synthetic batch set."""

import numpy as np


def two_logical_cpus():
    """Splits the CPU into 2 logical devices; call before any TensorFlow work."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


def masked_lm_examples(weight_rate=0.8):
    """`(x, y, w)`: 64 rows of 16 token ids (vocabulary 60), 3 mask slots each, a share
    `weight_rate` of the slots used (so batches hold different masked-token counts)."""
    rng = np.random.default_rng(0)
    x = {"token_ids": rng.integers(5, 60, (64, 16)).astype("int32"), "padding_mask": np.ones((64, 16), "int32"),
         "mask_positions": np.sort(rng.integers(1, 15, (64, 3)), axis=1).astype("int32")}
    y = rng.integers(5, 60, (64, 3)).astype("int32")
    w = (rng.random((64, 3)) < weight_rate).astype("float32")
    return x, y, w
