"""The masked-LM input pipeline: text -> packed blocks -> batches -> dynamic masks.

    strings --tokenize (in graph)--> ids --pack--> (sequence_length,) blocks --cache-->
    shuffle(seed) --batch--> mask(seed per batch, new every epoch) --> (x, y, sample_weight)

`x = {"token_ids", "padding_mask", "mask_positions"}`, `y = original ids at the slots`,
`sample_weight = 1.0 for used slots, 0.0 for empty ones`. All transforms are TF ops; the only
randomness is `shuffle(seed)` and `Dataset.random(seed)`, both re-drawn each epoch and both
reproducible: the same seed gives the same batches, epoch by epoch. Training uses
`resumable_mask_batches`, a stream in which every batch is a pure function of (seed, epoch, step),
so a run resumed from a backup at step s trains on exactly the batches it would have.

Example:

>>> tokenizer = WordPieceTokenizer.from_directory(vocab_dir)
>>> masker = masker_for_tokenizer(tokenizer, sequence_length=128)
>>> train = mlm_dataset(texts, tokenizer, masker, sequence_length=128, batch_size=32, seed=0)
"""

import math

import tensorflow as tf

from tfssl.data.packing import pack_token_sequences, tokenize_documents
from tfssl.layers.masked_lm_masker import MaskedLMMasker


def default_max_predictions(sequence_length: int, mask_selection_rate: float = 0.15) -> int:
    """Slots per row: enough for `round(rate * (sequence_length - 2))` chosen tokens."""
    return max(1, math.floor(mask_selection_rate * (sequence_length - 2) + 0.5))


def masker_for_tokenizer(tokenizer, sequence_length, mask_selection_rate=0.15, whole_word_masking=False, **kwargs):
    """A `MaskedLMMasker` configured from a `WordPieceTokenizer`'s special ids."""
    kwargs.setdefault("max_predictions", default_max_predictions(sequence_length, mask_selection_rate))
    return MaskedLMMasker(
        vocabulary_size=tokenizer.vocabulary_size,
        mask_token_id=tokenizer.mask_token_id,
        special_token_ids=tokenizer.special_token_ids,
        padding_token_id=tokenizer.pad_token_id,
        mask_selection_rate=mask_selection_rate,
        whole_word_masking=whole_word_masking,
        continuation_token_mask=tokenizer.continuation_token_mask if whole_word_masking else None,
        **kwargs,
    )


