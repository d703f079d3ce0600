"""Masked-LM pretraining model: an encoder backbone plus a tied head at the masked slots.

Takes the `x` dict made by `tfssl.data.mlm_pipeline` (`token_ids`, `padding_mask`,
`mask_positions`) and returns `(batch, max_predictions, vocabulary_size)` logits. The loss is
the cross-entropy over used slots divided by the number of masked tokens in the *global*
batch (not by batch x slots, and not per replica): see `compute_loss`. Under a
`tf.distribute` strategy, N replicas with batch B train exactly like one device with N*B.

Example:

>>> backbone = EncoderBackbone.from_preset("tiny", vocabulary_size=8192)
>>> pretrainer = MaskedLMPretrainer(backbone)
>>> pretrainer.compile(learning_rate=1e-3, warmup_steps=200, total_steps=5000)
>>> pretrainer.fit(train_batches, validation_data=held_out_batches)

Raw documents in (`tfssl pretrain mlm`'s model, masks drawn in tf.data):

>>> pretrainer = MaskedLMPretrainer.from_preset("tiny", vocabulary="runs/vocab", sequence_length=128)
>>> pretrainer.compile(learning_rate=2e-3, warmup_steps=200, total_steps=8 * 700)
>>> pretrainer.fit(documents, batch_size=32, epochs=8)
"""

import keras
import tensorflow as tf

from tfssl.layers.masked_lm_head import MaskedLMHead
from tfssl.losses.token_cross_entropy import TokenCrossEntropy, token_cross_entropy
from tfssl.metrics.masked_lm_perplexity import MaskedLMPerplexity
from tfssl.metrics.token_accuracy import TokenAccuracy
from tfssl.models.gradient_accumulation import GradientAccumulation
from tfssl.models.task import Task, encoder_features


def masked_lm_loss():
    """Cross-entropy at the masked slots, averaged over masked tokens (slot weights)."""
    return TokenCrossEntropy(reduction="mean_with_sample_weight", name="masked_lm_loss")


def masked_lm_preprocessor(vocabulary, tokenizer, sequence_length, lowercase, seed, preprocessor_kwargs=None):
    """The `MaskedLMPreprocessor` of a `from_preset` model: from exactly one of `vocabulary` (a `vocab.txt`
    directory, file or token list) and `tokenizer` (a `WordPieceTokenizer`)."""
    from tfssl.preprocessors.masked_lm_preprocessor import MaskedLMPreprocessor

    if (vocabulary is None) == (tokenizer is None):
        raise ValueError("Give exactly one of vocabulary= (a vocab.txt directory, file or token list) and "
                         "tokenizer= (a WordPieceTokenizer).")
    kwargs = dict(sequence_length=sequence_length, seed=seed, **(preprocessor_kwargs or {}))
    return (MaskedLMPreprocessor(tokenizer, **kwargs) if tokenizer is not None
            else MaskedLMPreprocessor.from_vocabulary(vocabulary, lowercase=lowercase, **kwargs))


