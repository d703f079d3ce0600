"""Sinusoidal start values for a *learned* position table.

Why: with a random position table, attention starts position-blind and an MLM model spends
its first thousands of steps learning where neighbours are (a plateau near unigram accuracy).
Sinusoids (Vaswani et al. 2017) make relative offsets linear functions of the table from
step 0; the table stays trainable and stays a plain BERT position table, so checkpoints
remain loadable by any BERT implementation.
"""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="tfssl")
class SinusoidalInitializer(keras.initializers.Initializer):
    """`(positions, dim)` table of sin/cos waves, scaled so each entry has std `stddev`."""

    def __init__(self, stddev=0.02):
        self.stddev = float(stddev)

    def __call__(self, shape, dtype=None):
        positions, dim = shape
        angles = np.arange(positions)[:, None] / np.power(10_000.0, (2 * (np.arange(dim) // 2)) / dim)[None, :]
        table = np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles))  # (positions, dim), std ~0.71
        return keras.ops.convert_to_tensor(table * (self.stddev / np.sqrt(0.5)), dtype=dtype or "float32")

    def get_config(self):
        return {"stddev": self.stddev}
