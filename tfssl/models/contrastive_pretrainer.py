"""SimCSE-style contrastive pretraining of sentence embeddings over any tfssl encoder.

* Unsupervised SimCSE (Gao et al. 2021): `x` is one batch of sentences
  (`token_ids`, `padding_mask`); each sentence is encoded twice in training mode, and the two
  dropout views are the positive pair. The backbone needs dropout > 0 (`with_dropout`).
* Supervised: `x = {"anchor": ..., "positive": ...[, "negative": ...]}`, each a feature dict.

The loss is InfoNCE (`tfssl.losses.info_nce_loss`) with the keys (and hard negatives) of the
*whole global batch* gathered across replicas, averaged over the global batch: N replicas with
batch B train like one device with batch N*B.

MoCo option (`queue_size=K > 0`, He et al. 2020): keys come from a momentum encoder, an EMA copy
of the backbone (and projection) that gets no gradients, and a FIFO queue of the last K global
keys adds K negatives. Both are non-trainable variables updated inside the train step, after the
optimizer: every replica computes the same gathered keys and the same EMA, so replicas agree.
`queue[0]` is the newest key; slots not yet filled are left out of the loss. Needs
`jit_compile=False` under a multi-replica strategy (as every tfssl model on CPU replicas).

Example:

>>> encoder = with_dropout(mlm_pretrainer.backbone, 0.1)
>>> simcse = ContrastivePretrainer(encoder, pooling="cls_mlp")
>>> simcse.compile(learning_rate=1e-4)
>>> simcse.fit(sentence_batches(sentences, tokenizer, 64, 64), epochs=1)
"""

import keras
import tensorflow as tf

from tfssl.layers.sentence_pooling import CONTRASTIVE_POOLING_MODES, SentencePooling
from tfssl.losses.info_nce import info_nce_loss
from tfssl.models.encoder_backbone import EncoderBackbone
from tfssl.models.task import Task


def with_dropout(backbone, dropout):
    """A copy of an `EncoderBackbone` with another dropout rate and the same weights."""
    config = backbone.get_config()
    config["dropout"] = float(dropout)
    copy = EncoderBackbone.from_config(config)
    copy.build()
    copy.set_weights(backbone.get_weights())
    return copy


