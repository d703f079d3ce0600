"""The causal LM learns: its loss falls far below a unigram model's, and greedy decoding
reproduces what it learned, stopping at end of text."""

import numpy as np
import tensorflow as tf

from tests.helpers import PATTERN_DOCUMENTS
from tfssl.data.causal_lm_pipeline import lm_batches, token_stream
from tfssl.metrics.causal_lm_perplexity import unigram_perplexity
from tfssl.models.text_generator import TextGenerator


def test_loss_falls_far_below_the_unigram_baseline(pattern_lm):
    pretrainer, tokenizer, history = pattern_lm
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.6, losses
    stream = token_stream(PATTERN_DOCUMENTS[:40], tokenizer)
    held_out = pretrainer.evaluate(lm_batches(stream, 32, 8, training=False), return_dict=True, verbose=0)
    unigram = unigram_perplexity(stream, stream, tokenizer.vocabulary_size)["perplexity"]
    # Four equally likely sentences: log(4) = 1.39 nats of choice per 13 tokens (12 characters and
    # end of text), so the best possible perplexity is ~1.11; the unigram model's is ~10.
    assert held_out["perplexity"] < 2.0 < unigram / 4, (held_out, unigram)
    assert np.isclose(np.log(held_out["perplexity"]), held_out["loss"], atol=1e-3)


def test_greedy_generation_completes_a_learned_sentence_and_stops(pattern_lm):
    pretrainer, tokenizer, _ = pattern_lm
    generator = TextGenerator(pretrainer, tokenizer)
    out = generator.generate(tf.constant(["the cat s", "a dog r"]), 20, 0.0, 0, 1.0, 0)
    assert [c.decode() for c in out["completions"].numpy()] == ["at.", "an."]
    assert out["stopped_at_end_of_text"].numpy().tolist() == [True, True]
    assert out["num_tokens"].numpy().tolist() == [3, 3]
