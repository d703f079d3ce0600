"""Labelled text -> model features, in the graph: the one encoding that fine-tuning, evaluation,
`tfssl predict` and the exported `serving_default` share (the layout is `tfssl.data.packing.pack_segments`).

    single text:  [CLS] text [SEP]                       segment_ids 0 ... 0
    text pair:    [CLS] first [SEP] second [SEP]         segment_ids 0 ... 0 1 ... 1

Pairs are trimmed round-robin (the longer text loses tokens first) to `sequence_length`.
Batches are padded to the longest row rounded up to a multiple of `pad_to_multiple` (16), not to
`sequence_length`: short texts (SST-2 phrases average 13 tokens) cost a fraction of a full row,
and an XLA-compiled step sees at most `sequence_length / 16` shapes.

Example:

>>> features = encode_texts(tf.constant(["a fine film", "dull"]), tokenizer, 64)
>>> features["token_ids"].shape  # (2, 16): [CLS] a fine film [SEP] + 11 pads
>>> train = classification_batches(texts, label_ids, tokenizer, 64, batch_size=32, seed=0)
"""

import numpy as np
import tensorflow as tf

from tfssl.data.packing import pack_segments, special_token_ids


def encode_texts(texts, tokenizer, sequence_length, text_pairs=None, pad_to_multiple=16):
    """(batch,) strings [and (batch,) second strings] -> {"token_ids", "padding_mask",
    "segment_ids"}, each (batch, padded_length) int32: the layout of
    `tfssl.data.packing.pack_segments` (see the module docstring)."""
    second = tokenizer(text_pairs) if text_pairs is not None else None  # (batch, None) ragged ids
    features = pack_segments(tokenizer(texts), second, sequence_length=sequence_length,
                             pad_to_multiple=pad_to_multiple, **special_token_ids(tokenizer))
    return {name: tf.cast(values, tf.int32) for name, values in features.items()}


def class_weights(label_ids, num_classes, mode="none"):
    """Per-class loss weights: `none` (all 1) or `balanced` (n / (num_classes * count), sklearn's
    rule, so rare classes count as much as common ones); a class absent from `label_ids` gets 1."""
    if mode == "none":
        return np.ones(num_classes, np.float32)
    if mode != "balanced":
        raise ValueError(f"class_weights must be 'none' or 'balanced', got {mode!r}.")
    counts = np.bincount(np.asarray(label_ids, np.int64), minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, len(label_ids) / (num_classes * np.maximum(counts, 1)), 1.0)
    return weights.astype(np.float32)


def classification_batches(
    texts,
    targets,
    tokenizer,
    sequence_length,
    batch_size,
    text_pairs=None,
    weights=None,
    shuffle=True,
    seed=0,
    drop_remainder=False,
    pad_to_multiple=16,
):
    """`(features, target, sample_weight)` batches; `targets` are class ids (int32) or scores
    (float32); `weights` per class (see `class_weights`) weight each example by its class.

    Shuffled with `seed`, reshuffled every epoch (same seed, same order of epochs).
    """
    targets = np.asarray(targets)
    targets = targets.astype(np.int32) if np.issubdtype(targets.dtype, np.integer) else targets.astype(np.float32)
    if weights is not None:
        sample_weights = np.asarray(weights, np.float32)[targets]
    else:
        sample_weights = np.ones(len(targets), np.float32)
    columns = (list(texts), list(text_pairs) if text_pairs is not None else None, targets, sample_weights)
    dataset = tf.data.Dataset.from_tensor_slices(tuple(c for c in columns if c is not None))
    if shuffle:
        dataset = dataset.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def encode(*batch):
        first, pair = batch[0], (batch[1] if text_pairs is not None else None)
        features = encode_texts(first, tokenizer, sequence_length, pair, pad_to_multiple)
        return features, batch[-2], batch[-1]

    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
