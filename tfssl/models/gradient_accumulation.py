"""Gradient accumulation inside one training step, for every tfssl model trained with `fit`.

`GradientAccumulation` is a mixin placed before `keras.Model`. With
`gradient_accumulation_steps = k > 1` (an argument of the models' `compile`), `train_step` splits
each replica's share of the batch into k equal micro-batches, runs forward and backward on one at
a time (so activations for only B/k examples are alive), sums their gradients and takes one
optimizer step: one all-reduce, one clip, one schedule tick, one `iterations` increment.

Unlike Keras' optimizer-side `gradient_accumulation_steps`, which spends an optimizer call per
micro-batch and counts micro-batches as steps, here a step is a step: logs, backups and the
learning-rate schedule count real batches, and a run with k micro-batches ends on the weights of
a run with k-times-larger batches (tested to 1e-5, on one device and mirrored).

Each micro-batch's loss is `compute_loss(...) / k`, exact for losses that average over examples
or tokens of equal-size micro-batches (next-token, classification, regression). A model whose
loss is normalised differently overrides `accumulation_normaliser` and `micro_batch_loss` (the
masked-LM pretrainer divides by the whole batch's masked-token count).

Example:

>>> class MyModel(GradientAccumulation, keras.Model): ...
>>> model.compile(..., gradient_accumulation_steps=4)   # via `set_gradient_accumulation`
"""

import keras
import tensorflow as tf


def set_gradient_accumulation(model, steps):
    """Validates and stores `steps` (the models' `compile` calls this)."""
    if int(steps) < 1:
        raise ValueError(f"gradient_accumulation_steps must be >= 1, got {steps}.")
    model.gradient_accumulation_steps = int(steps)


def add_gradients(total, gradient):
    """Sums gradients that may be None or sparse. Sparse ones (an embedding table's rows) are made
    dense: a tied output layer's gradient covers the whole table anyway, and the replicas'
    all-reduce needs one shape on every replica."""
    if gradient is None:
        return total
    gradient = tf.convert_to_tensor(gradient)
    return gradient if total is None else total + gradient


def split_batch(data, steps):
    """`(x, y, sample_weight)` -> k micro-batches of the same structure, split along axis 0."""
    flat = tf.nest.flatten(data)
    parts = [[None] * steps if t is None else tf.split(t, steps) for t in flat]
    return [tf.nest.pack_sequence_as(data, [p[i] for p in parts]) for i in range(steps)]


class GradientAccumulation:
    """The mixin (see the module docstring)."""

    def accumulation_normaliser(self, x, y, sample_weight):
        """Whatever `micro_batch_loss` needs from the whole batch; nothing by default."""
        return None

    def micro_batch_loss(self, x, y, y_pred, sample_weight, steps, normaliser):
        """This micro-batch's share of the whole batch's loss (scaled for distribution as Keras' is)."""
        return self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True) / steps

    def train_step(self, data):
        steps = getattr(self, "gradient_accumulation_steps", 1)
        if steps <= 1:
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        normaliser = self.accumulation_normaliser(x, y, sample_weight)
        variables = self.trainable_weights
        gradients, total_loss, metrics = [None] * len(variables), 0.0, {}
        for micro_x, micro_y, micro_weight in split_batch((x, y, sample_weight), steps):
            with tf.GradientTape() as tape:
                y_pred = self(micro_x, training=True)
                loss = self.micro_batch_loss(micro_x, micro_y, y_pred, micro_weight, steps, normaliser)
                scaled = self.optimizer.scale_loss(loss)
            for j, g in enumerate(tape.gradient(scaled, variables)):
                gradients[j] = add_gradients(gradients[j], g)
            total_loss += loss
            metrics = self.compute_metrics(micro_x, micro_y, y_pred, sample_weight=micro_weight)
        self._loss_tracker.update_state(
            keras.src.losses.loss.unscale_loss_for_distribution(total_loss),
            sample_weight=tf.shape(tf.nest.flatten(x)[0])[0])
        self.optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])
        return {**metrics, "loss": self._loss_tracker.result()}
