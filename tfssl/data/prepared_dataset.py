"""Reading a prepared directory (`tfssl prepare`) as tf.data: each input pipeline reads only its own part.

The training split is cut into *pieces* of at most `piece_blocks` consecutive blocks of one shard file. Per
epoch `e`, for input pipeline `p` of `P` (one per worker):

    pieces --stateless shuffle (seed, e)--> one stream of T blocks --pipeline p takes the contiguous segment
    [p * T/P, p * T/P + steps * batch)--> read with FixedLengthRecordDataset (byte offsets, only those
    pieces) --> windows of `window_blocks`, each permuted with seed (seed, e, p, window) --> batches

So the pipelines of one epoch read disjoint blocks that together are every training block (but the
remainder of `T / (P * batch)`, fewer than `P * batch` blocks), each reading only the pieces of its own
segment: file-level sharding at the granularity of pieces, which also covers fewer files than workers
(where Model Garden falls back to record-level sharding, reading everything everywhere).

Everything is a pure function of (seed, epoch, step), so a run resumed at step s sees the batches an
uninterrupted run would have; the resume starts reading at the window that holds step s (block positions are
arithmetic on the manifest's counts), so nothing already consumed is read again, whatever the position.
Memory holds a window (`window_blocks` blocks, 4 MB at the defaults), not the corpus.

Example:

>>> data = PreparedDataset("prepared/sotu")
>>> blocks = data.training_blocks(batch_size=32, seed=0)          # endless (32, 128) int32 batches
>>> held_out = data.held_out_blocks()                              # (128,) blocks, in order
"""

import os

import numpy as np
import tensorflow as tf

from tfssl.data.prepared_tokenizer import TOKENIZER
from tfssl.data.prepared_manifest import PreparedDataError, read_manifest, record_length, stored_dtype


