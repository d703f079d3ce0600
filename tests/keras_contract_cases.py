"""One contract case per registered tfssl Keras class: how to build a tiny instance, what to feed
it, and how to train it one step. `tests/test_keras_contract.py` runs the same checks over all of
them and fails for a registered class that has no case here.

The instances come from `tests/keras_contract_factories.py` (one constructor call per class).

Kinds and what the test does with them:
    layer        wrapped in `LayerHarness` (a subclassed model, registered under `tfssl_tests`)
                 for `.keras` saving, fitting and mixed precision
    model        saved, fitted and run as it is; `fit` defaults to the harness's squared-output
                 loss (backbones), task models pass their own `compile` and data
    metric, initializer, schedule, optimizer, loss
                 used inside a tiny Dense model (see `auxiliary_model`)
"""

import dataclasses
import functools
from typing import Any, Callable, Optional

import keras
import numpy as np
import tensorflow as tf

from tests import keras_contract_factories as make
from tests.keras_contract_factories import (BATCH, HIDDEN_DIM, LENGTH, TEXTS, encoder_features, floats, padding_mask,
                                            token_ids)


@dataclasses.dataclass
class Case:
    """How the contract test builds and drives one registered class.

    build: () -> a fresh instance (everything under the current dtype policy).
    inputs: () -> example inputs, the same on every call (a dict for layers and most models).
    call: (obj, inputs, training) -> outputs; default `obj(inputs, training=training)`.
    kind: "layer", "model", "metric", "initializer", "schedule", "optimizer" or "loss".
    trainable: whether one fit step must change trainable weights.
    fit: (obj) -> None, one training step; default: `LayerHarness` with a squared-output loss.
    extras: (layer) -> dict of layers a harness owns beside the layer (tied embeddings).
    unserialized: `__init__` arguments deliberately not in `get_config` (passed again by owners).
    unused_weights: parts of weight paths that get no gradient in this case's fit step (an encoder's
        pooler under a task that does not read `pooled_output`); every other trainable weight must change.
    """

    build: Callable[[], Any]
    kind: str = "layer"
    inputs: Callable[[], Any] = lambda: {}
    call: Optional[Callable] = None
    trainable: bool = True
    fit: Optional[Callable] = None
    extras: Optional[Callable] = None
    unserialized: tuple = ()
    unused_weights: tuple = ()

    def run(self, obj, inputs, training=False):
        if self.call is not None:
            return self.call(obj, inputs, training)
        return obj(inputs, training=training)


# ---------------------------------------------------------------------------------------------
# The harness: any layer inside a subclassed model, for saving, fitting and mixed precision.


