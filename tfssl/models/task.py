"""The base of every tfssl task model: a backbone, a head, default compile settings and an
optional preprocessor (KerasHub's `Task` split, written for tfssl).

A `Task` owns what its subclasses used to write out each time:

* serialization: `get_config` stores the backbone (and preprocessor, and any other nested Keras
  object named in `nested_objects`) as Keras objects; `from_config` rebuilds them. Configs saved
  before `Task` existed (no `preprocessor` key) load unchanged.
* building: variables do not depend on input shapes, so `build()` builds the backbone and calls
  `build_head()`; `build_from_config` does the same (needed to load `.keras` files).
* compile defaults: `compile(optimizer="auto", loss="auto", ...)` fills every "auto" from
  `default_optimizer`, `default_loss`, `default_metrics`, `default_weighted_metrics`; schedule
  settings (`learning_rate`, `warmup_steps`, ...) default to the class's `compile_defaults`.
  The compile config is not saved: it holds schedule lengths that belong to a run.
* raw inputs: with a `preprocessor`, `fit`, `evaluate` and `predict` take raw strings (a list,
  NumPy array, tensor or a batched `tf.data.Dataset` of strings; `(texts, labels)` for
  classifiers) and map them through the preprocessor inside tf.data, with a per-batch seed
  (`Preprocessor.batches`). Feature dicts in, as before, still work.

Example:

>>> pretrainer = MaskedLMPretrainer(backbone, preprocessor=MaskedLMPreprocessor(tokenizer))
>>> pretrainer.compile(learning_rate=2e-3, warmup_steps=200, total_steps=5000)
>>> pretrainer.fit(texts, batch_size=32, epochs=8)      # raw strings in, masks drawn in tf.data
"""

import warnings

import keras
import tensorflow as tf

from tfssl.models.gradient_accumulation import GradientAccumulation, set_gradient_accumulation
from tfssl.models.precision import set_precision
from tfssl.optimizers.adamw_recipe import adamw_with_warmup
from tfssl.optimizers.loss_scale import ReplicaLossScaleOptimizer

FEATURE_NAMES = ("token_ids", "padding_mask", "segment_ids")


def encoder_features(inputs):
    """The backbone's features out of a task's input dict (extra keys such as `mask_positions` dropped)."""
    return {k: inputs[k] for k in FEATURE_NAMES if k in inputs}


