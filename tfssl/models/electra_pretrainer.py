"""ELECTRA pretraining: a small masked-LM generator proposes replacements, the encoder learns to spot them.

    masked batch (tf.data: token_ids with [MASK]s, mask_positions; y = the original ids there)
      -> generator (narrower EncoderBackbone sharing the embeddings) -> MaskedLMHead at the slots
      -> one replacement sampled per slot from the generator's softmax (no gradient through it)
      -> the corrupted sequence -> discriminator (`backbone`) -> ReplacedTokenHead: one logit per token

Loss = generator masked-LM loss (mean over masked tokens) + `replaced_token_weight` x replaced-token
detection loss (sigmoid cross-entropy, mean over every non-padding token). Both means are over the *global*
batch (counts all-reduced across replicas), as `MaskedLMPretrainer`'s, so N replicas with batch B train like
one device with N*B. The discriminator learns from every token, not the 15% the generator predicts; that is
why ELECTRA learns more per step than masked LM (Clark et al., 2020).

The generator and the discriminator share the whole embedding layer (tokens, positions, segments, LayerNorm),
as in the paper; a generator narrower than `embedding_dim` projects it down. The `backbone` is the
discriminator: fine-tuning, embedding and export take it like any encoder (`RunDirectory.encoder()`).

Example:

>>> backbone = EncoderBackbone.from_preset("tiny", vocabulary_size=8192)
>>> pretrainer = ElectraPretrainer(backbone)                      # generator half as wide
>>> pretrainer.compile(learning_rate=2e-3, warmup_steps=200, total_steps=5000)
>>> pretrainer.fit(masked_batches)                                 # tfssl.data.mlm_pipeline batches
"""

import keras
import tensorflow as tf

from tfssl.layers.masked_lm_head import MaskedLMHead
from tfssl.layers.replaced_token_head import ReplacedTokenHead
from tfssl.losses.token_cross_entropy import token_cross_entropy
from tfssl.metrics.token_accuracy import TokenAccuracy
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.masked_lm_pretrainer import masked_lm_preprocessor
from tfssl.models.task import Task, encoder_features
from tfssl.models.token_sampling import softmax_sample

GENERATOR_SIZES = ("num_layers", "num_heads", "hidden_dim", "intermediate_dim")


def generator_sizes(backbone, size=0.5):
    """The sizes of a generator `size` times as wide as the discriminator `backbone` (hidden, heads and
    intermediate widths; the same depth). The paper found 1/4 to 1/2 best."""
    if not 0 < size <= 1:
        raise ValueError(f"The generator size must be in (0, 1] of the discriminator's width, got {size}: a "
                         "generator larger than the discriminator makes replacements it cannot learn to detect.")
    heads = max(int(round(backbone.num_heads * size)), 1)
    head_dim = max(int(round(backbone.hidden_dim * size / heads)), 1)
    return {"num_layers": backbone.num_layers, "num_heads": heads, "hidden_dim": heads * head_dim,
            "intermediate_dim": max(int(round(backbone.intermediate_dim * size)), 1)}


def check_generator(backbone, generator):
    """Raises `ValueError` naming the fix when `generator` (a dict of sizes, optionally with `vocabulary_size`
    and `embedding_dim`) cannot serve `backbone`: unknown keys, another vocabulary or embedding width, or a
    generator larger than the discriminator."""
    unknown = sorted(set(generator) - set(GENERATOR_SIZES) - {"vocabulary_size", "embedding_dim"})
    if unknown or set(GENERATOR_SIZES) - set(generator):
        raise ValueError(f"generator must give {', '.join(GENERATOR_SIZES)}; got {sorted(generator)}.")
    if generator.get("vocabulary_size", backbone.vocabulary_size) != backbone.vocabulary_size:
        raise ValueError(f"The generator's vocabulary ({generator['vocabulary_size']} tokens) does not match the "
                         f"discriminator's ({backbone.vocabulary_size}): they share one embedding table. Use one "
                         "tokenizer for both.")
    if generator.get("embedding_dim", backbone.token_embedding_dim) != backbone.token_embedding_dim:
        raise ValueError(f"The generator's embedding_dim ({generator['embedding_dim']}) differs from the "
                         f"discriminator's ({backbone.token_embedding_dim}); the shared embeddings need one width.")
    larger = [k for k in ("num_layers", "hidden_dim", "intermediate_dim") if generator[k] > getattr(backbone, k)]
    if larger:
        raise ValueError(
            "The generator is larger than the discriminator (" + ", ".join(
                f"{k} {generator[k]} > {getattr(backbone, k)}" for k in larger)
            + "): its replacements would be too hard to detect and ELECTRA stops learning. Use a generator 1/4 to "
            "1/2 as wide (generator_size=0.25 to 0.5).")
    if generator["hidden_dim"] % generator["num_heads"]:
        raise ValueError(f"The generator's hidden_dim {generator['hidden_dim']} does not split into "
                         f"{generator['num_heads']} heads.")


