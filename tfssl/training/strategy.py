"""Choosing a `tf.distribute` strategy for the machine.

`auto`: several GPUs -> `MirroredStrategy`; otherwise the default one-device strategy.
`mirrored` also works on a CPU-only machine split into logical devices (as the tests do).
Multi-worker and TPU choices arrive with the multi-worker issue.
"""

import tensorflow as tf

STRATEGIES = ("auto", "one_device", "mirrored")


def choose_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Returns the strategy called `name` (see the module docstring)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.get_strategy()


def jit_compile_for(strategy: tf.distribute.Strategy, requested: bool) -> bool:
    """XLA only with one replica: an XLA-compiled step under `MirroredStrategy` reads another
    replica's variables and fails ("Trying to access resource ... located in device CPU:1",
    tensorflow.org/xla/known_issues)."""
    return bool(requested) and strategy.num_replicas_in_sync == 1
