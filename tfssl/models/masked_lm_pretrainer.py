"""Masked-LM pretraining model: an encoder backbone plus a tied head at the masked slots.

Takes the `x` dict made by `tfssl.data.mlm_pipeline` (`token_ids`, `padding_mask`,
`mask_positions`) and returns `(batch, max_predictions, vocabulary_size)` logits. The loss is
the cross-entropy over used slots divided by the number of masked tokens in the *global*
batch (not by batch x slots, and not per replica): see `compute_loss`. Under a
`tf.distribute` strategy, N replicas with batch B train exactly like one device with N*B.

Example:

>>> backbone = EncoderBackbone.from_preset("tiny", vocabulary_size=8192, sequence_length=128)
>>> pretrainer = MaskedLMPretrainer(backbone)
>>> pretrainer.compile(learning_rate=1e-3, warmup_steps=200, total_steps=5000)
>>> pretrainer.fit(train_batches, validation_data=held_out_batches)
"""

import keras
import tensorflow as tf

from tfssl.layers.masked_lm_head import MaskedLMHead
from tfssl.models.gradient_accumulation import GradientAccumulation, set_gradient_accumulation
from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity
from tfssl.optimizers.global_clip_adamw import GlobalClipAdamW
from tfssl.optimizers.warmup_decay import WarmupDecay

# Variables whose names contain these get no weight decay (LayerNorm scales/offsets, biases).
NO_DECAY_NAMES = ["bias", "gamma", "beta", "layer_norm", "output_bias"]


def masked_lm_loss():
    """Cross-entropy at the masked slots, averaged over masked tokens (slot weights)."""
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight", name="masked_lm_loss"
    )


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


@keras.saving.register_keras_serializable(package="tfssl")
class MaskedLMPretrainer(GradientAccumulation, keras.Model):
    """Args:
    backbone: an `EncoderBackbone` (or any backbone with `token_embedding` and
        `sequence_output`).
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.masked_lm_head = MaskedLMHead(
            vocabulary_size=backbone.vocabulary_size,
            hidden_dim=backbone.hidden_dim,
            activation=backbone.activation,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            initializer_range=backbone.initializer_range,
            token_embedding=backbone.token_embedding,
            name="masked_lm_head",
        )

    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build()
        self.masked_lm_head.build((None, None, self.backbone.hidden_dim), (None, None))
        self.built = True

    def build_from_config(self, config):
        """Variables do not depend on input shapes: build them all (needed to load `.keras`)."""
        self.build()

    def call(self, inputs, training=None):
        features = {k: inputs[k] for k in ("token_ids", "padding_mask", "segment_ids") if k in inputs}
        sequence_output = self.backbone(features, training=training)["sequence_output"]
        return self.masked_lm_head(sequence_output, inputs["mask_positions"])  # (batch, slots, vocabulary_size)

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        weighted_metrics="auto",
        learning_rate=1e-3,
        warmup_steps=100,
        total_steps=10_000,
        weight_decay=0.01,
        jit_compile=True,
        gradient_accumulation_steps=1,
        **kwargs,
    ):
        """Compiles with pretraining defaults; "auto" picks them, anything else overrides.

        `jit_compile=True` by default: Keras' "auto" means no XLA on CPU-only machines, and
        XLA made the masked-LM step markedly faster here (see benchmarks/).
        `gradient_accumulation_steps=k`: each replica's share of a batch is run as k micro-batches
        (activations of one at a time), their gradients summed, and one optimizer step taken
        (see `train_step`).
        """
        set_gradient_accumulation(self, gradient_accumulation_steps)
        if optimizer == "auto":
            optimizer = adamw_with_warmup(learning_rate, warmup_steps, total_steps, weight_decay)
        # The default loss is the global masked-token mean (see `compute_loss`); a loss given
        # here replaces it and Keras' usual per-replica reduction applies.
        self._global_masked_mean = loss == "auto"
        if loss == "auto":
            loss = masked_lm_loss()
        if weighted_metrics == "auto":
            weighted_metrics = [
                keras.metrics.SparseCategoricalAccuracy(name="masked_accuracy"),
                MaskedLMPerplexity(name="mlm_perplexity"),
            ]
        super().compile(
            optimizer=optimizer, loss=loss, weighted_metrics=weighted_metrics, jit_compile=jit_compile, **kwargs
        )

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Cross-entropy summed over masked tokens, divided by the masked-token count of the
        *global* batch. Per replica it returns `local_sum / global_count`, which is already
        scaled for distribution: replicas' gradients sum to the gradient of the global mean, so
        N replicas with batch B train exactly like one device with batch N*B even when replicas
        hold different numbers of masked tokens."""
        if not getattr(self, "_global_masked_mean", False) or sample_weight is None:
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        cross_entropy = keras.losses.sparse_categorical_crossentropy(y, y_pred, from_logits=True)  # (batch, slots)
        weight = tf.cast(sample_weight, cross_entropy.dtype)
        local_sum = tf.reduce_sum(cross_entropy * weight)
        count = tf.reduce_sum(weight)
        replica_context = tf.distribute.get_replica_context()
        if replica_context is not None and replica_context.num_replicas_in_sync > 1:
            count = replica_context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        loss = tf.math.divide_no_nan(local_sum, count)
        if self.losses:
            loss = loss + keras.src.losses.loss.scale_loss_for_distribution(tf.add_n(self.losses))
        return loss

    def accumulation_normaliser(self, x, y, sample_weight):
        """With `gradient_accumulation_steps = k > 1`: the masked-token count of the whole global
        batch (every micro-batch is in this step's input), so the micro-batches' summed gradient
        is exactly the k-times-larger batch's, whatever each one's share of masked tokens."""
        if not getattr(self, "_global_masked_mean", False) or sample_weight is None:
            return None
        count = tf.reduce_sum(tf.cast(sample_weight, self.compute_dtype))
        replica_context = tf.distribute.get_replica_context()
        if replica_context is not None and replica_context.num_replicas_in_sync > 1:
            count = replica_context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        return count

    def micro_batch_loss(self, x, y, y_pred, sample_weight, steps, normaliser):
        if normaliser is None:
            return super().micro_batch_loss(x, y, y_pred, sample_weight, steps, normaliser)
        cross_entropy = keras.losses.sparse_categorical_crossentropy(y, y_pred, from_logits=True)  # (batch, slots)
        return tf.math.divide_no_nan(tf.reduce_sum(cross_entropy * tf.cast(sample_weight, cross_entropy.dtype)),
                                     normaliser)

    def get_compile_config(self):
        """Not saved: `compile()` takes schedule lengths that belong to a run, so a loaded
        pretrainer is compiled again by whoever continues training it."""
        return None

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "backbone": keras.saving.serialize_keras_object(self.backbone)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

