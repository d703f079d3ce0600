"""Sentences for contrastive learning: splitting prose into sentences, and padded batches.

`split_sentences` is a rule-based splitter for English prose (end punctuation followed by
whitespace and an upper-case letter or quote), good enough to turn documents into training
sentences; `encode_sentences` is the in-graph `[CLS] tokens [SEP]` + padding step (the layout
of `tfssl.data.packing.pack_segments`) shared by training batches and serving signatures.

Before/after:

    "The Union is strong. We owe much! Is it so?"  ->  ["The Union is strong.", "We owe much!", "Is it so?"]
"""

import re

import tensorflow as tf

from tfssl.data.packing import pack_segments, special_token_ids

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"“‘(]?[A-Z])")
# A split after these is undone: titles, "U.S.", initials ("J."), "No." etc.
_ABBREVIATION = re.compile(r"(\b(Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Col|Lt|Capt|Hon|No|Vol|Co|Inc|vs)|\b[A-Z]|\bU\.S)\.$")


def split_sentences(text, min_words=3, max_words=64):
    """Sentences of `text` with `min_words`..`max_words` words (whitespace normalised)."""
    sentences = []
    for paragraph in text.split("\n"):
        pieces = []
        for piece in _SENTENCE_END.split(paragraph.strip()):
            if pieces and _ABBREVIATION.search(pieces[-1]):
                pieces[-1] = pieces[-1] + " " + piece
            else:
                pieces.append(piece)
        for sentence in pieces:
            sentence = " ".join(sentence.split())
            if min_words <= len(sentence.split()) <= max_words:
                sentences.append(sentence)
    return sentences


def encode_sentences(texts, tokenizer, sequence_length, pad_to_multiple=None):
    """(batch,) strings -> {"token_ids", "padding_mask"} (batch, length): `[CLS] ids [SEP]`, truncated and padded
    by the one layout, `tfssl.data.packing.pack_segments`. `pad_to_multiple` None: length = `sequence_length`
    (one static shape, for XLA training); k: the batch's longest row rounded up to a multiple of k (inference)."""
    features = pack_segments(tokenizer(texts), sequence_length=sequence_length, pad_to_multiple=pad_to_multiple,
                             **special_token_ids(tokenizer))
    return {"token_ids": features["token_ids"], "padding_mask": features["padding_mask"]}


def sentence_batches(sentences, tokenizer, sequence_length, batch_size, seed=0, shuffle=True):
    """Shuffled, tokenized, padded sentence batches (`x` dicts) for unsupervised SimCSE.

    Batches are full (`drop_remainder`): InfoNCE needs at least 2 sentences per batch. Empty and
    whitespace-only strings are dropped: two dropout views of `[CLS] [SEP]` teach nothing, and
    every empty string would be a false negative of every other.
    """
    sentences = [s for s in sentences if s.strip()]
    if batch_size < 2:
        raise ValueError(f"Contrastive batches need at least 2 sentences (in-batch negatives), got batch_size={batch_size}.")
    if len(sentences) < batch_size:
        raise ValueError(f"Only {len(sentences)} non-empty sentences for batch_size={batch_size}; add text.")
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(sentences))
    if shuffle:
        dataset = dataset.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.map(lambda t: encode_sentences(t, tokenizer, sequence_length), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
