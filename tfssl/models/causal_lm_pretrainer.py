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

from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity
from tfssl.models.gradient_accumulation import GradientAccumulation, set_gradient_accumulation
from tfssl.models.masked_lm_pretrainer import adamw_with_warmup


def next_token_loss():
    """Cross-entropy of the next token, from logits, averaged over positions (and weights)."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="next_token_loss")


@keras.saving.register_keras_serializable(package="tfssl")
class CausalLMPretrainer(GradientAccumulation, keras.Model):
    """Args:
    backbone: a `DecoderBackbone` (anything with `token_logits` and `sequence_output`).
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone

    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build()
        self.built = True

    def build_from_config(self, config):
        """Variables do not depend on input shapes: build them all (needed to load `.keras`)."""
        self.build()

    def call(self, inputs, training=None):
        hidden = self.backbone(inputs, training=training)["sequence_output"]  # (batch, length, hidden_dim)
        return self.backbone.token_logits(hidden)  # (batch, length, vocabulary_size)

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        learning_rate=1e-3,
        warmup_steps=100,
        total_steps=10_000,
        end_learning_rate=None,
        weight_decay=0.1,
        beta_2=0.99,
        jit_compile=True,
        gradient_accumulation_steps=1,
        **kwargs,
    ):
        """Compiles with nanoGPT's defaults; "auto" picks them, anything else overrides.

        "auto" optimizer: AdamW (beta_2 0.99, weight decay 0.1 on matrices and embeddings, none on
        biases and LayerNorms), linear warmup then cosine decay to `end_learning_rate` (default
        a tenth of the peak) at `total_steps`, gradients clipped to global norm 1 after the
        cross-replica sum (`GlobalClipAdamW`).
        `gradient_accumulation_steps=k`: each replica's share of a batch runs as k micro-batches
        and one optimizer step (`GradientAccumulation`).
        """
        set_gradient_accumulation(self, gradient_accumulation_steps)
        if optimizer == "auto":
            end = learning_rate / 10 if end_learning_rate is None else end_learning_rate
            optimizer = adamw_with_warmup(learning_rate, warmup_steps, total_steps, weight_decay, decay="cosine",
                                          end_learning_rate=end, beta_2=beta_2, epsilon=1e-8)
        if loss == "auto":
            loss = next_token_loss()
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="token_accuracy"), MaskedLMPerplexity(name="perplexity")]
        super().compile(optimizer=optimizer, loss=loss, weighted_metrics=metrics, jit_compile=jit_compile, **kwargs)

    def get_compile_config(self):
        """Not saved: `compile()` takes schedule lengths that belong to a run."""
        return None

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "backbone": keras.saving.serialize_keras_object(self.backbone)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
