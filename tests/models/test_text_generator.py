"""Generation from strings: cached equals uncached, seeding, prompts of any length, bad settings."""

import pytest
import tensorflow as tf

from tfssl.models.text_generator import TextGenerator

PROMPTS = tf.constant(["the", "", "a dog sat. the cat ran. a cat s"])


def generate(generator, prompts=PROMPTS, max_new=12, temperature=0.0, top_k=0, top_p=1.0, seed=0, cached=True):
    function = generator.generate if cached else generator.generate_uncached
    return {k: v.numpy() for k, v in function(prompts, max_new, temperature, top_k, top_p, seed).items()}


def test_cached_and_uncached_generation_are_identical(pattern_lm):
    generator = TextGenerator(pattern_lm[0], pattern_lm[1])
    for settings in ({}, {"temperature": 1.0, "top_k": 5, "top_p": 0.9, "seed": 11}):
        cached, uncached = generate(generator, **settings), generate(generator, cached=False, **settings)
        assert cached["token_ids"].tolist() == uncached["token_ids"].tolist(), settings
        assert cached["completions"].tolist() == uncached["completions"].tolist()


def test_sampling_is_seeded(pattern_lm):
    generator = TextGenerator(pattern_lm[0], pattern_lm[1])
    prompts = tf.constant([""] * 8)
    a = generate(generator, prompts, temperature=1.5, seed=1)["completions"].tolist()
    assert a == generate(generator, prompts, temperature=1.5, seed=1)["completions"].tolist()
    assert len(set(a)) > 1  # rows draw independently
    assert a != generate(generator, prompts, temperature=1.5, seed=2)["completions"].tolist()


def test_empty_and_over_long_prompts(pattern_lm):
    pretrainer, tokenizer, _ = pattern_lm
    generator = TextGenerator(pretrainer, tokenizer)
    out = generate(generator, tf.constant(["", "x" * 100]), max_new=10)
    # The empty prompt is just the start-of-text token: a sentence from the start.
    assert out["prompt_tokens"].tolist()[0] == 1 and out["completions"][0].decode() in {
        "the cat sat.", "the dog ran.", "a cat ran.", "a dog sat."}
    # A 100-character prompt keeps its last 32 - 10 = 22 tokens, so prompt + completion fit the context.
    assert out["prompt_tokens"].tolist()[1] == 22 and out["num_tokens"][1] <= 10


@pytest.mark.parametrize("settings,message", [
    ({"temperature": -1.0}, "temperature must be >= 0"),
    ({"top_p": 0.0}, "top_p must be in \\(0, 1\\]"),
    ({"top_p": 1.5}, "top_p must be in \\(0, 1\\]"),
    ({"top_k": -3}, "top_k must be >= 0"),
    ({"max_new": 32}, "max_new_tokens must be <= 31"),
    ({"max_new": 0}, "max_new_tokens must be >= 1"),
])
def test_bad_settings_fail_in_the_graph_with_a_message(pattern_lm, settings, message):
    generator = TextGenerator(pattern_lm[0], pattern_lm[1])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        generate(generator, **settings)


def test_score_gives_learned_sentences_low_perplexity(pattern_lm):
    generator = TextGenerator(pattern_lm[0], pattern_lm[1])
    out = {k: v.numpy() for k, v in generator.score(tf.constant(["the cat sat.", "tac eht .tas", ""])).items()}
    assert out["num_tokens"].tolist() == [12, 12, 0]
    assert out["perplexity"][0] < 2.0 < 10.0 < out["perplexity"][1]
    assert out["log_likelihood"][2] == 0.0 and str(out["perplexity"][2]) == "nan"