class Task(keras.Model):
    """Args:
    backbone: a tfssl backbone (`EncoderBackbone`, `DecoderBackbone`).
    preprocessor: optional `tfssl.preprocessors` layer; with one, `fit`/`evaluate`/`predict`
        take raw strings.
    """

    # Constructor arguments that hold Keras objects: serialized in `get_config`, rebuilt in `from_config`.
    nested_objects = ("backbone", "preprocessor")
    # Keyword arguments of `compile` that configure `default_optimizer`, with their defaults.
    compile_defaults = {"learning_rate": 1e-3, "warmup_steps": 100, "total_steps": 10_000, "weight_decay": 0.01}

    def __init__(self, backbone, preprocessor=None, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.preprocessor = preprocessor

    # Building.
    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build()
        self.build_head()
        self.built = True

    def build_head(self):
        """Builds the head's variables (none by default)."""

    def build_from_config(self, config):
        """Variables do not depend on input shapes: build them all (needed to load `.keras`)."""
        self.build()

    # Compiling.
    def compile(self, optimizer="auto", loss="auto", metrics="auto", weighted_metrics="auto", jit_compile=True,
                gradient_accumulation_steps=1, precision=None, **kwargs):
        """Compiles with the task's defaults; "auto" picks them, anything else overrides.

        Keyword arguments named in `compile_defaults` (learning rate, warmup and total steps,
        weight decay, ...) configure the "auto" optimizer; the rest go to `keras.Model.compile`.
        `jit_compile=True` by default: Keras' "auto" means no XLA on CPU-only machines, and XLA made
        tfssl's train steps markedly faster there (see benchmarks/).
        `gradient_accumulation_steps=k` (models with `GradientAccumulation`): each replica's share
        of a batch runs as k micro-batches and one optimizer step.
        `precision` ("float32", "mixed_bfloat16", "mixed_float16", "auto"; see `tfssl.models.precision`)
        sets the dtype policy of the task and every layer in it; None keeps the policies the layers
        were built with. Under `mixed_float16` the optimizer is wrapped in a
        `ReplicaLossScaleOptimizer` (dynamic loss scaling that keeps replicas in step).
        """
        if precision is not None:
            set_precision(self, precision)
        if isinstance(self, GradientAccumulation):
            set_gradient_accumulation(self, gradient_accumulation_steps)
        elif gradient_accumulation_steps != 1:
            raise ValueError(f"{type(self).__name__} does not accumulate gradients (its loss couples the examples of "
                             f"a batch); got gradient_accumulation_steps={gradient_accumulation_steps}. Use 1.")
        settings = {k: kwargs.pop(k, v) for k, v in self.compile_defaults.items()}
        optimizer = self.default_optimizer(**settings) if optimizer == "auto" else optimizer
        optimizer = keras.optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
        if (self.dtype_policy.name == "mixed_float16" and optimizer is not None
                and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
            optimizer = ReplicaLossScaleOptimizer(optimizer)
        super().compile(
            optimizer=optimizer,
            loss=self.default_loss() if loss == "auto" else loss,
            metrics=self.default_metrics() if metrics == "auto" else metrics,
            weighted_metrics=self.default_weighted_metrics() if weighted_metrics == "auto" else weighted_metrics,
            jit_compile=jit_compile,
            **kwargs,
        )

    def default_optimizer(self, learning_rate, warmup_steps, total_steps, weight_decay, **settings):
        """AdamW with BERT's defaults: linear warmup and decay, no decay on LayerNorm/biases,
        global norm clipped to 1 after the cross-replica sum."""
        return adamw_with_warmup(learning_rate, warmup_steps, total_steps, weight_decay, **settings)

    def default_loss(self):
        return None

    def default_metrics(self):
        return None

    def default_weighted_metrics(self):
        return None

    def get_compile_config(self):
        """Not saved: `compile()` takes schedule lengths that belong to a run, so a loaded task is
        compiled again by whoever continues training it."""
        return None

    # Raw inputs through the preprocessor.
    def _takes_raw(self, x):
        return self.preprocessor is not None and self.preprocessor.is_raw(x)

    def fit(self, x=None, y=None, batch_size=None, sample_weight=None, validation_data=None, shuffle=True, **kwargs):
        if self._takes_raw(x):
            x = self.preprocessor.batches(x, y, sample_weight, batch_size, training=True, shuffle=shuffle)
            y = sample_weight = batch_size = None
        if validation_data is not None and self._takes_raw(_unpack(validation_data)[0]):
            validation_data = self.preprocessor.batches(*_unpack(validation_data),
                                                        kwargs.get("validation_batch_size") or batch_size)
        shuffle = shuffle and not isinstance(x, tf.data.Dataset)  # datasets shuffle themselves (Keras warns)
        with warnings.catch_warnings():
            # Weights a task's loss never reads (the pooler under a token loss): Keras warns at every trace.
            warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
            return super().fit(x=x, y=y, batch_size=batch_size, sample_weight=sample_weight,
                               validation_data=validation_data, shuffle=shuffle, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, **kwargs):
        if self._takes_raw(x):
            x = self.preprocessor.batches(x, y, sample_weight, batch_size)
            y = sample_weight = batch_size = None
        return super().evaluate(x=x, y=y, batch_size=batch_size, sample_weight=sample_weight, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        if self._takes_raw(x):
            x = self.preprocessor.batches(x, batch_size=batch_size, features_only=True)
            batch_size = None
        return super().predict(x, batch_size=batch_size, **kwargs)

    # Serialization.
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        for key in self.nested_objects:
            value = getattr(self, key)
            if value is not None or key != "preprocessor":
                config[key] = keras.saving.serialize_keras_object(value)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.nested_objects:
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _unpack(data):
    """`validation_data` as (x, y, sample_weight): a tuple is (x, y[, w]); a pair of texts goes as `((a, b), y)`."""
    if isinstance(data, tuple) and len(data) in (2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    return data, None, None
