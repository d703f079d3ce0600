"""MLM perplexity: exp of the mean cross-entropy over masked tokens (weighted by slot use).

The arithmetic is generic (exp of a weighted mean cross-entropy from logits): the causal LM uses
the same class, named `perplexity`, over every next-token prediction.

Not a language model's perplexity: it scores the masked slots only, given both sides of the
context, so it is far lower than a causal model's on the same text. Named accordingly.
"""

import keras
from keras import ops

from tfssl.losses.token_cross_entropy import token_cross_entropy


@keras.saving.register_keras_serializable(package="tfssl")
class MaskedLMPerplexity(keras.metrics.Metric):
    """exp(sum(w * CE) / sum(w)) accumulated over batches; `y_pred` are logits."""

    def __init__(self, name="mlm_perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total_cross_entropy = self.add_variable(shape=(), initializer="zeros", name="total_cross_entropy")
        self.total_weight = self.add_variable(shape=(), initializer="zeros", name="total_weight")

    def update_state(self, y_true, y_pred, sample_weight=None):
        cross_entropy = token_cross_entropy(y_true, y_pred)  # (batch, slots); shared with the loss under XLA
        weight = ops.ones_like(cross_entropy) if sample_weight is None else ops.cast(sample_weight, cross_entropy.dtype)
        self.total_cross_entropy.assign_add(ops.sum(cross_entropy * weight))
        self.total_weight.assign_add(ops.sum(weight))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total_cross_entropy, self.total_weight))

    def reset_state(self):
        self.total_cross_entropy.assign(0.0)
        self.total_weight.assign(0.0)
