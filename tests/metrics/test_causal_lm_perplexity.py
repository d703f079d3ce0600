"""Sliding-window perplexity: every token scored once, disjoint windows equal Keras' evaluation,
more context never hurts a model that learned; the unigram baseline by hand."""

import math

import numpy as np
import pytest

from tests.helpers import PATTERN_DOCUMENTS
from tfssl.data.causal_lm_pipeline import lm_batches, token_stream
from tfssl.metrics.causal_lm_perplexity import sliding_window_perplexity, unigram_perplexity, window_plan


@pytest.mark.parametrize("num_tokens,context,stride", [(11, 4, 2), (10, 4, 3), (3, 4, 2), (100, 16, 16), (57, 16, 5)])
def test_every_prediction_is_scored_exactly_once(num_tokens, context, stride):
    scored = []
    for start, first in window_plan(num_tokens, context, stride):
        length = min(context, num_tokens - 1)
        assert start + length <= num_tokens - 1
        scored += [start + i for i in range(first, length)]
        assert first == 0 or first >= context - stride  # each later prediction sees >= context - stride tokens
    assert scored == list(range(num_tokens - 1))


def test_disjoint_windows_equal_keras_evaluate_and_overlap_helps(pattern_lm):
    pretrainer, tokenizer, _ = pattern_lm
    stream = token_stream(PATTERN_DOCUMENTS[:40], tokenizer)[: 32 * 12 + 1]  # exactly 12 blocks
    keras_figures = pretrainer.evaluate(lm_batches(stream, 32, 4, training=False), return_dict=True, verbose=0)
    disjoint = sliding_window_perplexity(pretrainer, stream, context=32, stride=32)
    assert disjoint["tokens"] == 32 * 12 and disjoint["windows"] == 12
    assert math.isclose(disjoint["loss"], keras_figures["loss"], rel_tol=1e-4)
    overlapping = sliding_window_perplexity(pretrainer, stream, context=32, stride=8)
    assert overlapping["tokens"] == disjoint["tokens"] and overlapping["perplexity"] <= disjoint["perplexity"]
    with pytest.raises(ValueError, match="beyond the model's max_sequence_length"):
        sliding_window_perplexity(pretrainer, stream, context=64)


def test_unigram_perplexity_by_hand():
    figures = unigram_perplexity(train_stream=[0, 1, 1, 1], held_out_stream=[0, 1, 2], vocabulary_size=3)
    probabilities = np.array([2, 4, 1]) / 7  # add-one counts
    assert math.isclose(figures["loss"], -np.mean(np.log(probabilities[[1, 2]])))
