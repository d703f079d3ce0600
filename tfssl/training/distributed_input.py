"""Per-worker input for `fit` under a distribution strategy, built by `distribute_datasets_from_function`.

tfssl's training streams are seeded global batches held in memory (packed blocks, sentences,
labelled examples), so every worker can build the same stream cheaply. Each worker keeps a
contiguous share of every global batch: with W input pipelines (workers) and R replicas per
worker, a global batch of B rows gives worker w rows `[w*B/W, (w+1)*B/W)`, cut into R per-replica
batches of B/(W*R) rows, in order. Replica k of the whole cluster therefore sees rows
`[k*B/(W*R), (k+1)*B/(W*R))`, exactly what `MirroredStrategy` gives it on one machine, so N
workers train like one machine with N devices and the same global batch (tested to 1e-5), and a
resumed run skips to the same rows on every worker.

Why not Keras' default (`experimental_distribute_dataset` with auto-sharding)? It cannot shard
these in-memory streams by file, falls back to DATA sharding with a warning on every worker, and
leaves the split implicit. Here the split is explicit and tested.

Masked-LM pretraining reads prepared shards instead (`distribute_pipeline_batches`): there each
worker builds only its own share of every global batch from its own part of the files
(`PreparedDataset.training_blocks`), so no worker reads or holds the whole corpus.
"""

import tensorflow as tf


def per_replica_batch_size(strategy, global_batch_size):
    """`global_batch_size / replicas`, or an error naming a batch size that divides."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(f"batch_size={global_batch_size} does not split evenly over {replicas} replicas; use a "
                         f"multiple of {replicas}.")
    return global_batch_size // replicas


def describe_batch(strategy, global_batch_size):
    """E.g. "Global batch 32 = 2 worker(s) x 1 replica(s) x 16 rows per replica"."""
    workers = max(getattr(strategy.extended, "_num_workers", 1), 1)
    replicas = strategy.num_replicas_in_sync
    return (f"Global batch {global_batch_size} = {workers} worker(s) x {replicas // workers} replica(s) x "
            f"{per_replica_batch_size(strategy, global_batch_size)} rows per replica.")


def global_batch_size_of(dataset):
    """The static leading dimension of `dataset`'s batches, or None when it varies."""
    first = tf.nest.flatten(dataset.element_spec)[0]
    return first.shape[0] if first.shape.rank else None


def distribute_global_batches(strategy, dataset, global_batch_size=None):
    """`dataset` (global batches of `global_batch_size` rows, by default its static batch size)
    as a distributed dataset whose replicas get the rows described in the module docstring;
    `dataset` itself with one replica, or when the batch size is unknown (Keras' default
    splitting then applies)."""
    batch = global_batch_size or global_batch_size_of(dataset)
    if strategy.num_replicas_in_sync == 1 or batch is None:
        return dataset
    per_replica = per_replica_batch_size(strategy, batch)

    def worker_dataset(context):
        share = batch // context.num_input_pipelines  # rows of each global batch for this worker
        start = context.input_pipeline_id * share
        rows = dataset.map(lambda *element: tf.nest.map_structure(lambda t: t[start:start + share], element))
        # (share, ...) -> replicas_in_this_worker batches of (per_replica, ...), in row order
        return rows.unbatch().batch(per_replica, drop_remainder=True).map(_unwrap).prefetch(tf.data.AUTOTUNE)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(worker_dataset, options)


def input_pipelines(strategy):
    """How many input pipelines `distribute_datasets_from_function` builds: one per worker."""
    return max(getattr(strategy.extended, "_num_workers", 1), 1)


def distribute_pipeline_batches(strategy, pipeline_from, global_batch_size):
    """Input whose every pipeline (worker) builds only its own share: `pipeline_from(num_pipelines,
    pipeline_id)` returns that pipeline's batches of `global_batch_size / num_pipelines` rows (e.g. read from
    its own shards), cut here into per-replica batches in row order."""
    if strategy.num_replicas_in_sync == 1:
        return pipeline_from(1, 0)
    per_replica = per_replica_batch_size(strategy, global_batch_size)

    def worker_dataset(context):
        rows = pipeline_from(context.num_input_pipelines, context.input_pipeline_id)
        return rows.unbatch().batch(per_replica, drop_remainder=True).map(_unwrap).prefetch(tf.data.AUTOTUNE)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(worker_dataset, options)


def _unwrap(*element):
    """`map(lambda *element: ...)` packs one-structure elements in a tuple; give them back as they came."""
    return element[0] if len(element) == 1 else element