@keras.saving.register_keras_serializable(package="tfssl")
class MaskedLMPretrainer(GradientAccumulation, Task):
    """Args:
    backbone: an `EncoderBackbone` (or any backbone with `token_embedding` and
        `sequence_output`).
    preprocessor: optional `MaskedLMPreprocessor`; with one, `fit` takes raw documents.
    """

    compile_defaults = {"learning_rate": 1e-3, "warmup_steps": 100, "total_steps": 10_000, "weight_decay": 0.01}

    def __init__(self, backbone, preprocessor=None, **kwargs):
        super().__init__(backbone, preprocessor, **kwargs)
        self.masked_lm_head = MaskedLMHead(
            vocabulary_size=backbone.vocabulary_size,
            hidden_dim=getattr(backbone, "token_embedding_dim", backbone.hidden_dim),
            input_dim=backbone.hidden_dim,
            activation=backbone.activation,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            initializer_range=backbone.initializer_range,
            token_embedding=backbone.token_embedding,
            name="masked_lm_head",
        )

    @classmethod
    def from_preset(cls, preset, vocabulary=None, tokenizer=None, sequence_length=128, lowercase=True, seed=0,
                    preprocessor_kwargs=None, **backbone_overrides):
        """The `tfssl pretrain mlm` model by name: `EncoderBackbone.from_preset(preset, ...)` sized to
        the vocabulary, and a `MaskedLMPreprocessor` (so `fit` takes raw documents).

        `vocabulary`: a `vocab.txt` directory/file or a token list (or give `tokenizer`).
        `sequence_length`: the preprocessor's block length (the position table is the preset's).
        Other keyword arguments override the preset's backbone settings.
        """
        from tfssl.models.encoder_backbone import EncoderBackbone

        preprocessor = masked_lm_preprocessor(vocabulary, tokenizer, sequence_length, lowercase, seed,
                                              preprocessor_kwargs)
        backbone = EncoderBackbone.from_preset(preset, vocabulary_size=preprocessor.tokenizer.vocabulary_size,
                                               **backbone_overrides)
        pretrainer = cls(backbone, preprocessor=preprocessor)
        pretrainer.build()
        return pretrainer

    def build_head(self):
        self.masked_lm_head.build((None, None, self.backbone.hidden_dim), (None, None))

    def call(self, inputs, training=None):
        sequence_output = self.backbone(encoder_features(inputs), training=training)["sequence_output"]
        return self.masked_lm_head(sequence_output, inputs["mask_positions"])  # (batch, slots, vocabulary_size)

    def compile(self, optimizer="auto", loss="auto", weighted_metrics="auto", **kwargs):
        """Compiles with pretraining defaults; "auto" picks them, anything else overrides (see
        `Task.compile`: `learning_rate=1e-3`, `warmup_steps=100`, `total_steps=10_000`,
        `weight_decay=0.01`, `jit_compile=True`, `gradient_accumulation_steps=1`).

        `gradient_accumulation_steps=k`: each replica's share of a batch is run as k micro-batches
        (activations of one at a time), their gradients summed, and one optimizer step taken.
        """
        # The default loss is the global masked-token mean (see `compute_loss`); a loss given
        # here replaces it and Keras' usual per-replica reduction applies.
        self._global_masked_mean = loss == "auto"
        super().compile(optimizer=optimizer, loss=loss, weighted_metrics=weighted_metrics, **kwargs)

    def default_loss(self):
        return masked_lm_loss()

    def default_weighted_metrics(self):
        return [TokenAccuracy(name="masked_accuracy"),
                MaskedLMPerplexity(name="mlm_perplexity")]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Cross-entropy summed over masked tokens, divided by the masked-token count of the
        *global* batch. Per replica it returns `local_sum / global_count`, which is already
        scaled for distribution: replicas' gradients sum to the gradient of the global mean, so
        N replicas with batch B train exactly like one device with batch N*B even when replicas
        hold different numbers of masked tokens."""
        if not getattr(self, "_global_masked_mean", False) or sample_weight is None:
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        cross_entropy = token_cross_entropy(y, y_pred)  # (batch, slots), float32
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
        count = tf.reduce_sum(tf.cast(sample_weight, "float32"))  # float32 under mixed precision too
        replica_context = tf.distribute.get_replica_context()
        if replica_context is not None and replica_context.num_replicas_in_sync > 1:
            count = replica_context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        return count

    def micro_batch_loss(self, x, y, y_pred, sample_weight, steps, normaliser):
        if normaliser is None:
            return super().micro_batch_loss(x, y, y_pred, sample_weight, steps, normaliser)
        cross_entropy = token_cross_entropy(y, y_pred)  # (batch, slots), float32
        return tf.math.divide_no_nan(tf.reduce_sum(cross_entropy * tf.cast(sample_weight, cross_entropy.dtype)),
                                     normaliser)
