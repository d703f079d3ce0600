"""Training precision as a Keras dtype policy, set once per run on a model and every layer in it.

`precision` (every driver's config field, every task's `compile`):

* `float32`: everything in float32.
* `mixed_bfloat16`: variables in float32, computation in bfloat16. The same exponent range as
  float32, so no loss scaling. What TPUs and Ampere-or-newer GPUs run fastest.
* `mixed_float16`: computation in float16, with dynamic loss scaling (the task's `compile` wraps
  its optimizer in `ReplicaLossScaleOptimizer`, see `tfssl.optimizers.loss_scale`). For GPUs with
  float16 tensor cores but no bfloat16 (Volta, Turing).
* `auto`: `mixed_bfloat16` on a TPU or a GPU of compute capability >= 8.0, `mixed_float16` on a GPU
  of 7.x, `float32` otherwise. On CPUs float32: measured on an AVX512-BF16 CPU, bfloat16 was
  slower for every objective under XLA (README, "Precision and accelerators").

What stays float32 whatever the policy: variables (so checkpoints, `.keras` files, weight backups
and Hugging Face exports hold float32 weights), LayerNorm's statistics (Keras computes them in
float32), attention scores and their softmax (`CachedSelfAttention`), losses and the logits that
feed them (`tfssl.losses.token_cross_entropy`, `info_nce_loss` and Keras' losses cast to float32),
metrics, and every SavedModel signature's outputs (`tfssl.export`). A `.keras` file records the
policy it was trained with; a run that loads it applies its own `precision` on top.

Example:

>>> pretrainer.compile(learning_rate=1e-3, precision="mixed_bfloat16")   # via `set_precision`
>>> set_precision(backbone, "float32")                                     # back to float32 compute
"""

import tensorflow as tf

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


def accelerator_precision():
    """The policy `auto` picks on this machine (see the module docstring)."""
    if tf.config.list_logical_devices("TPU"):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "float32"
    capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") or (0, 0)
    if tuple(capability) >= (8, 0):
        return "mixed_bfloat16"
    return "mixed_float16" if tuple(capability) >= (7, 0) else "float32"


def resolve_precision(precision):
    """`precision` (one of `PRECISIONS`) -> a Keras dtype policy name; `auto` is decided here."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}.")
    return accelerator_precision() if precision == "auto" else precision


def set_precision(model, precision):
    """Sets the resolved policy on `model` and on every layer inside it (built or not), so each
    sublayer computes in it; variables stay float32. Returns the policy name."""
    policy = resolve_precision(precision)
    layers = [model] + list(model._flatten_layers(include_self=False, recursive=True))
    for layer in layers:
        if layer.dtype_policy.quantization_mode is not None:
            raise ValueError(f"{layer.name} is quantized ({layer.dtype_policy.name}); precision applies to "
                             "float models only.")
        layer.dtype_policy = policy
    return policy