class PreparedDataset:
    """A prepared directory: its manifest (checked against the files) and tf.data readers of its shards."""

    def __init__(self, directory, piece_blocks=512, window_blocks=8192):
        self.directory = directory
        self.manifest = read_manifest(directory)
        self.piece_blocks, self.window_blocks = int(piece_blocks), int(window_blocks)
        self.sequence_length = int(self.manifest["sequence_length"])
        self.layout = self.manifest.get("layout", "masked")
        self.record_length = record_length(self.manifest)  # sequence_length (+ 1 for causal windows)
        self.dtype = tf.as_dtype(self.manifest["dtype"])
        self.record_bytes = self.record_length * self.dtype.size

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
        """Batches of `batch_size` (per pipeline) that each of `num_pipelines` pipelines reads per epoch."""
        steps = self.num_blocks("train") // num_pipelines // batch_size
        if steps < 1:
            raise PreparedDataError(
                f"{self.directory}: {self.num_blocks('train')} training blocks do not fill one batch of {batch_size} "
                f"for each of {num_pipelines} pipeline(s). Lower batch_size, use fewer "
                "workers, or prepare more text.")
        return steps

    def _pieces(self):
        """`(file index, first block, blocks)` of every piece of the training split, as int64 arrays."""
        pieces = [(f, start, min(self.piece_blocks, count - start))
                  for f, count in enumerate(self.block_counts("train")) for start in range(0, count, self.piece_blocks)]
        return [np.array(column, np.int64) for column in zip(*pieces)]

    def _read_range(self, file, first, count, file_blocks, first_id=None):
        """`count` blocks of `file` from block `first`: a `(sequence_length,)` int32 dataset, or
        `(block id, block)` pairs numbered from `first_id` when it is given."""
        records = tf.data.FixedLengthRecordDataset(
            file, self.record_bytes, header_bytes=first * self.record_bytes,
            footer_bytes=(file_blocks - first - count) * self.record_bytes)
        length = self.record_length
        blocks = records.map(lambda r: tf.reshape(tf.cast(tf.io.decode_raw(r, self.dtype, little_endian=True),
                                                          tf.int32), [length]))
        if first_id is None:
            return blocks
        return tf.data.Dataset.zip((tf.data.Dataset.range(first_id, first_id + count), blocks))

    def held_out_blocks(self, limit=None):
        """The held-out split's `(sequence_length,)` blocks in order, the first `limit` of them if given (an
        evaluation that stays bounded on any corpus)."""
        files, counts = self.files("held_out"), self.block_counts("held_out")
        if not files:
            return None
        total = sum(counts) if limit is None else min(sum(counts), int(limit))
        ranges = tf.data.Dataset.from_tensor_slices((files, tf.constant(counts, tf.int64)))
        dataset = ranges.flat_map(lambda file, count: self._read_range(file, tf.constant(0, tf.int64), count, count))
        return dataset.take(total).apply(tf.data.experimental.assert_cardinality(total)).with_options(
            _auto_shard(tf.data.experimental.AutoShardPolicy.DATA))  # Keras splits validation data by rows

    def causal_stream(self, split, max_tokens=None):
        """A causal-LM split as one token stream (numpy int32), the first `max_tokens` if given: each shard's
        windows overlap by one token, so a shard's stream is every window but its last token, then that token.
        Reads shards in order and stops when it has enough (bounded on any corpus)."""
        if self.layout != "causal":
            raise PreparedDataError(f"{self.directory} holds masked-LM blocks, not causal-LM windows.")
        pieces, total = [], 0
        dtype = stored_dtype(self.manifest["dtype"])
        for file, count in zip(self.files(split), self.block_counts(split)):
            if not count or (max_tokens is not None and total >= max_tokens):
                continue
            windows = np.memmap(file, dtype=dtype, mode="r", shape=(count, self.record_length))
            piece = np.concatenate([windows[:, :-1].reshape(-1), windows[-1, -1:]]).astype(np.int32)
            pieces.append(piece)
            total += len(piece)
        stream = np.concatenate(pieces) if pieces else np.zeros([0], np.int32)
        return stream if max_tokens is None else stream[:max_tokens]

    def training_blocks(self, batch_size, seed=0, start_step=0, num_pipelines=1, pipeline_id=0, with_block_ids=False):
        """Endless `(batch_size, sequence_length)` int32 batches for one input pipeline (see the module
        docstring), from global step `start_step` on; every epoch is `steps_per_epoch` batches.

        With `with_block_ids`, each batch is `(block ids, blocks)`: a block's id is its position in the training
        split in shard order (as in `all_blocks`), which says exactly what data a step saw."""
        steps = self.steps_per_epoch(batch_size, num_pipelines)
        first_epoch, done = divmod(int(start_step), steps)
        files = tf.constant(self.files("train"))
        file_blocks = tf.constant(self.block_counts("train"), tf.int64)
        piece_file, piece_first, piece_size = (tf.constant(c) for c in self._pieces())
        file_first_id = tf.constant(np.cumsum([0] + self.block_counts("train"))[:-1], tf.int64)
        share = self.num_blocks("train") // num_pipelines  # blocks per pipeline per epoch, before batching
        taken = steps * batch_size
        window = self.window_blocks
        seed = tf.constant(int(seed), tf.int64)

        def epoch_blocks(epoch):
            skip = tf.where(epoch == first_epoch, tf.constant(done * batch_size, tf.int64), 0)
            first_window = skip // window
            # The pipeline's segment of the epoch's stream, from the first window it still needs.
            begin = pipeline_id * share + first_window * window
            end = pipeline_id * share + taken
            order = tf.random.experimental.stateless_shuffle(tf.range(tf.size(piece_size, tf.int64)),
                                                             seed=tf.stack([seed, epoch]))
            sizes = tf.gather(piece_size, order)
            stops = tf.cumsum(sizes)  # stream position after each piece
            starts = stops - sizes
            low, high = tf.maximum(starts, begin), tf.minimum(stops, end)
            keep = high > low  # pieces overlapping [begin, end)
            chosen = tf.boolean_mask(order, keep)
            offsets = tf.boolean_mask(low - starts, keep)
            counts = tf.boolean_mask(high - low, keep)
            ranges = tf.data.Dataset.from_tensor_slices((tf.gather(piece_file, chosen),
                                                         tf.gather(piece_first, chosen) + offsets, counts))
            blocks = ranges.flat_map(lambda f, first, count: self._read_range(
                files[f], first, count, file_blocks[f], file_first_id[f] + first if with_block_ids else None))

            def permuted(index, window_data):  # one window: (window or fewer, sequence_length), ids alike
                rows = window_data[1] if with_block_ids else window_data
                key = tf.random.experimental.stateless_fold_in(
                    tf.random.experimental.stateless_fold_in(tf.stack([seed, epoch]), pipeline_id), index)
                order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(rows, out_type=tf.int64)[0]),
                                                                 seed=key)
                start = tf.where(index == first_window, skip - first_window * window, 0)
                return tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(
                    lambda column: tf.gather(column, order[start:]), window_data))

            return blocks.batch(window).enumerate(start=first_window).flat_map(permuted)

        stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_blocks)
        stream = stream.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
        return stream.with_options(_auto_shard(tf.data.experimental.AutoShardPolicy.OFF))  # already this pipeline's


def _auto_shard(policy):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return options


def all_blocks(directory, split="train"):
    """Every block of a split in shard order, as one numpy array (tests and small corpora only)."""
    data = PreparedDataset(directory)
    arrays = [np.fromfile(f, dtype=stored_dtype(data.manifest["dtype"])).reshape(-1, data.record_length)
              for f in data.files(split)]
    return np.concatenate(arrays).astype(np.int32) if arrays else np.zeros((0, data.record_length), np.int32)
