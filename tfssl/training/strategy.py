"""Choosing a `tf.distribute` strategy for the machine, and this process's role in it.

`auto`: a `TF_CONFIG` naming more than one task -> `MultiWorkerMirroredStrategy`; a TPU named by
the environment (`TPU_NAME`, Colab's `COLAB_TPU_ADDR`) -> `TPUStrategy`; several GPUs ->
`MirroredStrategy`; otherwise the default one-device strategy. `mirrored` also works on a
CPU-only machine split into logical devices (as the tests do). `multi_worker` reads the cluster
from `TF_CONFIG` (`tfssl launch` writes it for local workers) and installs the Keras 3 override
that `fit` needs there (`keras_multi_worker`).

Create the strategy before any other TensorFlow work: collective ops (multi-worker) and TPU
systems are configured at program start.
"""

import json
import os

import tensorflow as tf

from tfssl.config_fields import STRATEGIES


def cluster_spec():
    """`TF_CONFIG`'s cluster (a dict) and this task `(type, index)`; `({}, None)` without one."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return {}, None
    try:
        config = json.loads(raw)
    except ValueError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}): {raw[:200]}") from e
    task = config.get("task") or {}
    return config.get("cluster") or {}, (task.get("type"), int(task.get("index", 0)))


def worker_role():
    """`(index, is_chief)`: the chief is task `chief`, or `worker` 0 when the cluster has no chief."""
    cluster, task = cluster_spec()
    if task is None:
        return 0, True
    kind, index = task
    return index, kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)


def for_this_worker(config):
    """The chief writes the run directory and the export; every other worker writes its own copy
    under `<output_dir>/<name>/workers/<index>/` (stable, so a restarted worker finds its backup)
    and exports nothing, so no two processes write one file."""
    import dataclasses

    index, chief = worker_role()
    if chief:
        return config
    return dataclasses.replace(config, output_dir=os.path.join(config.output_dir, config.name, "workers"),
                               name=str(index), export=False)


def choose_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Returns the strategy called `name` (see the module docstring)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    cluster, _ = cluster_spec()
    tasks = sum(len(v) for v in cluster.values())
    if name == "multi_worker" or (name == "auto" and tasks > 1):
        if tasks < 1:
            raise ValueError("strategy=multi_worker needs TF_CONFIG (a cluster and this task); start the workers with "
                             "`tfssl launch --workers N -- ...`, or set TF_CONFIG on each node.")
        from tfssl.training.keras_multi_worker import enable_multi_worker_fit

        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        enable_multi_worker_fit(strategy)
        return strategy
    if name == "tpu" or (name == "auto" and (os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"))):
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", ""))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.get_strategy()


def jit_compile_for(strategy: tf.distribute.Strategy, requested: bool) -> bool:
    """XLA with one replica, or with replicas on GPUs or TPUs; not with several CPU replicas (logical
    devices of one CPU, or CPU workers): there an XLA-compiled step reads another replica's variables
    and fails ("Trying to access resource ... located in device CPU:1", tensorflow.org/xla/known_issues).
    Each GPU replica compiles its own step, so `auto` on a multi-GPU machine trains with XLA."""
    if not requested or strategy.num_replicas_in_sync == 1:
        return bool(requested)
    return xla_across(strategy.extended.worker_devices)


def xla_across(devices) -> bool:
    """Whether a step replicated over `devices` (device names) can be XLA-compiled: one device, or no CPU."""
    return len(devices) == 1 or not any("CPU" in d.upper() for d in devices)
