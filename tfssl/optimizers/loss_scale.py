"""Dynamic loss scaling for float16 training that keeps replicas in step.

Keras' `LossScaleOptimizer` checks the gradients it is given for Inf/NaN and skips the step (and
halves the scale) when it finds any. Under `tf.distribute`, Keras 3 hands it each replica's own
gradients, before the cross-replica sum (which happens inside the inner optimizer). One replica
can then overflow while another does not, and the two would disagree on whether to apply a step
whose apply holds a cross-replica sum. Here the replicas agree first: a step is skipped on every
replica when any replica's gradients are not finite (tested on 2 mirrored replicas: the same
steps skipped as on one device).

Works with every tfssl train step, since they all scale the loss with `optimizer.scale_loss` and
apply gradients through the optimizer: Keras' own, gradient accumulation (scaled micro-batch
gradients summed, unscaled once), `GlobalClipAdamW` (clips the unscaled, summed gradients) and
the contrastive and MoCo steps.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfssl")
class ReplicaLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """`keras.optimizers.LossScaleOptimizer` (same arguments) whose finiteness check is all-reduced."""

    def check_finite(self, grads):
        finite = super().check_finite(grads)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            overflowed = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))
            finite = tf.equal(overflowed, 0.0)
        return finite

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Keras' version pops `inner_optimizer` out of the dict it is given; this one leaves it intact."""
        return super().from_config(dict(config), custom_objects=custom_objects)