@keras.saving.register_keras_serializable(package="tfssl")
class ContrastivePretrainer(Task):
    """Args:
    backbone: an `EncoderBackbone`.
    pooling: `cls_mlp` (CLS state + a tanh MLP used only in training, SimCSE's choice), `cls`,
        `mean` (over real tokens), `mean_mlp` (mean + the training-only MLP), `first_last_mean` or
        `all_layers_mean` (see `SentencePooling`). Embeddings are taken before the MLP.
    temperature: InfoNCE temperature.
    symmetric: also score keys against queries and average the two losses.
    hard_negative_weight: added to hard-negative logits (supervised SimCSE's log-weight).
    queue_size: K > 0 turns on MoCo: momentum key encoder + a queue of K negative keys.
    momentum: EMA rate of the key encoder (MoCo: 0.999).
    preprocessor: optional `SentencePreprocessor`; with one, `fit` takes raw sentences (or
        `{"anchor": texts, "positive": texts[, "negative": texts]}` for supervised pairs).
    """

    compile_defaults = {"learning_rate": 1e-4, "weight_decay": 0.01}

    def __init__(
        self,
        backbone,
        pooling="cls_mlp",
        temperature=0.05,
        symmetric=False,
        hard_negative_weight=0.0,
        queue_size=0,
        momentum=0.999,
        preprocessor=None,
        **kwargs,
    ):
        super().__init__(backbone, preprocessor, **kwargs)
        if pooling not in CONTRASTIVE_POOLING_MODES:
            raise ValueError(f"pooling must be one of {CONTRASTIVE_POOLING_MODES}, got {pooling!r}.")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        if queue_size < 0 or not 0.0 <= momentum < 1.0:
            raise ValueError(f"Need queue_size >= 0 and 0 <= momentum < 1, got {queue_size} and {momentum}.")
        if queue_size and symmetric:
            raise ValueError("symmetric=True is not defined with a MoCo queue (keys get no gradient); drop one.")
        self.pooling = pooling
        self.temperature = float(temperature)
        self.symmetric = bool(symmetric)
        self.hard_negative_weight = float(hard_negative_weight)
        self.queue_size = int(queue_size)
        self.momentum = float(momentum)
        self.sentence_pooling = SentencePooling({"cls_mlp": "cls", "mean_mlp": "mean"}.get(pooling, pooling))
        self.projection = self._make_projection("projection")
        self.key_backbone, self.key_projection = None, None
        if self.queue_size:
            self.key_backbone = type(backbone).from_config({**backbone.get_config(), "name": "key_backbone"})
            self.key_backbone.trainable = False
            self.key_projection = self._make_projection("key_projection")
            if self.key_projection is not None:
                self.key_projection.trainable = False

    def _make_projection(self, name):
        if not self.pooling.endswith("_mlp"):
            return None
        return keras.layers.Dense(self.backbone.hidden_dim, activation="tanh", name=name)

    def build_head(self):
        if self.projection is not None:
            self.projection.build((None, self.backbone.hidden_dim))
        if self.queue_size:
            self.key_backbone.build()
            if self.key_projection is not None:
                self.key_projection.build((None, self.backbone.hidden_dim))
            self._copy_to_key_encoder()
            dim = self.backbone.hidden_dim
            self.queue = self.add_weight(shape=(self.queue_size, dim), initializer="zeros", trainable=False, name="queue")
            self.queue_filled = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="queue_filled")

    def _encoder_pairs(self):
        """(key encoder weight, query encoder weight) pairs, in the same creation order."""
        pairs = list(zip(self.key_backbone.weights, self.backbone.weights))
        if self.projection is not None:
            pairs += list(zip(self.key_projection.weights, self.projection.weights))
        mismatched = [(k.path, q.path) for k, q in pairs if k.shape != q.shape]
        if mismatched or len(self.key_backbone.weights) != len(self.backbone.weights):
            raise ValueError(f"The momentum encoder does not mirror the backbone: {mismatched[:3]}")
        return pairs

    def _copy_to_key_encoder(self):
        for key_weight, weight in self._encoder_pairs():
            key_weight.assign(weight)

    def embed(self, features, training=False):
        """Feature dict -> (batch, hidden_dim) sentence vectors (no MLP outside training)."""
        vectors = self.sentence_pooling.pool(self.backbone(features, training=training), features["padding_mask"])
        if self.projection is not None and training:
            vectors = self.projection(vectors)
        return vectors

    def embed_keys(self, features, training=False):
        """Keys: from the momentum encoder (no gradient) with MoCo, else from `embed`."""
        if not self.queue_size:
            return self.embed(features, training)
        vectors = self.sentence_pooling.pool(self.key_backbone(features, training=training), features["padding_mask"])
        if self.key_projection is not None and training:
            vectors = self.key_projection(vectors)
        return tf.stop_gradient(vectors)

    def call(self, inputs, training=None):
        if "anchor" in inputs:
            out = {"queries": self.embed(inputs["anchor"], training), "keys": self.embed_keys(inputs["positive"], training)}
            if "negative" in inputs:
                out["negatives"] = self.embed_keys(inputs["negative"], training)
            return out
        # Unsupervised: two passes, two dropout masks (HashDropout draws a new key per call).
        return {"queries": self.embed(inputs, training), "keys": self.embed_keys(inputs, training)}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        queue = queue_valid = None
        if self.queue_size:
            queue = tf.convert_to_tensor(self.queue)  # (K, dim), read before this step's enqueue
            queue_valid = tf.range(self.queue_size) < tf.convert_to_tensor(self.queue_filled)  # (K,)
        losses = info_nce_loss(
            y_pred["queries"], y_pred["keys"], y_pred.get("negatives"), self.temperature, self.hard_negative_weight,
            queue=queue, queue_valid=queue_valid,
        )
        if self.symmetric:
            losses = 0.5 * (losses + info_nce_loss(y_pred["keys"], y_pred["queries"], None, self.temperature))
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        # Mean over the global batch, split across replicas (Keras sums replica gradients).
        loss = tf.reduce_sum(losses) / (tf.cast(tf.shape(losses)[0], losses.dtype) * replicas)
        if self.queue_size and training:
            with tf.control_dependencies([loss]):
                self.enqueue(y_pred["keys"])
        return loss

    def enqueue(self, keys):
        """Pushes this step's keys of the whole global batch (replica order) to the queue front."""
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            keys = context.all_gather(keys, axis=0)  # (global_batch, dim), the same on every replica
        keys = tf.math.l2_normalize(tf.cast(tf.stop_gradient(keys), self.queue.dtype), axis=-1)  # float32 queue
        self.queue.assign(tf.concat([keys, tf.convert_to_tensor(self.queue)], axis=0)[: self.queue_size])
        self.queue_filled.assign(tf.minimum(tf.convert_to_tensor(self.queue_filled) + tf.shape(keys)[0], self.queue_size))

    def train_step(self, data):
        logs = super().train_step(data)
        if self.queue_size:
            # After the optimizer step: key = m * key + (1 - m) * query weights.
            for key_weight, weight in self._encoder_pairs():
                key_weight.assign(self.momentum * key_weight + (1.0 - self.momentum) * weight)
        return logs

    def default_optimizer(self, learning_rate, weight_decay):
        """AdamW (no decay on LayerNorm/biases); `learning_rate` may be a schedule."""
        optimizer = keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "layer_norm"])
        return optimizer

    def get_config(self):
        return {
            **super().get_config(),
            "pooling": self.pooling,
            "temperature": self.temperature,
            "symmetric": self.symmetric,
            "hard_negative_weight": self.hard_negative_weight,
            "queue_size": self.queue_size,
            "momentum": self.momentum,
        }
