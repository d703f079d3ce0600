"""Dynamic BERT masking as a Keras layer that runs inside `tf.data.Dataset.map`.

Each call draws a fresh mask from a stateless seed, so the pipeline decides the randomness:
`tfssl.data.mlm_pipeline` feeds one seed per batch from `tf.data.Dataset.random`, which gives a
new mask every epoch and the same batches for the same seed.

Selection: in every row, `round(mask_selection_rate * candidates)` tokens are chosen (capped at
`max_predictions`), where candidates are all tokens except special and padding tokens. With
`whole_word_masking`, words (a token plus its `##` continuation pieces) are chosen whole, in
random order, while they fit in that budget. Chosen tokens become `[MASK]` with probability
`mask_token_rate`, a random non-special token with `random_token_rate`, else stay.

Outputs have static shapes (`max_predictions` slots per row; unused slots have position 0
and weight 0), so the model compiles once with XLA.

Before/after, `max_predictions=3`, mask id 4, specials {0, 2, 3}:

    token_ids      [[2, 17, 23, 41, 9, 3]]
    ->  token_ids      [[2, 4, 23, 41, 4, 3]]
        mask_positions [[1, 4, 0]]
        mask_ids       [[17, 9, 0]]
        mask_weights   [[1., 1., 0.]]
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfssl")
class MaskedLMMasker(keras.layers.Layer):
    """Chooses and corrupts tokens for masked-LM training.

    Args:
        vocabulary_size: size of the token vocabulary.
        mask_token_id: id written at positions chosen for `[MASK]`.
        special_token_ids: ids never chosen and never used as random replacements
            (`[PAD]`, `[CLS]`, `[SEP]`, `[MASK]`, `[UNK]`).
        max_predictions: fixed number of prediction slots per row.
        mask_selection_rate: fraction of candidate tokens chosen (BERT: 0.15).
        mask_token_rate / random_token_rate: split of chosen tokens into `[MASK]` / random;
            the rest keep their token (BERT: 0.8 / 0.1 / 0.1).
        whole_word_masking: choose all pieces of a word together.
        continuation_token_mask: one bool per id, True for `##` pieces; required with
            `whole_word_masking`.
        padding_token_id: id treated as padding (never chosen).
        seed: used only when `call` gets no seed (then draws differ from call to call).
    """

    def __init__(
        self,
        vocabulary_size,
        mask_token_id,
        special_token_ids,
        max_predictions=20,
        mask_selection_rate=0.15,
        mask_token_rate=0.8,
        random_token_rate=0.1,
        whole_word_masking=False,
        continuation_token_mask=None,
        padding_token_id=0,
        seed=None,
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if not 0.0 < mask_selection_rate < 1.0:
            raise ValueError(f"mask_selection_rate must be in (0, 1), got {mask_selection_rate}.")
        if mask_token_rate < 0 or random_token_rate < 0 or mask_token_rate + random_token_rate > 1.0:
            raise ValueError(
                "mask_token_rate and random_token_rate must be >= 0 and sum to at most 1, got "
                f"{mask_token_rate} and {random_token_rate}."
            )
        if whole_word_masking and (continuation_token_mask is None or len(continuation_token_mask) != vocabulary_size):
            raise ValueError("whole_word_masking needs continuation_token_mask with one bool per vocabulary id.")
        self.vocabulary_size = int(vocabulary_size)
        self.mask_token_id = int(mask_token_id)
        self.special_token_ids = sorted(int(i) for i in set(special_token_ids) | {int(padding_token_id)})
        self.max_predictions = int(max_predictions)
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.whole_word_masking = bool(whole_word_masking)
        self.continuation_token_mask = (
            [bool(b) for b in continuation_token_mask] if continuation_token_mask is not None else None
        )
        self.padding_token_id = int(padding_token_id)
        self.seed = seed
        is_special = [False] * self.vocabulary_size
        for i in self.special_token_ids:
            is_special[i] = True
        self._is_special = tf.constant(is_special)
        self._replacement_ids = tf.constant([i for i in range(self.vocabulary_size) if not is_special[i]], tf.int32)
        self._is_continuation = tf.constant(
            self.continuation_token_mask if self.whole_word_masking else [False] * self.vocabulary_size
        )

    def call(self, token_ids, seed=None):
        """(batch, length) ids -> dict of masked ids and `max_predictions` slots per row."""
        token_ids = tf.convert_to_tensor(token_ids)
        if seed is None:
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64, seed=self.seed)
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=4)
        in_dtype = token_ids.dtype
        token_ids = tf.cast(token_ids, tf.int32)
        batch, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]

        candidate = tf.logical_not(tf.gather(self._is_special, token_ids))  # (batch, length)
        # A word starts at every candidate that is not a `##` continuation piece (every
        # candidate without whole-word masking); all pieces share their word's index.
        starts = candidate & tf.logical_not(tf.gather(self._is_continuation, token_ids))
        word_index = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1  # (batch, length)
        word_index = tf.where(candidate, tf.maximum(word_index, 0), length)  # non-candidates -> dummy word
        word_length = tf.math.reduce_sum(
            tf.one_hot(word_index, length + 1, dtype=tf.int32), axis=1
        )[:, :length]  # (batch, words=length) tokens per word

        num_candidates = tf.reduce_sum(tf.cast(candidate, tf.float32), axis=1)  # (batch,)
        budget = tf.minimum(
            tf.cast(tf.floor(num_candidates * self.mask_selection_rate + 0.5), tf.int32), self.max_predictions
        )  # (batch,) tokens to choose per row

        # Words in random order; take them while the running token count fits the budget.
        scores = tf.random.stateless_uniform([batch, length], seeds[0])
        scores = tf.where(word_length > 0, scores, 2.0)  # empty word slots go last
        order = tf.argsort(scores, axis=1)  # (batch, words)
        running = tf.cumsum(tf.gather(word_length, order, batch_dims=1), axis=1)  # (batch, words)
        chosen_sorted = (running <= budget[:, None]) & (tf.gather(word_length, order, batch_dims=1) > 0)
        chosen_word = tf.gather(chosen_sorted, tf.argsort(order, axis=1), batch_dims=1)  # (batch, words)
        chosen_word = tf.pad(chosen_word, [[0, 0], [0, 1]])  # dummy word never chosen
        chosen = tf.gather(chosen_word, word_index, batch_dims=1) & candidate  # (batch, length)

        # Chosen positions in ascending order, in `max_predictions` slots.
        positions = tf.range(length, dtype=tf.int32)[None, :]
        key = tf.where(chosen, length - positions, 0)
        top, _ = tf.math.top_k(key, k=self.max_predictions)  # (batch, max_predictions)
        mask_weights = tf.cast(top > 0, tf.float32)
        mask_positions = tf.where(top > 0, length - top, 0)
        mask_ids = tf.gather(token_ids, mask_positions, batch_dims=1) * tf.cast(top > 0, tf.int32)

        # 80/10/10 corruption of the chosen slots.
        action = tf.random.stateless_uniform([batch, self.max_predictions], seeds[1])
        random_ids = tf.gather(
            self._replacement_ids,
            tf.random.stateless_uniform(
                [batch, self.max_predictions], seeds[2], maxval=tf.size(self._replacement_ids), dtype=tf.int32
            ),
        )
        new_ids = tf.where(action < self.mask_token_rate, self.mask_token_id, mask_ids)
        new_ids = tf.where(
            (action >= self.mask_token_rate) & (action < self.mask_token_rate + self.random_token_rate),
            random_ids,
            new_ids,
        )
        update = tf.cast(top > 0, tf.int32)
        batch_index = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(mask_positions))
        indices = tf.stack([batch_index, mask_positions], axis=-1)  # (batch, max_predictions, 2)
        # Unused slots point at position 0 and add 0, so they leave the row unchanged.
        delta = (new_ids - mask_ids) * update
        masked = tf.tensor_scatter_nd_add(token_ids, indices, delta)
        return {
            "token_ids": tf.cast(masked, in_dtype),
            "mask_positions": mask_positions,
            "mask_ids": tf.cast(mask_ids, in_dtype),
            "mask_weights": mask_weights,
        }

    def compute_output_spec(self, token_ids, seed=None):
        batch = token_ids.shape[0]
        slots = (batch, self.max_predictions)
        return {
            "token_ids": keras.KerasTensor(token_ids.shape, dtype=token_ids.dtype),
            "mask_positions": keras.KerasTensor(slots, dtype="int32"),
            "mask_ids": keras.KerasTensor(slots, dtype=token_ids.dtype),
            "mask_weights": keras.KerasTensor(slots, dtype="float32"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "mask_token_id": self.mask_token_id,
                "special_token_ids": self.special_token_ids,
                "max_predictions": self.max_predictions,
                "mask_selection_rate": self.mask_selection_rate,
                "mask_token_rate": self.mask_token_rate,
                "random_token_rate": self.random_token_rate,
                "whole_word_masking": self.whole_word_masking,
                "continuation_token_mask": self.continuation_token_mask,
                "padding_token_id": self.padding_token_id,
                "seed": self.seed,
            }
        )
        return config
