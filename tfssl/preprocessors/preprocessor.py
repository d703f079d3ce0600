"""The base of tfssl's preprocessor layers: raw strings -> the `(x, y, sample_weight)` a task trains on.

A preprocessor is a Keras layer that runs inside `tf.data.Dataset.map` (TF ops only; randomness
from a stateless per-batch seed), and knows how to turn raw inputs into a batched dataset:
`batches(x, y, sample_weight, batch_size, training)` is what `Task.fit/evaluate/predict` call.

    in-memory texts --from_tensor_slices--> examples(...) --cache--> shuffle(seed) --batch-->
    zip(Dataset.random(seed): a new draw every epoch in training) --map(self)--> prefetch

`examples` is the per-example hook (the masked-LM preprocessor packs documents into blocks
there); `call(x, y=None, sample_weight=None, seed=None)` works on a batch.
Batches of a training pass drop the remainder (one static shape for XLA; reshuffling gives the
dropped examples their turn next epoch); evaluation and prediction keep every example.
"""

import keras
import numpy as np
import tensorflow as tf

DEFAULT_BATCH_SIZE = 32


class Preprocessor(keras.layers.Layer):
    """Args:
    tokenizer: a tfssl tokenizer layer.
    sequence_length: the length of every row, special tokens included.
    seed: shuffling and per-batch random draws (same seed, same batches).
    """

    def __init__(self, tokenizer, sequence_length=128, seed=0, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        self.seed = int(seed)
        # Let `call` take None labels and Python tuples (KerasHub's preprocessors do the same).
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    def examples(self, dataset):
        """Per-example transform before batching (unbatched dataset of raw inputs in and out)."""
        return dataset

    def call(self, x, y=None, sample_weight=None, seed=None):
        raise NotImplementedError

    def is_raw(self, x):
        """True for raw inputs: strings (lists, arrays, tensors, a dataset of them), or tuples/dicts of such columns."""
        if isinstance(x, tf.data.Dataset):
            specs = tf.nest.flatten(x.element_spec)
            return bool(specs) and specs[0].dtype == tf.string
        leaves = tf.nest.flatten(x[0] if isinstance(x, tuple) and x else x)
        if not leaves:
            return False
        first = leaves[0]
        if isinstance(first, (str, bytes)):
            return True
        if isinstance(first, np.ndarray):
            return first.dtype.kind in "USO"
        return isinstance(first, tf.Tensor) and first.dtype == tf.string

    def steps_per_epoch(self, x, batch_size=DEFAULT_BATCH_SIZE):
        """Full training batches `Task.fit(x, batch_size=...)` makes per epoch (for `compile(total_steps=...)`).
        With document packing this tokenizes `x` once."""
        examples = self.examples(tf.data.Dataset.from_tensor_slices({"x": _column(x)}))
        count = int(examples.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
        if count < batch_size:
            raise ValueError(f"{count} examples are fewer than batch_size={batch_size}: add text or lower batch_size.")
        return count // batch_size

    def batches(self, x, y=None, sample_weight=None, batch_size=None, training=False, shuffle=True,
                features_only=False):
        """Raw inputs -> a batched, preprocessed `tf.data.Dataset` (see the module docstring).

        `x`: strings (list, array, tensor), a tuple of such columns (text pairs), or a batched
        `tf.data.Dataset` yielding `x`, `(x, y)` or `(x, y, sample_weight)` (pairs as `((a, b), y)`).
        """
        batch_size = batch_size or DEFAULT_BATCH_SIZE
        if isinstance(x, tf.data.Dataset):
            if y is not None or sample_weight is not None:
                raise ValueError("Give labels inside the tf.data.Dataset ((x, y) elements), not as y=/sample_weight=.")
            dataset = x.map(_as_columns)
            if type(self).examples is not Preprocessor.examples and not features_only:  # re-batch what it changes
                dataset = self.examples(dataset.unbatch()).batch(batch_size, drop_remainder=training)
        else:
            columns = {"x": _column(x)}
            if y is not None:
                columns["y"] = np.asarray(y)
            if sample_weight is not None:
                columns["sample_weight"] = np.asarray(sample_weight, np.float32)
            dataset = tf.data.Dataset.from_tensor_slices(columns)
            dataset = (dataset if features_only else self.examples(dataset)).cache()  # predict: one row per input
            # The number of examples, once known, is the dataset's length: Keras then runs every epoch to the
            # end without a "ran out of data" warning (counting packed blocks costs one pass of tokenization).
            count = int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
            if training and shuffle:
                dataset = dataset.shuffle(10_000, seed=self.seed, reshuffle_each_iteration=True)
            dataset = dataset.batch(batch_size, drop_remainder=training)
        seeds = tf.data.Dataset.random(seed=self.seed, rerandomize_each_iteration=training).batch(2)

        def preprocess(columns, seed):
            out = self(columns["x"], columns.get("y"), columns.get("sample_weight"), seed=seed)
            return keras.utils.unpack_x_y_sample_weight(out)[0] if features_only else out

        dataset = tf.data.Dataset.zip(dataset, seeds).map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def get_config(self):
        config = super().get_config()
        config.update({"tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                       "sequence_length": self.sequence_length, "seed": self.seed})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("tokenizer"), dict):
            config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)


def _column(values):
    """Strings (or a tuple of string columns, for pairs) as tf.data can slice them."""
    if isinstance(values, tuple):
        return tuple(_column(v) for v in values)
    if isinstance(values, dict):
        return {k: _column(v) for k, v in values.items()}
    return values if isinstance(values, tf.Tensor) else np.asarray(values, dtype=object if not
                                                                   isinstance(values, np.ndarray) else None)


def _as_columns(*element):
    """A dataset element `x`, `(x, y)` or `(x, y, w)` -> {"x", "y", "sample_weight"} (absent keys left out)."""
    x, y, w = keras.utils.unpack_x_y_sample_weight(element[0] if len(element) == 1 else element)
    return {k: v for k, v in (("x", x), ("y", y), ("sample_weight", w)) if v is not None}
