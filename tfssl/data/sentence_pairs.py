"""Sentence pairs and triples for supervised contrastive learning, and their tf.data batches.

Sources:

* a table with a header (`.csv`, `.tsv`, `.jsonl`, `.parquet`) and chosen columns:
  anchor, positive and optionally a hard negative (e.g. NLI entailment / contradiction);
* an STS-B-format file, where pairs scored at least `min_score` become positives
  (`sts_positive_pairs`).

Tables are read by `tfssl.data.table_reader` (any of them may be `.gz`; `.tsv` is split on
tabs with no quote handling). A missing column, an empty sentence or a file that is not UTF-8 is
a `PairFileError` naming the file, the row and the fix: a silently dropped pair shifts every later
pair's partner.

Before/after (`pair_batches`, batch 2): rows `(a1, p1, n1), (a2, p2, n2)` ->
`{"anchor": {token_ids, padding_mask}, "positive": {...}, "negative": {...}}`, each (2, sequence_length).
"""

import dataclasses
import os
from typing import List, Optional

import tensorflow as tf

from tfssl.data.sentence_pipeline import encode_sentences
from tfssl.data.sts_pairs import load_sts_pairs
from tfssl.data.table_reader import TableError, iter_rows, row_location


class PairFileError(TableError):
    """A pair file is malformed; the message names the file, the row and the fix."""


@dataclasses.dataclass
class SentencePairs:
    anchors: List[str]
    positives: List[str]
    negatives: Optional[List[str]] = None

    def __len__(self):
        return len(self.anchors)


def load_sentence_pairs(path, anchor_column="anchor", positive_column="positive", negative_column=None):
    """Reads (anchor, positive[, negative]) rows from a table with a header (a `.csv`, `.tsv`,
    `.jsonl` or `.parquet` file, optionally `.gz`)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No pair file at {path}. Give a .csv/.tsv/.jsonl/.parquet file with a header.")
    options = {"anchor_column": anchor_column, "positive_column": positive_column, "negative_column": negative_column}
    required = {column: option for option, column in options.items() if column}
    columns = [c for c in options.values() if c]
    pairs = SentencePairs([], [], [] if negative_column else None)
    for number, record in iter_rows(path, required, error_type=PairFileError):
        values = [("" if record[c] is None else str(record[c])).strip() for c in columns]
        empty = [c for c, v in zip(columns, values) if not v]
        if empty:
            raise PairFileError(f"{row_location(path, number)}: empty {empty[0]!r}. Fix or drop the row.")
        pairs.anchors.append(values[0])
        pairs.positives.append(values[1])
        if negative_column:
            pairs.negatives.append(values[2])
    if not pairs.anchors:
        raise PairFileError(f"{path} holds no rows.")
    return pairs


def sts_positive_pairs(path, min_score=4.0):
    """Pairs of an STS-B-format file scored `>= min_score` (0-5 scale), as positives."""
    sts = load_sts_pairs(path)
    keep = [i for i, score in enumerate(sts.scores) if score >= min_score]
    if len(keep) < 2:
        raise PairFileError(f"{path}: only {len(keep)} pairs score >= {min_score}; lower min_score.")
    return SentencePairs([sts.first[i] for i in keep], [sts.second[i] for i in keep])


def pair_batches(pairs, tokenizer, sequence_length, batch_size, seed=0, shuffle=True):
    """Shuffled, tokenized batches of `{"anchor", "positive"[, "negative"]}` feature dicts.

    Batches are full (`drop_remainder`): InfoNCE needs at least 2 pairs per batch.
    """
    if batch_size < 2:
        raise ValueError(f"Contrastive batches need at least 2 pairs (in-batch negatives), got batch_size={batch_size}.")
    if len(pairs) < batch_size:
        raise ValueError(f"Only {len(pairs)} pairs for batch_size={batch_size}; lower batch_size or add pairs.")
    columns = {"anchor": pairs.anchors, "positive": pairs.positives}
    if pairs.negatives is not None:
        columns["negative"] = pairs.negatives
    dataset = tf.data.Dataset.from_tensor_slices({k: tf.constant(v) for k, v in columns.items()})
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    encode = lambda batch: {k: encode_sentences(v, tokenizer, sequence_length) for k, v in batch.items()}
    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
