"""Reading a prepared directory (`tfssl prepare`) as tf.data: each input pipeline reads only its own shards.

Per epoch `e`, for input pipeline `p` of `P` (one per worker; Model Garden's `input_reader` scheme):

    shards --stateless shuffle (seed, e)--> pipeline p takes shards p, p+P, ... (file-level sharding;
    record-level, every P-th block, when shards < P) --> windows of `window_shards` shards --> each
    window read whole (`tf.io.read_file` + `decode_raw`) and its blocks permuted, seed (seed, e, window)
    --> the first `steps_per_epoch * batch_size` blocks --> batches

Everything is a pure function of (seed, epoch, step), so a run resumed at step s sees the batches an
uninterrupted run would have. A resume skips whole windows without reading them (their block counts are
in the manifest) and skips inside one window in memory: nothing already consumed is read again, whatever
the position. Memory holds one window (`window_shards` shards, about 4 MB each by default), not the corpus.

`steps_per_epoch` is the same on every pipeline: the batches the pipeline with the fewest blocks can
fill in every epoch (whichever shards it is dealt), so workers stay in step.

Example:

>>> data = PreparedDataset("prepared/sotu")
>>> blocks = data.training_blocks(batch_size=32, seed=0)          # endless (32, 128) int32 batches
>>> held_out = data.held_out_blocks()                              # (128,) blocks, in order
"""

import os

import numpy as np
import tensorflow as tf

from tfssl.data.corpus_preparation import TOKENIZER
from tfssl.data.prepared_manifest import PreparedDataError, read_manifest


class PreparedDataset:
    """A prepared directory: its manifest (checked against the files) and tf.data readers of its shards."""

    def __init__(self, directory, window_shards=8):
        self.directory = directory
        self.manifest = read_manifest(directory)
        self.window_shards = int(window_shards)
        self.sequence_length = int(self.manifest["sequence_length"])
        self.dtype = tf.as_dtype(self.manifest["dtype"])

    @property
    def tokenizer_dir(self):
        return os.path.join(self.directory, TOKENIZER)

    def files(self, split):
        return [os.path.join(self.directory, s["file"]) for s in self.manifest["shards"][split]]

    def block_counts(self, split):
        return [int(s["blocks"]) for s in self.manifest["shards"][split]]

    def num_blocks(self, split="train"):
        return sum(self.block_counts(split))

    def steps_per_epoch(self, batch_size, num_pipelines=1):
        """Batches of `batch_size` (per pipeline) that every one of `num_pipelines` pipelines fills each epoch."""
        counts = sorted(self.block_counts("train"))
        if len(counts) >= num_pipelines:
            fewest = sum(counts[: len(counts) // num_pipelines])  # the smallest shards a pipeline can be dealt
        else:
            fewest = sum(counts) // num_pipelines
        steps = fewest // batch_size
        if steps < 1:
            raise PreparedDataError(
                f"{self.directory}: a pipeline holds {fewest} blocks, fewer than its batch of {batch_size}. Lower "
                "batch_size, use fewer workers, or prepare more text (or smaller shards: --shard_characters).")
        return steps

    def _read_blocks(self, names):
        """`(shards,)` file names -> `(blocks, sequence_length)` int32: the shards' blocks, concatenated."""
        raw = tf.strings.reduce_join(tf.map_fn(tf.io.read_file, names, fn_output_signature=tf.string))
        ids = tf.io.decode_raw(raw, self.dtype, little_endian=True)
        return tf.reshape(tf.cast(ids, tf.int32), [-1, self.sequence_length])

    def held_out_blocks(self):
        """The held-out split's `(sequence_length,)` blocks, in order, one shard in memory at a time."""
        files = self.files("held_out")
        if not files:
            return None
        dataset = tf.data.Dataset.from_tensor_slices(files).map(lambda name: self._read_blocks(name[None]))
        return dataset.unbatch().apply(tf.data.experimental.assert_cardinality(self.num_blocks("held_out")))

    def training_blocks(self, batch_size, seed=0, start_step=0, num_pipelines=1, pipeline_id=0):
        """Endless `(batch_size, sequence_length)` int32 batches for one input pipeline (see the module
        docstring), from global step `start_step` on; every epoch is `steps_per_epoch` batches."""
        steps = self.steps_per_epoch(batch_size, num_pipelines)
        first_epoch, done = divmod(int(start_step), steps)
        files = tf.constant(self.files("train"))
        counts = tf.constant(self.block_counts("train"), tf.int64)
        shards = len(self.block_counts("train"))
        file_level = shards >= num_pipelines
        per_epoch = steps * batch_size  # blocks this pipeline yields each epoch
        # Record-level sharding reads the same windows on every pipeline and keeps every P-th block.
        stride = 1 if file_level else num_pipelines
        window = self.window_shards
        seed = int(seed)

        def epoch_blocks(epoch):
            skip_blocks = tf.where(epoch == first_epoch, tf.constant(done * batch_size * stride, tf.int64), 0)
            order = tf.random.experimental.stateless_shuffle(tf.range(shards, dtype=tf.int64),
                                                             seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
            mine = order[pipeline_id::num_pipelines] if file_level else order  # (my_shards,)
            windows = -(-tf.size(mine, tf.int64) // window)
            padded = tf.pad(mine, [[0, windows * window - tf.size(mine, tf.int64)]], constant_values=-1)
            padded = tf.reshape(padded, [windows, window])  # (windows, window_shards); -1 = no shard
            sizes = tf.reduce_sum(tf.where(padded >= 0, tf.gather(counts, tf.maximum(padded, 0)), 0), axis=1)
            ends = tf.cumsum(sizes)  # blocks up to the end of each window
            first = tf.reduce_sum(tf.cast(ends <= skip_blocks, tf.int64))  # windows skipped unread
            offset = skip_blocks - tf.concat([[0], ends], 0)[first]  # blocks skipped inside the first window read
            indices = tf.range(first, windows)
            starts = tf.where(indices == first, offset, 0)

            def window_blocks(index, start):
                names = tf.gather(files, tf.boolean_mask(padded[index], padded[index] >= 0))
                blocks = self._read_blocks(names)  # (window blocks, sequence_length)
                permutation = tf.random.experimental.stateless_shuffle(
                    tf.range(tf.shape(blocks, out_type=tf.int64)[0]),
                    seed=tf.random.experimental.stateless_fold_in(tf.stack([tf.constant(seed, tf.int64), epoch]),
                                                                  index))
                return tf.data.Dataset.from_tensor_slices(tf.gather(blocks, permutation[start:]))

            blocks = tf.data.Dataset.from_tensor_slices((indices, starts)).flat_map(window_blocks)
            if not file_level:
                # Global block positions start at skip_blocks; keep those this pipeline owns.
                blocks = blocks.enumerate(start=skip_blocks).filter(
                    lambda position, _: position % num_pipelines == pipeline_id).map(lambda _, block: block)
            return blocks.take(per_epoch - done * batch_size * tf.cast(epoch == first_epoch, tf.int64))

        stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_blocks)
        return stream.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def all_blocks(directory, split="train"):
    """Every block of a split in shard order, as one numpy array (tests and small corpora only)."""
    data = PreparedDataset(directory)
    arrays = [np.fromfile(f, dtype="<" + np.dtype(data.manifest["dtype"]).str[1:]).reshape(-1, data.sequence_length)
              for f in data.files(split)]
    return np.concatenate(arrays).astype(np.int32) if arrays else np.zeros((0, data.sequence_length), np.int32)
