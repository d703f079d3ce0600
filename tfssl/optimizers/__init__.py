"""Optimizers and learning-rate schedules (AdamW with clipping after the cross-replica sum, warmup + decay,
float16 loss scaling that keeps replicas in step)."""

from tfssl.lazy_exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "GlobalClipAdamW": "tfssl.optimizers.global_clip_adamw",
    "ReplicaLossScaleOptimizer": "tfssl.optimizers.loss_scale",
    "WarmupDecay": "tfssl.optimizers.warmup_decay",
    "NO_DECAY_NAMES": "tfssl.optimizers.adamw_recipe",
    "adamw_with_warmup": "tfssl.optimizers.adamw_recipe",
})