@keras.saving.register_keras_serializable(package="tfssl_tests")
class LayerHarness(keras.Model):
    """`layer` driven by its case: call, extra owned layers (tied embeddings), and a loss that is the
    mean square of every floating output (so one fit step gives every used weight a gradient)."""

    def __init__(self, layer, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.layer = layer
        spec = CASES[case]
        for name, extra in (spec.extras(layer) if spec.extras else {}).items():
            setattr(self, name, extra)

    def call(self, inputs, training=False):
        return CASES[self.case].run(self.layer, inputs, training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        outputs = [t for t in tf.nest.flatten(y_pred) if t.dtype.is_floating]
        return tf.add_n([tf.reduce_mean(tf.square(tf.cast(t, "float32"))) for t in outputs])

    def build_from_config(self, config):
        self(CASES[self.case].inputs())

    def get_config(self):
        layer = keras.saving.serialize_keras_object(self.layer)
        layer.pop("build_config", None)  # built by `build_from_config`, after the owner's extras are linked
        return {"name": self.name, "trainable": self.trainable, "case": self.case, "layer": layer}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def fit_harness(harness, steps=1):
    """`steps` fit steps of a `LayerHarness` on its case's inputs, with the squared-output loss."""
    harness.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    batches = tf.data.Dataset.from_tensors(CASES[harness.case].inputs()).repeat(steps)
    harness.fit(batches, epochs=1, shuffle=False, verbose=0)


def harness_fit(case_name):
    """The `fit` of a model without a loss of its own (a backbone): one step inside a `LayerHarness`."""
    return lambda model: fit_harness(LayerHarness(model, case_name))


# ---------------------------------------------------------------------------------------------
# Task models' own training step (their compile defaults, their batches).


def _fit_compiled(x, y=None, sample_weight=None, **compile_kwargs):
    def fit(model):
        compile_kwargs.setdefault("jit_compile", False)
        model.compile(**compile_kwargs)
        model.fit(x, y, sample_weight=sample_weight, batch_size=BATCH, epochs=1, verbose=0)

    return fit


POOLER = ("pooler/",)  # BERT's pooler: read only by `pooled_output`
_TASK_SCHEDULE = dict(learning_rate=1e-2, warmup_steps=0, total_steps=10)


def masked_lm_batch():
    positions = np.array([[1, 3, 0], [2, 4, 5]], "int32")  # (batch, slots)
    x = {**encoder_features(), "mask_positions": positions}
    ids = np.take_along_axis(token_ids(), positions, axis=1)
    return x, ids, np.array([[1, 1, 0], [1, 1, 1]], "float32")


def causal_lm_batch():
    ids = token_ids(length=LENGTH + 1)
    return {"token_ids": ids[:, :-1]}, ids[:, 1:]


def _embedder_fit(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", jit_compile=False)
    model.fit(tf.constant(TEXTS), floats(BATCH, HIDDEN_DIM), batch_size=BATCH, epochs=1, verbose=0)


# ---------------------------------------------------------------------------------------------
# The cases, by registered name.


def _layer_cases():
    return {
        "tfssl>HashDropout": Case(make.hash_dropout, inputs=lambda: {"x": floats(BATCH, LENGTH, HIDDEN_DIM)},
                                  call=lambda layer, x, training: layer(x["x"], training=training), trainable=False),
        "tfssl>MaskedLMMasker": Case(
            make.masked_lm_masker, inputs=lambda: {"token_ids": token_ids()}, trainable=False,
            call=lambda layer, x, training: layer(x["token_ids"], seed=tf.constant([1, 2]))),
        "tfssl>SentencePooling": Case(
            make.sentence_pooling, trainable=False,
            inputs=lambda: {"sequence_output": floats(BATCH, LENGTH, HIDDEN_DIM), "padding_mask": padding_mask(),
                            "first_layer_output": floats(BATCH, LENGTH, HIDDEN_DIM, seed=1)},
            call=lambda layer, x, training: layer(x["sequence_output"], x["padding_mask"], x["first_layer_output"])),
        "tfssl>TokenAndPositionEmbedding": Case(
            make.token_and_position_embedding,
            inputs=lambda: {"token_ids": token_ids(), "segment_ids": np.zeros((BATCH, LENGTH), "int32")},
            call=lambda layer, x, training: layer(x["token_ids"], x["segment_ids"], training=training)),
        "tfssl>MaskedLMHead": Case(
            make.masked_lm_head, extras=make.tied_embedding, unserialized=("token_embedding",),
            inputs=lambda: {"sequence_output": floats(BATCH, LENGTH, HIDDEN_DIM),
                            "mask_positions": np.array([[1, 3, 0], [2, 4, 5]], "int32")},
            call=lambda layer, x, training: layer(x["sequence_output"], x["mask_positions"])),
        "tfssl>ReplacedTokenHead": Case(
            make.replaced_token_head, inputs=lambda: {"x": floats(BATCH, LENGTH, HIDDEN_DIM)},
            call=lambda layer, x, training: layer(x["x"])),
        "tfssl>CachedSelfAttention": Case(
            make.cached_self_attention,
            inputs=lambda: {"x": floats(BATCH, LENGTH, HIDDEN_DIM), "padding_mask": padding_mask()},
            call=lambda layer, x, training: layer(x["x"], padding_mask=x["padding_mask"], training=training)),
        "tfssl>TransformerEncoderBlock": Case(
            make.transformer_encoder_block,
            inputs=lambda: {"x": floats(BATCH, LENGTH, HIDDEN_DIM), "padding_mask": padding_mask()},
            call=lambda layer, x, training: layer(x["x"], padding_mask=x["padding_mask"], training=training)),
        "tfssl>TransformerDecoderBlock": Case(
            make.transformer_decoder_block, inputs=lambda: {"x": floats(BATCH, LENGTH, HIDDEN_DIM)},
            call=lambda layer, x, training: layer(x["x"], training=training)),
        "tfssl>InfoNCE": Case(
            make.info_nce, trainable=False,
            inputs=lambda: {"queries": floats(4, HIDDEN_DIM), "keys": floats(4, HIDDEN_DIM, seed=1)},
            call=lambda layer, x, training: layer(x["queries"], x["keys"])),
    }


def _dense_ids(layer, x, training):
    return layer(x["text"]).to_tensor()  # (batch, longest) ids, 0-padded


def _tokenizer_cases():
    tokenizer = lambda build: Case(build, inputs=lambda: {"text": tf.constant(TEXTS)}, call=_dense_ids,
                                   trainable=False)
    return {
        "tfssl>WordPieceTokenizer": tokenizer(make.wordpiece_tokenizer),
        "tfssl>CharacterTokenizer": tokenizer(make.character_tokenizer),
        "tfssl>SentencePieceTokenizer": tokenizer(make.sentencepiece_tokenizer),
        "tfssl>ByteLevelBPETokenizer": tokenizer(make.byte_level_bpe_tokenizer),
    }


def _preprocessor_cases():
    preprocessor = lambda build: Case(build, inputs=lambda: {"text": tf.constant(TEXTS)}, trainable=False,
                                      call=lambda layer, x, training: layer(x["text"], seed=tf.constant([1, 2])))
    return {
        "tfssl>MaskedLMPreprocessor": preprocessor(make.masked_lm_preprocessor),
        "tfssl>CausalLMPreprocessor": preprocessor(make.causal_lm_preprocessor),
        "tfssl>SentencePreprocessor": preprocessor(make.sentence_preprocessor),
        "tfssl>TextClassifierPreprocessor": preprocessor(make.text_classifier_preprocessor),
    }


def _electra_call(model, x, training):
    """A call from a fixed sampling state: the replacements it samples are then the same on every call."""
    model.seed_generator.state.assign(tf.constant([0, 7], model.seed_generator.state.dtype))
    return model(x, training=training)


def _model_cases():
    mlm_x, mlm_y, mlm_w = masked_lm_batch()
    clm_x, clm_y = causal_lm_batch()
    features = encoder_features()
    sentences = lambda: {k: v for k, v in encoder_features().items() if k != "segment_ids"}
    model = functools.partial(Case, kind="model")
    task = functools.partial(Case, kind="model", unused_weights=POOLER)
    return {
        "tfssl>EncoderBackbone": model(make.encoder_backbone, inputs=encoder_features,
                                       fit=harness_fit("tfssl>EncoderBackbone")),
        "tfssl>DecoderBackbone": model(make.decoder_backbone, inputs=lambda: {"token_ids": token_ids()},
                                       fit=harness_fit("tfssl>DecoderBackbone")),
        "tfssl>MaskedLMPretrainer": task(make.masked_lm_pretrainer, inputs=lambda: masked_lm_batch()[0],
                                         fit=_fit_compiled(mlm_x, mlm_y, mlm_w, **_TASK_SCHEDULE)),
        "tfssl>ElectraPretrainer": task(make.electra_pretrainer, inputs=lambda: masked_lm_batch()[0],
                                        call=_electra_call,
                                        fit=_fit_compiled(mlm_x, mlm_y, mlm_w, **_TASK_SCHEDULE)),
        "tfssl>CausalLMPretrainer": model(make.causal_lm_pretrainer, inputs=lambda: causal_lm_batch()[0],
                                          fit=_fit_compiled(clm_x, clm_y, **_TASK_SCHEDULE)),
        "tfssl>ContrastivePretrainer": task(make.contrastive_pretrainer, inputs=sentences,
                                            fit=_fit_compiled(sentences(), learning_rate=1e-2)),
        "tfssl>SentenceEmbedder": task(make.sentence_embedder, inputs=lambda: tf.constant(TEXTS), fit=_embedder_fit),
        "tfssl>TextClassifier": task(make.text_classifier, inputs=encoder_features,
                                     fit=_fit_compiled(features, np.array([0, 2]), **_TASK_SCHEDULE)),
        "tfssl>TokenClassifier": task(make.token_classifier, inputs=encoder_features,
                                      fit=_fit_compiled(features, token_ids() % 3,
                                                        padding_mask().astype("float32"), **_TASK_SCHEDULE)),
    }


def _other_cases():
    return {
        "tfssl>MaskedLMPerplexity": Case(make.masked_lm_perplexity, kind="metric", trainable=False),
        "tfssl>SinusoidalInitializer": Case(make.sinusoidal_initializer, kind="initializer"),
        "tfssl>WarmupDecay": Case(make.warmup_decay, kind="schedule"),
        "tfssl>GlobalClipAdamW": Case(make.global_clip_adamw, kind="optimizer"),
        "tfssl>ReplicaLossScaleOptimizer": Case(make.replica_loss_scale_optimizer, kind="optimizer"),
        "tfssl>TokenAccuracy": Case(make.token_accuracy, kind="metric", trainable=False),
        "tfssl>TokenCrossEntropy": Case(make.token_cross_entropy, kind="loss"),
    }


CASES = {**_layer_cases(), **_tokenizer_cases(), **_preprocessor_cases(), **_model_cases(), **_other_cases()}
