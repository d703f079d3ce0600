"""Byte-level BPE (GPT-2 / RoBERTa) in the graph gives the `tokenizers` library's ids on real
and adversarial text, and detokenizes back to the exact input."""

import os

import pytest
import tensorflow as tf

tokenizers = pytest.importorskip("tokenizers")

from tfssl.tokenizers.byte_level_bpe_tokenizer import ByteLevelBPETokenizer  # noqa: E402

EDGE_CASES = [
    "Hello world", "  two leading spaces", "trailing spaces   ", "a  b   c    d", "tabs\tand\nnew\n\nlines  \n x",
    "It's we're they've I'm you'll he'd", "  's after spaces", "numbers 1790 and 3.14159, 1,000,000", "",
    "Ünïcödé àccents, naïve café", "中文字符和日本語のテキスト", "emoji 🙂🚀 and symbols ©®™ — “quotes”",
    "non\u00a0breaking\u2009thin\u3000ideographic spaces", "$$$ ### @@@ !!!", "x" * 300, "\n\n\n", " ",
    "MiXeD CaSe WoRdS",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_texts):
    directory = tmp_path_factory.mktemp("bpe")
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(small_texts[:30], vocab_size=3000, min_frequency=2, special_tokens=["<|endoftext|>"],
                            show_progress=False)
    bpe.save(os.path.join(directory, "tokenizer.json"))
    return tokenizers.Tokenizer.from_file(os.path.join(directory, "tokenizer.json")), str(directory)


def test_ids_equal_the_tokenizers_library(trained, small_texts):
    reference, directory = trained
    ours = ByteLevelBPETokenizer.from_directory(directory)
    held_out = [line for text in small_texts[30:40] for line in text.split("\n") if line.strip()][:400]
    texts = EDGE_CASES + held_out
    got = ours(tf.constant(texts)).to_list()
    for text, ids in zip(texts, got):
        assert ids == reference.encode(text).ids, text


def test_detokenize_returns_the_text_and_special_tokens_are_control(trained):
    _, directory = trained
    ours = ByteLevelBPETokenizer.from_directory(directory)
    texts = EDGE_CASES
    back = ours.detokenize(ours(tf.constant(texts))).numpy()
    assert [b.decode("utf-8") for b in back] == texts
    eot = ours.end_of_text_id
    # Unlike `tokenizers`, text cannot inject a control token: "<|endoftext|>" typed by a user is text.
    assert eot >= 0 and eot not in ours(tf.constant(["end.<|endoftext|>start"])).to_list()[0]
    assert ours.detokenize(tf.ragged.constant([[eot] + ours(tf.constant("hi")).numpy().tolist()])).numpy()[0] == b"hi"


def test_scalar_input_and_graph_mode(trained):
    _, directory = trained
    ours = ByteLevelBPETokenizer.from_directory(directory)
    assert ours(tf.constant("Hello world")).shape.rank == 1
    traced = tf.function(lambda t: ours(t).to_tensor(), input_signature=[tf.TensorSpec([None], tf.string)])
    assert traced(tf.constant(["a b", "Hello world"])).shape[0] == 2