def packed_blocks(texts, tokenizer, sequence_length: int) -> tf.data.Dataset:
    """Tokenized, packed and cached `(sequence_length,)` blocks with a known cardinality.

    The first pass (counting the blocks) fills the in-memory cache, so training epochs
    never tokenize again.
    """
    texts = list(texts)
    if not texts:
        raise ValueError("No documents to pack: the corpus split is empty. Lower held_out_fraction or add text.")
    tokens = tokenize_documents(texts, tokenizer)
    blocks = pack_token_sequences(tokens, sequence_length, tokenizer.cls_token_id, tokenizer.sep_token_id).cache()
    count = int(blocks.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
    if count == 0:
        raise ValueError(
            f"The text holds fewer than {sequence_length - 2} tokens, not one block of sequence_length="
            f"{sequence_length}. Add text or lower sequence_length."
        )
    return blocks.apply(tf.data.experimental.assert_cardinality(count))


def mask_batches(blocks, masker, batch_size: int, seed: int, shuffle: bool = True, new_mask_each_epoch: bool = True):
    """Shuffles, batches and masks cached blocks into `(x, y, sample_weight)` triples.

    With `new_mask_each_epoch=False` (held-out data) every pass sees the same masks.
    """
    dataset = blocks
    if shuffle:
        dataset = dataset.shuffle(min(10_000, int(blocks.cardinality())), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)  # (batch, sequence_length)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=new_mask_each_epoch).batch(2)
    dataset = tf.data.Dataset.zip(dataset, seeds)
    return dataset.map(masked_lm_features(masker), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def masked_lm_features(masker):
    """`(token_ids, batch_seed) -> (x, y, sample_weight)`: one batch masked with a stateless seed."""

    def mask(token_ids, batch_seed):
        out = masker(token_ids, seed=batch_seed)
        x = {
            "token_ids": out["token_ids"],
            "padding_mask": tf.cast(tf.not_equal(token_ids, masker.padding_token_id), tf.int32),
            "mask_positions": out["mask_positions"],
        }
        return x, out["mask_ids"], out["mask_weights"]

    return mask


def resumable_mask_batches(blocks, masker, batch_size: int, seed: int, start_step: int = 0):
    """Every epoch's masked batches as one endless stream that is a pure function of `seed`, so a
    run resumed at `start_step` sees exactly the batches an uninterrupted run would have seen.

    Epoch `e` is a permutation of all blocks drawn statelessly from `(seed, e)`, cut into
    `len(blocks) // batch_size` full batches; batch `i` of it is masked with the stateless seed
    `(seed + 1 + e, i)`. Nothing depends on how many times the dataset was iterated (unlike
    `shuffle(reshuffle_each_iteration=True)`), so skipping `start_step` batches reproduces the
    rest of the run. Fit it with `steps_per_epoch = steps_per_epoch(blocks, batch_size)`.
    """
    tokens = blocks.batch(int(blocks.cardinality())).get_single_element()  # (blocks, sequence_length), in memory
    count = int(tokens.shape[0])
    steps = count // batch_size
    if steps < 1:
        raise ValueError(f"{count} blocks are fewer than batch_size={batch_size}. Add text, or lower batch_size or "
                         "sequence_length.")

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        order = tf.reshape(order[: steps * batch_size], [steps, batch_size])  # (steps, batch)
        return tf.data.Dataset.from_tensor_slices(order).enumerate().map(
            lambda step, rows: (tf.gather(tokens, rows), tf.stack([seed + 1 + epoch, step])))

    first_epoch, skip = divmod(int(start_step), steps)
    stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_batches).skip(skip)
    return stream.map(masked_lm_features(masker), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def prepared_mask_batches(prepared, masker, batch_size: int, seed: int, start_step: int = 0, num_pipelines: int = 1,
                          pipeline_id: int = 0, record_blocks_to=None):
    """One input pipeline's masked batches from a prepared directory (`PreparedDataset.training_blocks`), from
    global step `start_step` on: batch `i` of epoch `e` is masked with the stateless seed
    `(seed + 1 + e, i * num_pipelines + pipeline_id)`, so the stream is a pure function of (seed, step) and
    each pipeline draws its own masks.

    `record_blocks_to` (a file path) appends one line per batch read, `step<TAB>block ids` (positions in the
    prepared training split): what data each step saw, for a loss spike or a check that workers read disjoint
    blocks. Read-ahead puts a few lines past the last trained step; a resumed run appends the steps it reads again."""
    steps = prepared.steps_per_epoch(batch_size, num_pipelines)
    recording = record_blocks_to is not None
    blocks = prepared.training_blocks(batch_size, seed, start_step, num_pipelines, pipeline_id,
                                      with_block_ids=recording)
    seed, num_pipelines, pipeline_id = int(seed), int(num_pipelines), int(pipeline_id)

    def with_seed(step, token_ids):
        if recording:
            block_ids, token_ids = token_ids
            step = _record_step(record_blocks_to, step, block_ids)
        epoch, index = step // steps, step % steps
        return token_ids, tf.stack([seed + 1 + epoch, index * num_pipelines + pipeline_id])

    stream = blocks.enumerate(start=int(start_step)).map(with_seed)
    return stream.map(masked_lm_features(masker), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _record_step(path, step, block_ids):
    """Appends `step<TAB>ids` to `path` as the batch passes; returns `step` (the write is on its data path)."""

    def append(step_value, ids):
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{int(step_value)}\t{' '.join(str(int(i)) for i in ids.numpy())}\n")
        return step_value

    recorded = tf.py_function(append, [step, block_ids], tf.int64)
    recorded.set_shape([])
    return recorded


def steps_per_epoch(blocks, batch_size: int) -> int:
    """Full batches in one pass over `blocks` (what `resumable_mask_batches` calls an epoch)."""
    return int(blocks.cardinality()) // batch_size


def mlm_dataset(texts, tokenizer, masker, sequence_length: int, batch_size: int, seed: int = 0, **kwargs):
    """Strings to masked-LM training batches in one call (see the module docstring)."""
    blocks = packed_blocks(texts, tokenizer, sequence_length)
    if int(blocks.cardinality()) < batch_size:
        raise ValueError(
            f"Only {int(blocks.cardinality())} blocks of {sequence_length} tokens, fewer than batch_size="
            f"{batch_size}. Add text, or lower batch_size or sequence_length."
        )
    return mask_batches(blocks, masker, batch_size, seed, **kwargs)
