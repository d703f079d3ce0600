"""InfoNCE (NT-Xent) for contrastive learning, with negatives gathered across replicas.

For local queries q_i and keys k_i (positive pairs, both (batch, dim)), the loss of q_i is
cross-entropy over `cos(q_i, k_j) / temperature` for every key k_j of the *global* batch
(and any extra negatives), with k_i the target.

What is gathered: under a `tf.distribute` strategy with N replicas, each replica all-gathers
the keys of every replica (`ReplicaContext.all_gather`, (N * batch, dim)) and, when given,
the hard negatives (N * batch, dim); queries stay local. `all_gather` is differentiable: the
gradient reaching a replica's own keys is the sum of what every replica's loss sends back
to them, so N replicas with batch B give the loss and gradients of one device with batch
N * B. The per-replica loss is the mean over local queries divided by N (Keras' distributed
loss scaling), so replicas sum to the global mean.

A MoCo queue (`queue`, (K, dim)) adds K more negatives. It is not gathered: it already holds keys
of the global batches before this one, the same on every replica.
"""

import keras
import tensorflow as tf


def _gather(tensor):
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return tensor, tf.constant(0, tf.int32)
    return context.all_gather(tensor, axis=0), context.replica_id_in_sync_group * tf.shape(tensor)[0]


def info_nce_loss(
    queries, keys, hard_negatives=None, temperature=0.05, hard_negative_weight=0.0, queue=None, queue_valid=None
):
    """Per-query InfoNCE losses, (batch,), over global in-batch negatives.

    Args:
        queries, keys: (batch, dim) embeddings of positive pairs (normalised here).
        hard_negatives: optional (batch, dim) one hard negative per query, also gathered.
        temperature: softmax temperature (SimCSE: 0.05).
        hard_negative_weight: log-weight added to hard-negative logits (SimCSE's weight: 0).
        queue: optional (K, dim) negative keys from earlier batches (MoCo), not gathered.
        queue_valid: optional (K,) bool, False for queue slots not filled yet (left out).

    Computed in float32 whatever the embeddings' dtype: at temperature 0.05 a cosine's bfloat16
    rounding (up to 2**-8) moves a logit by up to 0.08.
    """
    queries, keys = tf.cast(queries, tf.float32), tf.cast(keys, tf.float32)
    hard_negatives = None if hard_negatives is None else tf.cast(hard_negatives, tf.float32)
    queries = tf.math.l2_normalize(queries, axis=-1)
    all_keys, offset = _gather(tf.math.l2_normalize(keys, axis=-1))  # (global_batch, dim)
    logits = tf.matmul(queries, all_keys, transpose_b=True) / temperature  # (batch, global_batch)
    if hard_negatives is not None:
        all_negatives, _ = _gather(tf.math.l2_normalize(hard_negatives, axis=-1))
        negative_logits = tf.matmul(queries, all_negatives, transpose_b=True) / temperature + hard_negative_weight
        logits = tf.concat([logits, negative_logits], axis=1)  # (batch, 2 * global_batch)
    if queue is not None:
        queue = tf.math.l2_normalize(tf.cast(queue, tf.float32), axis=-1)
        queue_logits = tf.matmul(queries, queue, transpose_b=True) / temperature  # (batch, K)
        if queue_valid is not None:
            queue_logits = tf.where(queue_valid[None, :], queue_logits, tf.cast(-1e9, queue_logits.dtype))
        logits = tf.concat([logits, queue_logits], axis=1)  # (batch, global_batch [+ global_batch] + K)
    labels = offset + tf.range(tf.shape(queries)[0])
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


@keras.saving.register_keras_serializable(package="tfssl")
class InfoNCE(keras.layers.Layer):
    """`info_nce_loss` as a Keras layer, for dual encoders built outside tfssl's pretrainers.

    `InfoNCE(temperature=0.05)(queries, keys[, hard_negatives])` -> (batch,) per-query losses,
    with keys and hard negatives gathered across replicas (see the module docstring). Reduce
    with `sum(losses) / global_batch` inside `compute_loss`, as `ContrastivePretrainer` does.
    """

    def __init__(self, temperature=0.05, hard_negative_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        self.temperature = float(temperature)
        self.hard_negative_weight = float(hard_negative_weight)

    def call(self, queries, keys, hard_negatives=None, queue=None, queue_valid=None):
        return info_nce_loss(queries, keys, hard_negatives, self.temperature, self.hard_negative_weight, queue, queue_valid)

    def compute_output_shape(self, queries_shape, keys_shape, hard_negatives_shape=None, queue_shape=None,
                             queue_valid_shape=None):
        return (queries_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update({"temperature": self.temperature, "hard_negative_weight": self.hard_negative_weight})
        return config
