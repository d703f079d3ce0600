"""Token accuracy for language models: how often the label is the model's top prediction.

Equals `keras.metrics.SparseCategoricalAccuracy` on logits (up to exact ties for the top logit,
which count as hits here), but reads the maximum of the logits instead of their argmax, which
under XLA on CPU is a separate, slow reduction: at GPT-2's vocabulary the argmax cost 11% of a
causal-LM step; the maximum is shared with the loss (see `tfssl.losses.token_cross_entropy`).
"""

import keras

from tfssl.losses.token_cross_entropy import token_hits


@keras.saving.register_keras_serializable(package="tfssl")
class TokenAccuracy(keras.metrics.MeanMetricWrapper):
    """Weighted mean of `token_hits(y_true, y_pred)`; `y_pred` are logits."""

    def __init__(self, name="token_accuracy", dtype=None):
        super().__init__(fn=token_hits, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
