"""Causal (GPT) language-model pretraining: a decoder backbone plus its tied output projection.

Takes the `(x, y)` batches of `tfssl.data.causal_lm_pipeline` (`x["token_ids"]` (batch, length),
`y` the same ids shifted by one) and returns `(batch, length, vocabulary_size)` logits. The loss
is the next-token cross-entropy averaged over every position (blocks are packed, so no position
is padding); metrics: `token_accuracy` and `perplexity` (exp of the mean cross-entropy).

Example:

>>> backbone = DecoderBackbone.from_preset("tiny", vocabulary_size=4096, sequence_length=256)
>>> pretrainer = CausalLMPretrainer(backbone)
>>> pretrainer.compile(learning_rate=1e-3, warmup_steps=100, total_steps=2000)
>>> pretrainer.fit(train_batches, steps_per_epoch=200, epochs=10, validation_data=held_out_batches)
"""

import keras

from tfssl.losses.token_cross_entropy import TokenCrossEntropy
from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity
from tfssl.metrics.token_accuracy import TokenAccuracy
from tfssl.models.gradient_accumulation import GradientAccumulation
from tfssl.models.task import Task


def next_token_loss():
    """Cross-entropy of the next token, from logits, averaged over positions (and weights); one
    pass over the logits each way (`tfssl.losses.token_cross_entropy`)."""
    return TokenCrossEntropy(name="next_token_loss")


@keras.saving.register_keras_serializable(package="tfssl")
class CausalLMPretrainer(GradientAccumulation, Task):
    """Args:
    backbone: a `DecoderBackbone` (anything with `token_logits` and `sequence_output`).
    preprocessor: optional `CausalLMPreprocessor`; with one, `fit` takes raw documents.
    """

    # nanoGPT's defaults; `end_learning_rate=None` is a tenth of the peak.
    compile_defaults = {"learning_rate": 1e-3, "warmup_steps": 100, "total_steps": 10_000, "weight_decay": 0.1,
                        "end_learning_rate": None, "beta_2": 0.99}

    def call(self, inputs, training=None):
        hidden = self.backbone(inputs, training=training)["sequence_output"]  # (batch, length, hidden_dim)
        return self.backbone.token_logits(hidden)  # (batch, length, vocabulary_size)

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Compiles with nanoGPT's defaults; "auto" picks them, anything else overrides (`Task.compile`).

        "auto" optimizer: AdamW (beta_2 0.99, weight decay 0.1 on matrices and embeddings, none on
        biases and LayerNorms), linear warmup then cosine decay to `end_learning_rate` (default
        a tenth of the peak) at `total_steps`, gradients clipped to global norm 1 after the
        cross-replica sum (`GlobalClipAdamW`). `metrics` are weighted by any sample weights.
        `gradient_accumulation_steps=k`: each replica's share of a batch runs as k micro-batches
        and one optimizer step (`GradientAccumulation`).
        """
        metrics = self.default_weighted_metrics() if metrics == "auto" else metrics
        super().compile(optimizer=optimizer, loss=loss, metrics=None, weighted_metrics=metrics, **kwargs)

    def default_optimizer(self, learning_rate, warmup_steps, total_steps, weight_decay, end_learning_rate, beta_2):
        end = learning_rate / 10 if end_learning_rate is None else end_learning_rate
        return super().default_optimizer(learning_rate, warmup_steps, total_steps, weight_decay, decay="cosine",
                                         end_learning_rate=end, beta_2=beta_2, epsilon=1e-8)

    def default_loss(self):
        return next_token_loss()

    def default_weighted_metrics(self):
        """Accuracy and perplexity, both read from what the loss computes (XLA shares it): at GPT-2's
        vocabulary, Keras' argmax accuracy cost 11% of the step."""
        return [TokenAccuracy(name="token_accuracy"), MaskedLMPerplexity(name="perplexity")]
