"""Held-out perplexity of a causal LM over a token stream, with a sliding window; and the
unigram baseline it should beat.

Windows of `context` tokens move by `stride`. The first window scores all of its predictions;
each later window scores only its last `stride` predictions, the ones no earlier window scored,
so every token of the stream is scored exactly once, and every scored token after the first
window sees at least `context - stride` tokens before it (`stride == context`: disjoint windows,
the cheapest and most pessimistic; smaller strides approach the model's full-context perplexity).

Example:

>>> sliding_window_perplexity(pretrainer, held_out_stream, context=128, stride=64)
{"perplexity": 41.3, "loss": 3.72, "tokens": 151234, "context": 128, "stride": 64, ...}
"""

import math

import numpy as np
import tensorflow as tf

from tfssl.losses.token_cross_entropy import token_cross_entropy


def window_plan(num_tokens, context, stride):
    """[(start, first_scored)]: window i holds inputs stream[start : start + context] and scores
    the predictions from offset `first_scored` on."""
    if not 1 <= stride <= context:
        raise ValueError(f"stride must be in [1, context={context}], got {stride}.")
    labels = num_tokens - 1  # predictions available in the stream
    if labels < 1:
        raise ValueError(f"Need at least 2 tokens to score, got {num_tokens}.")
    plan, scored_until, end = [], 0, min(context, labels)
    while True:
        start = max(end - context, 0)
        plan.append((start, scored_until - start))
        scored_until = end
        if end == labels:
            return plan
        end = min(end + stride, labels)


def sliding_window_perplexity(pretrainer, stream, context, stride=None, batch_size=32):
    """Perplexity of `pretrainer` on the int token `stream`; returns figures with the settings."""
    stream = np.asarray(stream, dtype=np.int32)
    stride = context // 2 if stride is None else stride
    if context > pretrainer.backbone.max_sequence_length:
        raise ValueError(f"context={context} is beyond the model's max_sequence_length ({pretrainer.backbone.max_sequence_length}).")
    plan = window_plan(len(stream), context, stride)
    length = min(context, len(stream) - 1)

    @tf.function(jit_compile=False, reduce_retracing=True)
    def summed_log_likelihood(inputs, labels, weights):
        logits = pretrainer({"token_ids": inputs}, training=False)  # (windows, length, vocabulary)
        nll = token_cross_entropy(labels, logits)  # (windows, length), float32 under any precision
        return tf.reduce_sum(nll * weights)

    total_nll, total_tokens = 0.0, 0
    for i in range(0, len(plan), batch_size):
        chunk = plan[i : i + batch_size]
        windows = np.stack([stream[s : s + length + 1] for s, _ in chunk])  # (windows, length + 1)
        weights = np.stack([(np.arange(length) >= first).astype(np.float32) for _, first in chunk])
        total_nll += float(summed_log_likelihood(windows[:, :-1], windows[:, 1:], weights))
        total_tokens += int(weights.sum())
    loss = total_nll / total_tokens
    return {"perplexity": math.exp(loss), "loss": loss, "tokens": total_tokens, "context": length, "stride": stride,
            "windows": len(plan)}


def unigram_perplexity(train_stream, held_out_stream, vocabulary_size):
    """Perplexity of the add-one-smoothed unigram model of `train_stream` on the predictions of
    `held_out_stream` (its tokens after the first, the ones the sliding window scores)."""
    counts = np.bincount(np.asarray(train_stream), minlength=vocabulary_size).astype(np.float64) + 1.0
    log_probs = np.log(counts / counts.sum())
    loss = -float(np.mean(log_probs[np.asarray(held_out_stream)[1:]]))
    return {"perplexity": math.exp(loss), "loss": loss}
