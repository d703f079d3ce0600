"""Shared fixtures: a small real corpus (the first State of the Union speeches) and its vocabulary."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tfssl.data.corpus import load_corpus  # noqa: E402
from tfssl.tokenizers.wordpiece_tokenizer import WordPieceTokenizer  # noqa: E402
from tfssl.tokenizers.wordpiece_trainer import train_wordpiece  # noqa: E402

# outside_reads fails tests that read beside the repository (a clone has nothing there); scheduling orders the
# work of the two xdist workers.
pytest_plugins = ["tests.outside_reads", "tests.scheduling"]


@pytest.fixture(scope="session")
def sotu_documents():
    return load_corpus("sotu")


@pytest.fixture(scope="session")
def small_texts(sotu_documents):
    """40 speeches (~1.2 MB): enough to learn something in a few hundred steps."""
    return [d.text for d in sotu_documents[:40]]


@pytest.fixture(scope="session")
def vocab_dir(tmp_path_factory, small_texts):
    return train_wordpiece(small_texts, str(tmp_path_factory.mktemp("vocab")), vocabulary_size=2000, show_progress=False)


@pytest.fixture(scope="session")
def tokenizer(vocab_dir):
    return WordPieceTokenizer.from_directory(vocab_dir)


@pytest.fixture(scope="session")
def pattern_lm():
    """(pretrainer, tokenizer, history): a tiny character LM that learned four sentences."""
    from tests.helpers import train_pattern_lm

    return train_pattern_lm()
