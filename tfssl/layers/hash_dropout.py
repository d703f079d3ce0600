"""Dropout whose random bits come from a counter-based integer hash instead of Philox.

Why: under XLA on CPU, `keras.layers.Dropout`'s Philox draws cost ~10 ns per element; the
`mini` masked-LM step spent ~15% of its time there (benchmarks/mlm_throughput.py, dropout
0.1 vs 0.0). A murmur3-style hash of (element index, per-call key) is a handful of vectorised
integer ops per element and statistically fine for dropout masks: the keep rate is exact to
2**-32, masks differ from call to call (the key comes from a Keras `SeedGenerator`, whose
state advances every call and is kept in tfssl's step backups), and the same seed repeats them.
"""

import keras
import tensorflow as tf

_GOLDEN = 0x9E3779B1


def _fmix32(h):
    """murmur3's 32-bit finaliser: full avalanche of a uint32 tensor."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(16, tf.uint32)))
    h = h * tf.constant(0x85EBCA6B, tf.uint32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(13, tf.uint32)))
    h = h * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(16, tf.uint32)))


def hash_uniform_bits(shape, seed):
    """uint32 pseudo-random bits of `shape`, a pure function of `seed` (2 ints) and position."""
    seed = tf.bitcast(tf.cast(seed, tf.int32), tf.uint32)
    key = _fmix32(_fmix32(seed[0] + tf.constant(_GOLDEN, tf.uint32)) ^ (seed[1] * tf.constant(0x27D4EB2F, tf.uint32)))
    counter = tf.bitcast(tf.range(tf.reduce_prod(shape), dtype=tf.int32), tf.uint32)
    bits = _fmix32(_fmix32(counter * tf.constant(_GOLDEN, tf.uint32) ^ key))
    return tf.reshape(bits, shape)


@keras.saving.register_keras_serializable(package="tfssl")
class HashDropout(keras.layers.Layer):
    """Inverted dropout (`rate` of the elements zeroed, the rest scaled by 1/(1-rate))."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}.")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if self.rate > 0 else None
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        bits = hash_uniform_bits(tf.shape(inputs), self.seed_generator.next())
        threshold = tf.constant(min(int(self.rate * 2**32), 2**32 - 1), tf.uint32)
        keep = tf.cast(bits >= threshold, inputs.dtype)
        return inputs * keep * tf.cast(1.0 / (1.0 - self.rate), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