@keras.saving.register_keras_serializable(package="tfssl")
class ElectraPretrainer(Task):
    """Args:
    backbone: the discriminator, an `EncoderBackbone`.
    generator: the generator's sizes, `{num_layers, num_heads, hidden_dim, intermediate_dim}` (None:
        `generator_sizes(backbone, 0.5)`); its other settings are the discriminator's.
    preprocessor: optional `MaskedLMPreprocessor`; with one, `fit` takes raw documents.
    replaced_token_weight: weight of the replaced-token detection loss (the paper's lambda is 50; 10 did better
        on a dev split at tfssl's CPU budgets, see the README's "ELECTRA").
    seed: seed of the replacement sampling.
    """

    nested_objects = ("backbone", "preprocessor")
    compile_defaults = {"learning_rate": 1e-3, "warmup_steps": 100, "total_steps": 10_000, "weight_decay": 0.01}

    def __init__(self, backbone, generator=None, preprocessor=None, replaced_token_weight=10.0, seed=None, **kwargs):
        super().__init__(backbone, preprocessor, **kwargs)
        if not replaced_token_weight > 0:
            raise ValueError(f"replaced_token_weight must be > 0, got {replaced_token_weight}: without the "
                             "replaced-token loss the discriminator learns nothing (use masked LM instead).")
        generator = dict(generator or generator_sizes(backbone))
        check_generator(backbone, generator)
        self.generator_config = {k: int(generator[k]) for k in GENERATOR_SIZES}
        self.replaced_token_weight = float(replaced_token_weight)
        self.seed = seed
        settings = {k: getattr(backbone, k) for k in (
            "vocabulary_size", "max_sequence_length", "num_segments", "dropout", "activation", "layer_norm_epsilon",
            "norm_first", "initializer_range", "position_initializer", "rotary")}
        self.generator = EncoderBackbone(**settings, **self.generator_config,
                                         embedding_dim=backbone.token_embedding_dim,
                                         shared_embeddings=backbone.embeddings, name="generator")
        self.generator_head = MaskedLMHead(
            vocabulary_size=backbone.vocabulary_size, hidden_dim=backbone.token_embedding_dim,
            input_dim=self.generator_config["hidden_dim"], activation=backbone.activation,
            layer_norm_epsilon=backbone.layer_norm_epsilon, initializer_range=backbone.initializer_range,
            token_embedding=backbone.token_embedding, name="generator_head")
        self.replaced_token_head = ReplacedTokenHead(backbone.hidden_dim, backbone.activation,
                                                     backbone.initializer_range, name="replaced_token_head")
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Logged by `fit`/`evaluate` (updated in `compute_loss`): each loss, the generator's masked accuracy, the
        # discriminator's per-token accuracy and the share of tokens replaced (1 - that share is the accuracy of
        # always answering "original", the baseline).
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.replaced_loss_tracker = keras.metrics.Mean(name="replaced_loss")
        self.masked_accuracy = TokenAccuracy(name="masked_accuracy")
        self.replaced_accuracy = keras.metrics.Mean(name="replaced_accuracy")
        self.replaced_fraction = keras.metrics.Mean(name="replaced_fraction")

    @classmethod
    def from_preset(cls, preset, vocabulary=None, tokenizer=None, sequence_length=128, lowercase=True, seed=0,
                    preprocessor_kwargs=None, generator_size=0.5, replaced_token_weight=10.0, **backbone_overrides):
        """The `tfssl pretrain electra` model by name: the preset's encoder as the discriminator, a generator
        `generator_size` times as wide, and a `MaskedLMPreprocessor` (so `fit` takes raw documents). Arguments
        as `MaskedLMPretrainer.from_preset`."""
        preprocessor = masked_lm_preprocessor(vocabulary, tokenizer, sequence_length, lowercase, seed,
                                              preprocessor_kwargs)
        backbone = EncoderBackbone.from_preset(preset, vocabulary_size=preprocessor.tokenizer.vocabulary_size,
                                               **backbone_overrides)
        pretrainer = cls(backbone, generator_sizes(backbone, generator_size), preprocessor=preprocessor,
                         replaced_token_weight=replaced_token_weight, seed=seed)
        pretrainer.build()
        return pretrainer

    def build_head(self):
        self.generator.build()
        self.generator_head.build((None, None, self.generator_config["hidden_dim"]), (None, None))
        self.replaced_token_head.build((None, None, self.backbone.hidden_dim))

    def call(self, inputs, training=None):
        """`{"generator_logits": (batch, slots, vocabulary_size), "sampled_ids": (batch, slots),
        "replaced_logits": (batch, length)}`. Slots at position 0 are unused (`MaskedLMMasker`'s convention:
        position 0 holds [CLS], never masked)."""
        features = encoder_features(inputs)
        positions = tf.cast(inputs["mask_positions"], tf.int32)  # (batch, slots)
        generated = self.generator(features, training=training)["sequence_output"]  # (batch, length, gen hidden)
        generator_logits = self.generator_head(generated, positions)  # (batch, slots, vocabulary_size)
        sampled = self.sample(generator_logits)  # (batch, slots) int32
        corrupted = dict(features, token_ids=replace_at_slots(features["token_ids"], positions, sampled))
        sequence = self.backbone(corrupted, training=training)["sequence_output"]  # (batch, length, hidden_dim)
        return {"generator_logits": generator_logits, "sampled_ids": sampled,
                "replaced_logits": self.replaced_token_head(sequence)}

    def sample(self, generator_logits):
        """One token per slot from the generator's softmax: (batch, slots, vocabulary_size) -> (batch, slots).
        Under a strategy every replica draws its uniforms from the same seed state (its logits, so its draws,
        differ); the state advances every step and is kept in step backups, so a resumed run draws the same."""
        logits = tf.stop_gradient(generator_logits)
        shape = tf.shape(logits)
        flat = tf.reshape(logits, [-1, shape[-1]])  # (batch * slots, vocabulary_size)
        uniforms = keras.random.uniform((tf.shape(flat)[0], 2), seed=self.seed_generator)  # (batch * slots, 2)
        return tf.reshape(softmax_sample(flat, uniforms), shape[:2])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Generator loss (masked-token mean) + `replaced_token_weight` x detection loss (non-padding token
        mean), each divided by its count in the *global* batch, so replica gradients sum to the global mean's."""
        weight = tf.cast(sample_weight, tf.float32)  # (batch, slots)
        generator_losses = token_cross_entropy(y, y_pred["generator_logits"])  # (batch, slots), float32
        positions = tf.cast(x["mask_positions"], tf.int32)
        used = weight * tf.cast(positions > 0, tf.float32)  # what `replace_at_slots` wrote
        replaced_slots = tf.cast(tf.not_equal(y_pred["sampled_ids"], tf.cast(y, tf.int32)), tf.float32) * used
        logits = tf.cast(y_pred["replaced_logits"], tf.float32)  # (batch, length)
        labels = tf.einsum("bs,bsl->bl", replaced_slots, tf.one_hot(positions, tf.shape(logits)[1]))  # (batch, length)
        labels = tf.minimum(labels, 1.0)
        padding = tf.cast(x["padding_mask"], tf.float32)  # (batch, length)
        replaced_losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        masked_count, token_count = _global_sum(tf.reduce_sum(weight)), _global_sum(tf.reduce_sum(padding))
        generator_loss = tf.math.divide_no_nan(tf.reduce_sum(generator_losses * weight), masked_count)
        replaced_loss = tf.math.divide_no_nan(tf.reduce_sum(replaced_losses * padding), token_count)
        self.generator_loss_tracker.update_state(generator_losses, sample_weight=weight)
        self.replaced_loss_tracker.update_state(replaced_losses, sample_weight=padding)
        self.masked_accuracy.update_state(y, y_pred["generator_logits"], sample_weight=weight)
        self.replaced_accuracy.update_state(tf.cast(tf.equal(logits > 0, labels > 0.5), tf.float32), sample_weight=padding)
        self.replaced_fraction.update_state(labels, sample_weight=padding)
        loss = generator_loss + self.replaced_token_weight * replaced_loss
        if self.losses:
            loss = loss + keras.src.losses.loss.scale_loss_for_distribution(tf.add_n(self.losses))
        return loss

    def get_config(self):
        return {**super().get_config(), "generator": dict(self.generator_config),
                "replaced_token_weight": self.replaced_token_weight, "seed": self.seed}


def replace_at_slots(token_ids, positions, replacements):
    """`token_ids` with `replacements[b, s]` written at `positions[b, s]`; slots at position 0 are unused and
    change nothing (`MaskedLMMasker` points them there: position 0 holds [CLS], never masked).

        token_ids    [[2, 7, 8, 9]]     positions [[1, 3, 0]]     replacements [[5, 6, 4]]
        ->           [[2, 5, 8, 6]]
    """
    token_ids = tf.cast(token_ids, tf.int32)  # (batch, length)
    positions = tf.cast(positions, tf.int32)  # (batch, slots)
    slots = tf.one_hot(positions, tf.shape(token_ids)[1]) * tf.cast(positions > 0, tf.float32)[..., None]
    # slots: (batch, slots, length), one 1 per used slot at its position (ids < 2**24 are exact in float32).
    at_slot = tf.reduce_sum(slots, axis=1) > 0  # (batch, length)
    written = tf.cast(tf.einsum("bsl,bs->bl", slots, tf.cast(replacements, tf.float32)), tf.int32)  # (batch, length)
    return tf.where(at_slot, written, token_ids)


def _global_sum(value):
    """`value` summed over the replicas in sync (itself outside a strategy)."""
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        return context.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value
