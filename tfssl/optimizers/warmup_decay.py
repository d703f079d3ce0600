"""Learning-rate schedules: linear warmup, then linear (BERT) or cosine decay."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfssl")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak_learning_rate` over `warmup_steps`, then decay to
    `end_learning_rate` at `total_steps` (linear or cosine), constant after."""

    def __init__(self, peak_learning_rate, warmup_steps, total_steps, end_learning_rate=0.0, decay="linear"):
        if decay not in ("linear", "cosine"):
            raise ValueError(f"decay must be 'linear' or 'cosine', got {decay!r}.")
        if total_steps < 1 or warmup_steps < 0:
            raise ValueError(f"Need total_steps >= 1 and warmup_steps >= 0, got {total_steps} and {warmup_steps}.")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.end_learning_rate = float(end_learning_rate)
        self.decay = decay

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = ops.cast(max(self.warmup_steps, 1), "float32")
        decay_steps = ops.cast(max(self.total_steps - self.warmup_steps, 1), "float32")
        progress = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        if self.decay == "cosine":
            fraction = 0.5 * (1.0 + ops.cos(math.pi * progress))
        else:
            fraction = 1.0 - progress
        decayed = self.end_learning_rate + (self.peak_learning_rate - self.end_learning_rate) * fraction
        return ops.where(step < self.warmup_steps, self.peak_learning_rate * step / warmup, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "end_learning_rate": self.end_learning_rate,
            "decay": self.decay,
        }
