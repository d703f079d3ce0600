"""Keras 3 `model.fit` under `MultiWorkerMirroredStrategy`: the smallest override that makes it work.

Upstream (keras-team/keras#20585, tensorflow/tensorflow#72388), Keras 3's TensorFlow trainer
fails on more than one worker in two places:

1. `fit` builds the model from the first batch by `strategy.reduce("MEAN", batch)` run eagerly;
   under a multi-worker strategy that reduce cannot take the nested `(x, y, sample_weight)`
   structure ("Attempt to convert a value (PerReplica ...) to a Tensor"). A batch only gives the
   build its shapes, so the override uses this worker's first replica's values instead.
2. Every step's scalar metrics are reduced with `strategy.reduce("MEAN", v, axis=0)`, which fails
   for a scalar ("Invalid reduction dimension 0 for input with 0 dimensions"). The override
   reduces scalars with `axis=None` (the mean over replicas) and everything else as before.

`enable_multi_worker_fit(strategy)` probes each failure on the live strategy (every worker runs
the same probes, so their collectives pair up) and installs only the overrides this Keras still
needs; once Keras fixes a failure, its probe passes and that override is no longer installed.
"""

import tensorflow as tf

_ORIGINALS = {}


def in_multi_worker_mode(strategy):
    """True for a `MultiWorkerMirroredStrategy` spanning more than one worker."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def enable_multi_worker_fit(strategy):
    """Installs the overrides `strategy` needs (see the module docstring); returns their names."""
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if not in_multi_worker_mode(strategy):
        return []
    installed = []
    if "reduce_per_replica" not in _ORIGINALS and not _scalar_metrics_reduce(strategy, tf_trainer):
        _ORIGINALS["reduce_per_replica"] = tf_trainer.reduce_per_replica
        tf_trainer.reduce_per_replica = _reduce_per_replica
        installed.append("reduce_per_replica")
    if "_maybe_symbolic_build" not in _ORIGINALS and not _first_batch_reduces(strategy):
        _ORIGINALS["_maybe_symbolic_build"] = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
        installed.append("_maybe_symbolic_build")
    return installed


def _scalar_metrics_reduce(strategy, tf_trainer):
    """Probe 2: does Keras' own reduction of a per-replica scalar work on this strategy?"""
    scalar = strategy.experimental_distribute_values_from_function(lambda context: tf.constant(1.0))
    try:
        tf_trainer.reduce_per_replica({"loss": scalar}, strategy, "auto")
        return True
    except ValueError:
        return False


def _first_batch_reduces(strategy):
    """Probe 1: can the strategy reduce a distributed `(x, y)` batch the way `fit`'s build does?"""
    replicas = strategy.num_replicas_in_sync
    batch = tf.data.Dataset.from_tensors((tf.zeros([2 * replicas, 1]), tf.zeros([2 * replicas])))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    element = next(iter(strategy.experimental_distribute_dataset(batch.with_options(options))))
    try:
        strategy.reduce("MEAN", element, axis=None)
        return True
    except ValueError:
        return False


def _reduce_per_replica(values, strategy, reduction):
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if in_multi_worker_mode(strategy) and reduction in ("auto", "mean"):
        def mean(value):
            rank = (strategy.experimental_local_results(value)[0] if tf_trainer._is_per_replica_instance(value)
                    else value).shape.rank
            return strategy.reduce("MEAN", value, axis=0 if rank else None)

        return tree.map_structure(mean, values)
    return _ORIGINALS["reduce_per_replica"](values, strategy, reduction)


def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    if self._distribute_strategy is None:
        return
    if iterator is not None:
        for _, _, batches in iterator:
            first = next(batches)
            data_batch = tf.nest.map_structure(
                lambda x: self.distribute_strategy.experimental_local_results(x)[0]
                if isinstance(x, tf.distribute.DistributedValues) else x,
                first,
            )
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)
