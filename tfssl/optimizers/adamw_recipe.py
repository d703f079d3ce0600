"""The AdamW every tfssl task compiles with by default: warmup + decay, no weight decay on
LayerNorm and biases, global gradient norm clipped to 1 after the cross-replica sum.

(Not named `adamw_with_warmup.py`: `tfssl.optimizers` re-exports the function under that name,
and a submodule of the same name would shadow it once imported.)

Example:

>>> optimizer = adamw_with_warmup(1e-3, warmup_steps=100, total_steps=10_000)
>>> optimizer = adamw_with_warmup(1e-3, 100, 5000, weight_decay=0.1, decay="cosine", beta_2=0.99)  # nanoGPT's
"""

from tfssl.optimizers.global_clip_adamw import GlobalClipAdamW
from tfssl.optimizers.warmup_decay import WarmupDecay

# Variables whose names contain these get no weight decay (LayerNorm scales/offsets, biases).
NO_DECAY_NAMES = ["bias", "gamma", "beta", "layer_norm", "output_bias"]


def adamw_with_warmup(learning_rate, warmup_steps, total_steps, weight_decay=0.01, decay="linear",
                      end_learning_rate=0.0, beta_2=0.98, epsilon=1e-6):
    """AdamW with BERT's defaults (the causal LM passes nanoGPT's): warmup + decay to
    `end_learning_rate`, no decay on LayerNorm and biases, global gradient norm clipped to 1
    (after the cross-replica sum: see `GlobalClipAdamW`)."""
    optimizer = GlobalClipAdamW(
        learning_rate=WarmupDecay(learning_rate, warmup_steps, total_steps, end_learning_rate=end_learning_rate,
                                  decay=decay),
        weight_decay=weight_decay,
        beta_1=0.9,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=1.0,
    )
    optimizer.exclude_from_weight_decay(var_names=NO_DECAY_NAMES)
    return optimizer
